import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import {
  align4, attr, attrsSize, decodeAttrs, decodeMessages, encodeMessage, encodePayload, readS32, readString, readU32, readU8,
} from '../../../../src/network/netlink/codec.js';
import { NLA_F_NESTED, RTM_SETLINK } from '../../../../src/network/netlink/constants.js';
import { setLinkRequest } from '../../../../src/network/netlink/links.js';
import { decodeIfInfo, encodeIfInfo } from '../../../../src/network/netlink/structs.js';

const hex = (b: Buffer) => b.toString('hex').replace(/(..)/g, '$1 ').trim();

describe('netlink codec', function () {
  it('aligns to 4 bytes', function () {
    expect([0, 1, 3, 4, 5, 8, 9].map(align4)).to.deep.equal([0, 4, 4, 4, 8, 8, 12]);
  });

  it('encodes `ip link set lo up` byte for byte as iproute2 does', function () {
    const r = setLinkRequest({ name: 'lo' }, { up: true }, 'x');
    const m = encodeMessage(r.type, 0x5, 1, encodePayload(r.header, r.attrs));
    expect(hex(m)).to.equal(
      '28 00 00 00 13 00 05 00 01 00 00 00 00 00 00 00 ' + // nlmsghdr: len 40, RTM_SETLINK, REQUEST|ACK, seq 1
        '00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 ' + // ifinfomsg: index 0, flags UP, change UP
        '07 00 03 00 6c 6f 00 00', // IFLA_IFNAME "lo\0" + 1 byte padding
    );
    expect(r.type).to.equal(RTM_SETLINK);
  });

  it('pads strings after their NUL and counts only content in nla_len', function () {
    const p = encodePayload(new Uint8Array(0), [attr.str(3, 'eth0'), attr.u8(16, 6), attr.u32(4, 1500)]);
    expect(hex(p)).to.equal('09 00 03 00 65 74 68 30 00 00 00 00 05 00 10 00 06 00 00 00 08 00 04 00 dc 05 00 00');
    const a = decodeAttrs(p);
    expect(readString(a.get(3))).to.equal('eth0');
    expect(readU8(a.get(16))).to.equal(6);
    expect(readU32(a.get(4))).to.equal(1500);
  });

  it('nests with a fixed header (VETH_INFO_PEER) and gets every length right', function () {
    const peer = attr.nest(1, [attr.str(3, 'eth0'), attr.u32(28, 7)], encodeIfInfo({ family: 0 }));
    const tree = [attr.nest(18, [attr.str(1, 'veth'), attr.nest(2, [peer])])];
    const p = encodePayload(encodeIfInfo({ index: 0 }), tree);
    // linkinfo: 4 + kind(4+5→12) + data(4 + peer(4 + 16 + 12 + 8 = 40)) = 60
    expect(p.length).to.equal(16 + 60);
    expect(attrsSize(tree)).to.equal(60);
    const top = decodeAttrs(p, 16);
    const info = decodeAttrs(top.get(18)!);
    expect(top.get(18)!.length).to.equal(56);
    expect(readString(info.get(1))).to.equal('veth');
    const data = decodeAttrs(info.get(2)!);
    const peerBytes = data.get(1)!;
    expect(peerBytes.length).to.equal(36);
    expect(decodeIfInfo(peerBytes)).to.deep.include({ family: 0, index: 0 });
    const pa = decodeAttrs(peerBytes, 16);
    expect(readString(pa.get(3))).to.equal('eth0');
    expect(readU32(pa.get(28))).to.equal(7);
  });

  it('reads attribute types without the NESTED / BYTEORDER flags, keeps the last duplicate, stops at a torn one', function () {
    const b = Buffer.alloc(8 + 8 + 8 + 4);
    b.writeUInt16LE(8, 0);
    b.writeUInt16LE(5 | NLA_F_NESTED, 2);
    b.writeUInt32LE(1, 4);
    b.writeUInt16LE(8, 8);
    b.writeUInt16LE(5, 10);
    b.writeUInt32LE(2, 12);
    b.writeUInt16LE(8, 16);
    b.writeInt16LE(6, 18);
    b.writeInt32LE(-3, 20);
    b.writeUInt16LE(40, 24); // claims more bytes than there are
    b.writeUInt16LE(7, 26);
    const a = decodeAttrs(b);
    expect([...a.keys()]).to.deep.equal([5, 6]);
    expect(readU32(a.get(5))).to.equal(2);
    expect(readS32(a.get(6))).to.equal(-3);
    expect(readU32(undefined)).to.equal(undefined);
    expect(readString(Buffer.from('abc'))).to.equal('abc');
  });

  it('splits a datagram into messages, honouring padding between them', function () {
    const one = encodeMessage(16, 2, 7, Buffer.from([1, 2, 3, 4, 5]));
    const two = encodeMessage(3, 2, 7, Buffer.alloc(4));
    expect(one.length).to.equal(24);
    expect(one.readUInt32LE(0)).to.equal(21);
    const ms = decodeMessages(Buffer.concat([one, two]));
    expect(ms.map((m) => [m.type, m.flags, m.seq, m.payload.length])).to.deep.equal([
      [16, 2, 7, 5],
      [3, 2, 7, 4],
    ]);
    expect([...ms[0]!.payload]).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('refuses a message whose length runs past the datagram or is shorter than its header', function () {
    const m = encodeMessage(16, 0, 1, Buffer.alloc(8));
    m.writeUInt32LE(100, 0);
    expect(() => decodeMessages(m)).to.throw(/malformed/).that.satisfies((e: unknown) => isKind(e, 'Internal'));
    m.writeUInt32LE(8, 0);
    expect(() => decodeMessages(m)).to.throw(/malformed/);
  });

  it('refuses an attribute over 64 KiB', function () {
    expect(() => encodePayload(new Uint8Array(0), [attr.bytes(1, Buffer.alloc(70000))])).to.throw(/64 KiB/);
  });
});
