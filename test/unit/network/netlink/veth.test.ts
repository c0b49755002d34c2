import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import { decodeAttrs, readString, readU32, readU8 } from '../../../../src/network/netlink/codec.js';
import { IFF_UP, NLM_F_CREATE, NLM_F_EXCL, RTM_GETLINK, RTM_NEWLINK } from '../../../../src/network/netlink/constants.js';
import { decodeIfInfo } from '../../../../src/network/netlink/structs.js';
import { createVethIntoNetns } from '../../../../src/network/netlink/veth.js';
import { FakeKernel, linkPayload } from './fake-kernel.js';

const spec = { hostName: 'vethab12cd', peerName: 'eth0', netnsFd: 42, mtu: 1450, master: 7 };

describe('createVethIntoNetns', function () {
  it('creates the pair in one request with the peer in the netns, then sets hairpin and learns both indexes', function () {
    const k = new FakeKernel((m) =>
      m.type === RTM_GETLINK ? { replies: [[RTM_NEWLINK, linkPayload({ index: 12, name: 'vethab12cd', kind: 'veth', link: 2 })]] } : {},
    );
    expect(createVethIntoNetns(k.socket(), spec)).to.deep.equal({ hostIndex: 12, peerIndex: 2 });
    expect(k.sent).to.have.length(2);
    const [create, hairpin, lookup] = k.requests;
    expect([create!.type, hairpin!.type, lookup!.type]).to.deep.equal([RTM_NEWLINK, RTM_NEWLINK, RTM_GETLINK]);

    expect(create!.flags & (NLM_F_CREATE | NLM_F_EXCL)).to.equal(NLM_F_CREATE | NLM_F_EXCL);
    expect(decodeIfInfo(create!.payload)).to.include({ flags: IFF_UP, change: IFF_UP });
    const a = decodeAttrs(create!.payload, 16);
    expect(readString(a.get(3))).to.equal('vethab12cd');
    expect(readU32(a.get(4))).to.equal(1450);
    expect(readU32(a.get(10))).to.equal(7); // IFLA_MASTER
    const info = decodeAttrs(a.get(18)!);
    expect(readString(info.get(1))).to.equal('veth');
    const peer = decodeAttrs(info.get(2)!).get(1)!; // IFLA_INFO_DATA → VETH_INFO_PEER
    expect(decodeIfInfo(peer)).to.include({ index: 0, flags: 0 });
    const pa = decodeAttrs(peer, 16);
    expect(readString(pa.get(3))).to.equal('eth0');
    expect(readU32(pa.get(4))).to.equal(1450);
    expect(readU32(pa.get(28))).to.equal(42); // IFLA_NET_NS_FD

    expect(hairpin!.flags & NLM_F_CREATE).to.equal(0);
    const h = decodeAttrs(hairpin!.payload, 16);
    expect(readString(h.get(3))).to.equal('vethab12cd');
    const hl = decodeAttrs(h.get(18)!);
    expect(readString(hl.get(4))).to.equal('bridge'); // IFLA_INFO_SLAVE_KIND
    expect(readU8(decodeAttrs(hl.get(5)!).get(4))).to.equal(1); // IFLA_BRPORT_MODE
  });

  it('skips hairpin when asked', function () {
    const k = new FakeKernel((m) =>
      m.type === RTM_GETLINK ? { replies: [[RTM_NEWLINK, linkPayload({ index: 12, name: 'vethab12cd', kind: 'veth', link: 2 })]] } : {},
    );
    createVethIntoNetns(k.socket(), { ...spec, hairpin: false });
    expect(k.requests.map((r) => r.type)).to.deep.equal([RTM_NEWLINK, RTM_GETLINK]);
  });

  it('stops after a failed create: a taken name is AlreadyExists and nothing else is sent', function () {
    const k = new FakeKernel(() => ({ errno: 17 }));
    expect(() => createVethIntoNetns(k.socket(), spec))
      .to.throw('creating veth vethab12cd with peer eth0 in the pod netns: EEXIST')
      .that.satisfies((e: unknown) => isKind(e, 'AlreadyExists'));
    expect(k.requests).to.have.length(1);
  });

  it('checks both names before sending anything', function () {
    const k = new FakeKernel(() => ({}));
    expect(() => createVethIntoNetns(k.socket(), { ...spec, peerName: 'eth/0' })).to.throw(/not a valid interface name/);
    expect(() => createVethIntoNetns(k.socket(), { ...spec, hostName: 'veth0123456789ab' })).to.throw(/not a valid interface name/);
    expect(k.sent).to.have.length(0);
  });
});
