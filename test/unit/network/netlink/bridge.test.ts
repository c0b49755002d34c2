import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import { ensureBridge } from '../../../../src/network/netlink/bridge.js';
import { decodeAttrs, readString, readU32 } from '../../../../src/network/netlink/codec.js';
import { IFF_UP, NLM_F_CREATE, NLM_F_EXCL, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_SETLINK } from '../../../../src/network/netlink/constants.js';
import { bytesToIp } from '../../../../src/network/netlink/ip-codec.js';
import { decodeIfAddr, decodeIfInfo } from '../../../../src/network/netlink/structs.js';
import { FakeKernel, linkPayload } from './fake-kernel.js';

const spec = { name: 'skiff0', mtu: 1450, addressCidr: '10.88.0.1/16' };

function kernel(initial: { kind: string; up: boolean; mtu: number } | undefined, addressExists = false) {
  let link = initial;
  return new FakeKernel((m) => {
    if (m.type === RTM_GETLINK) {
      return link ? { replies: [[RTM_NEWLINK, linkPayload({ index: 7, name: 'skiff0', flags: link.up ? IFF_UP : 0, mtu: link.mtu, kind: link.kind })]] } : { errno: 19 };
    }
    if (m.type === RTM_NEWLINK) {
      if (link) return { errno: 17 };
      link = { kind: 'bridge', up: true, mtu: 1450 };
      return {};
    }
    if (m.type === RTM_NEWADDR) return addressExists ? { errno: 17 } : {};
    return {};
  });
}

describe('ensureBridge', function () {
  it('creates a missing bridge up, with MTU and a fixed MAC, looks it up in the same batch, then adds the address', function () {
    const k = kernel(undefined);
    const br = ensureBridge(k.socket(), spec);
    expect(br).to.include({ index: 7, name: 'skiff0', kind: 'bridge', up: true, mtu: 1450 });
    expect(k.sent).to.have.length(3); // lookup; create + lookup; address
    expect(k.requests.map((r) => r.type)).to.deep.equal([RTM_GETLINK, RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR]);
    const create = k.requests[1]!;
    expect(create.flags & (NLM_F_CREATE | NLM_F_EXCL)).to.equal(NLM_F_CREATE | NLM_F_EXCL);
    expect(decodeIfInfo(create.payload)).to.include({ flags: IFF_UP, change: IFF_UP });
    const a = decodeAttrs(create.payload, 16);
    expect(readString(a.get(3))).to.equal('skiff0');
    expect(readU32(a.get(4))).to.equal(1450);
    expect(a.get(1)!.length).to.equal(6);
    expect(a.get(1)![0]! & 3).to.equal(2);
    expect(readString(decodeAttrs(a.get(18)!).get(1))).to.equal('bridge');
    const addr = k.requests[3]!;
    expect(decodeIfAddr(addr.payload)).to.include({ family: 2, prefixLen: 16, index: 7 });
    const aa = decodeAttrs(addr.payload, 8);
    expect(bytesToIp(aa.get(2)!)).to.equal('10.88.0.1');
    expect(bytesToIp(aa.get(4)!)).to.equal('10.88.255.255');
  });

  it('costs two round trips when the bridge is already right, and an existing address is fine', function () {
    const k = kernel({ kind: 'bridge', up: true, mtu: 1450 }, true);
    expect(ensureBridge(k.socket(), spec).index).to.equal(7);
    expect(k.sent).to.have.length(2);
    expect(k.requests.map((r) => r.type)).to.deep.equal([RTM_GETLINK, RTM_NEWADDR]);
  });

  it('brings a down bridge up and fixes its MTU in the address batch', function () {
    const k = kernel({ kind: 'bridge', up: false, mtu: 1500 });
    ensureBridge(k.socket(), spec);
    expect(k.sent).to.have.length(2);
    const set = k.requests.find((r) => r.type === RTM_SETLINK)!;
    expect(decodeIfInfo(set.payload)).to.include({ index: 7, flags: IFF_UP, change: IFF_UP });
    expect(readU32(decodeAttrs(set.payload, 16).get(4))).to.equal(1450);
  });

  it('leaves a link of that name that is not a bridge alone', function () {
    const k = kernel({ kind: 'veth', up: false, mtu: 1500 });
    expect(() => ensureBridge(k.socket(), spec)).to.throw(/not a bridge/).that.satisfies((e: unknown) => isKind(e, 'FailedPrecondition'));
    expect(k.requests.map((r) => r.type)).to.deep.equal([RTM_GETLINK]);
  });

  it('checks name and CIDR before sending anything', function () {
    const k = kernel(undefined);
    expect(() => ensureBridge(k.socket(), { ...spec, name: 'sixteen-chars-xx' })).to.throw().that.satisfies((e: unknown) => isKind(e, 'InvalidArgument'));
    expect(() => ensureBridge(k.socket(), { ...spec, addressCidr: '10.88.0.1' })).to.throw().that.satisfies((e: unknown) => isKind(e, 'InvalidArgument'));
    expect(k.sent).to.have.length(0);
  });
});
