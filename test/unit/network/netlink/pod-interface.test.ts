import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import { decodeAttrs, readString, readU32 } from '../../../../src/network/netlink/codec.js';
import {
  IFF_UP, NLM_F_CREATE, NLM_F_REPLACE, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTM_SETLINK,
} from '../../../../src/network/netlink/constants.js';
import { bytesToIp } from '../../../../src/network/netlink/ip-codec.js';
import { configurePodInterface } from '../../../../src/network/netlink/pod-interface.js';
import { decodeIfAddr, decodeIfInfo, decodeRtMsg } from '../../../../src/network/netlink/structs.js';
import { FakeKernel, linkPayload } from './fake-kernel.js';

const eth0 = linkPayload({ index: 2, name: 'eth0', kind: 'veth', mac: [0x0a, 0x58, 0x0a, 0x58, 0, 7] });
const spec = { ifName: 'eth0', addressCidr: '10.88.0.7/16', gateway: '10.88.0.1', mtu: 1450 };

function kernel(hasEth0 = true) {
  return new FakeKernel((m) => (m.type === RTM_GETLINK ? (hasEth0 ? { replies: [[RTM_NEWLINK, eth0]] } : { errno: 19 }) : {}));
}

describe('configurePodInterface', function () {
  it('does lo, eth0, address and route in one batch when the index is known, and returns the MAC', function () {
    const k = kernel();
    expect(configurePodInterface(k.socket(), { ...spec, ifIndex: 2 })).to.deep.equal({ index: 2, mac: '0a:58:0a:58:00:07' });
    expect(k.sent).to.have.length(1);
    const [lo, up, addr, route, lookup] = k.requests;
    expect([lo!.type, up!.type, addr!.type, route!.type, lookup!.type]).to.deep.equal([RTM_SETLINK, RTM_SETLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_GETLINK]);
    expect(readString(decodeAttrs(lo!.payload, 16).get(3))).to.equal('lo');
    expect(decodeIfInfo(lo!.payload)).to.include({ flags: IFF_UP, change: IFF_UP });
    expect(decodeIfInfo(up!.payload)).to.include({ index: 2, flags: IFF_UP, change: IFF_UP });
    expect(readU32(decodeAttrs(up!.payload, 16).get(4))).to.equal(1450);
    expect(decodeIfAddr(addr!.payload)).to.include({ family: 2, prefixLen: 16, index: 2 });
    expect(bytesToIp(decodeAttrs(addr!.payload, 8).get(2)!)).to.equal('10.88.0.7');
    expect(route!.flags & (NLM_F_CREATE | NLM_F_REPLACE)).to.equal(NLM_F_CREATE | NLM_F_REPLACE);
    expect(decodeRtMsg(route!.payload)).to.include({ family: 2, dstLen: 0, table: 254, type: 1, scope: 0 });
    const ra = decodeAttrs(route!.payload, 12);
    expect(bytesToIp(ra.get(5)!)).to.equal('10.88.0.1');
    expect(readU32(ra.get(4))).to.equal(2);
  });

  it('looks the interface up first when the index is not given', function () {
    const k = kernel();
    expect(configurePodInterface(k.socket(), spec).index).to.equal(2);
    expect(k.sent).to.have.length(2);
  });

  it('says NotFound when the interface is missing', function () {
    const k = kernel(false);
    expect(() => configurePodInterface(k.socket(), spec)).to.throw(/eth0 is not in the pod/).that.satisfies((e: unknown) => isKind(e, 'NotFound'));
  });

  it('says Internal when the given index is not the named interface', function () {
    const k = kernel();
    expect(() => configurePodInterface(k.socket(), { ...spec, ifIndex: 5 })).to.throw(/not link #5/);
  });

  it('refuses a gateway of the other family', function () {
    const k = kernel();
    expect(() => configurePodInterface(k.socket(), { ...spec, gateway: 'fd00::1' })).to.throw(/different IP families/);
    expect(k.sent).to.have.length(0);
  });

  it('handles IPv6: NODAD address and an IPv6 default route', function () {
    const k = kernel();
    configurePodInterface(k.socket(), { ...spec, ifIndex: 2, addressCidr: 'fd00:10::7/64', gateway: 'fd00:10::1' });
    const addr = k.requests.find((r) => r.type === RTM_NEWADDR)!;
    expect(decodeIfAddr(addr.payload)).to.include({ family: 10, prefixLen: 64, flags: 2 });
    const aa = decodeAttrs(addr.payload, 8);
    expect(aa.has(4)).to.equal(false); // no broadcast for IPv6
    expect(readU32(aa.get(8))).to.equal(2); // IFA_FLAGS: NODAD
    const route = k.requests.find((r) => r.type === RTM_NEWROUTE)!;
    expect(decodeRtMsg(route.payload).family).to.equal(10);
    expect(bytesToIp(decodeAttrs(route.payload, 12).get(5)!)).to.equal('fd00:10::1');
  });
});
