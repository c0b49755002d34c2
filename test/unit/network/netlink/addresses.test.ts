import { expect } from 'chai';
import { listAddresses, parseAddress } from '../../../../src/network/netlink/addresses.js';
import { attr, encodePayload } from '../../../../src/network/netlink/codec.js';
import { RTM_NEWADDR } from '../../../../src/network/netlink/constants.js';
import { ipToBytes } from '../../../../src/network/netlink/ip-codec.js';
import { decodeIfAddr, encodeIfAddr } from '../../../../src/network/netlink/structs.js';
import { FakeKernel } from './fake-kernel.js';

function addr(index: number, family: number, ip: string, prefix: number, label?: string): Buffer {
  const b = ipToBytes(ip).bytes;
  const attrs = [attr.bytes(1, b), ...(family === 2 ? [attr.bytes(2, b)] : []), ...(label ? [attr.str(3, label)] : [])];
  return encodePayload(encodeIfAddr({ family, prefixLen: prefix, index, flags: 0x80 }), attrs);
}

describe('netlink addresses', function () {
  it('parses IPv4 and IPv6 addresses', function () {
    const m = (p: Buffer) => ({ type: RTM_NEWADDR, flags: 0, seq: 1, pid: 0, payload: p });
    expect(parseAddress(m(addr(2, 2, '10.88.0.7', 16, 'eth0')))).to.deep.equal({
      index: 2, family: 4, address: '10.88.0.7', prefix: 16, scope: 0, flags: 0x80, label: 'eth0',
    });
    expect(parseAddress(m(addr(2, 10, 'fe80::1', 64)))).to.include({ family: 6, address: 'fe80::1', prefix: 64 });
    expect(parseAddress(m(encodePayload(encodeIfAddr({ family: 7 }))))).to.equal(undefined);
  });

  it('lists with the filter sent to the kernel and applied again here', function () {
    const k = new FakeKernel(() => ({
      replies: [
        [RTM_NEWADDR, addr(1, 2, '127.0.0.1', 8, 'lo')],
        [RTM_NEWADDR, addr(2, 2, '10.88.0.7', 16, 'eth0')],
      ],
    }));
    expect(listAddresses(k.socket(), { index: 2, family: 4 }).map((a) => a.address)).to.deep.equal(['10.88.0.7']);
    expect(decodeIfAddr(k.requests[0]!.payload)).to.include({ family: 2, index: 2, prefixLen: 0 });
  });
});
