import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import { attr, decodeAttrs, encodePayload, readString, readU32 } from '../../../../src/network/netlink/codec.js';
import { NLM_F_DUMP, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK } from '../../../../src/network/netlink/constants.js';
import { checkLinkName, deleteLink, linkByName, listLinks, parseLink } from '../../../../src/network/netlink/links.js';
import { encodeIfInfo } from '../../../../src/network/netlink/structs.js';
import { FakeKernel, linkPayload } from './fake-kernel.js';

describe('netlink links', function () {
  it('parses what the kernel says about a link', function () {
    const p = encodePayload(encodeIfInfo({ index: 9, flags: 0x1003 }), [
      attr.str(3, 'veth1'),
      attr.u32(4, 1450),
      attr.bytes(1, Buffer.from([2, 0, 0, 0, 0, 1])),
      attr.u32(10, 7),
      attr.u32(5, 2),
      attr.s32(37, 0),
      attr.nest(18, [attr.str(1, 'veth')]),
    ]);
    expect(parseLink({ type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0, payload: p })).to.deep.equal({
      index: 9,
      name: 'veth1',
      flags: 0x1003,
      up: true,
      mtu: 1450,
      mac: '02:00:00:00:00:01',
      kind: 'veth',
      master: 7,
      peerIndex: 2,
      linkNetnsId: 0,
    });
  });

  it('looks a link up by name, and a missing one is undefined', function () {
    const k = new FakeKernel((m) => {
      const name = readString(decodeAttrs(m.payload, 16).get(3));
      return name === 'br0' ? { replies: [[RTM_NEWLINK, linkPayload({ index: 4, name: 'br0', kind: 'bridge' })]] } : { errno: 19 };
    });
    const s = k.socket();
    expect(linkByName(s, 'br0')).to.include({ index: 4, kind: 'bridge' });
    expect(linkByName(s, 'nope')).to.equal(undefined);
    expect(readU32(decodeAttrs(k.requests[0]!.payload, 16).get(29))).to.equal(8); // skip stats
  });

  it('deletes idempotently', function () {
    let exists = true;
    const k = new FakeKernel((m) => {
      expect(m.type).to.equal(RTM_DELLINK);
      if (!exists) return { errno: 19 };
      exists = false;
      return {};
    });
    expect(deleteLink(k.socket(), 'veth1')).to.equal(true);
    expect(deleteLink(k.socket(), 'veth1')).to.equal(false);
  });

  it('lists links with filters for the kernel', function () {
    const k = new FakeKernel(() => ({
      replies: [
        [RTM_NEWLINK, linkPayload({ index: 1, name: 'lo' })],
        [RTM_NEWLINK, linkPayload({ index: 2, name: 'eth0' })],
      ],
    }));
    expect(listLinks(k.socket(), { master: 7, kind: 'veth' }).map((l) => l.name)).to.deep.equal(['lo', 'eth0']);
    const req = k.requests[0]!;
    expect([req.type, req.flags & NLM_F_DUMP]).to.deep.equal([RTM_GETLINK, NLM_F_DUMP]);
    const a = decodeAttrs(req.payload, 16);
    expect(readU32(a.get(10))).to.equal(7);
    expect(readString(decodeAttrs(a.get(18)!).get(1))).to.equal('veth');
  });

  it('refuses names the kernel would refuse', function () {
    for (const bad of ['', '.', '..', 'a/b', 'a b', 'a:b', 'x'.repeat(16)]) {
      expect(() => checkLinkName(bad), bad).to.throw().that.satisfies((e: unknown) => isKind(e, 'InvalidArgument'));
    }
    for (const good of ['eth0', 'x'.repeat(15), 'veth-1_a.b']) expect(() => checkLinkName(good)).to.not.throw();
  });
});
