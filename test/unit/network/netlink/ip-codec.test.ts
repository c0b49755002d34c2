import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import {
  bytesToIp, formatMac, ipToBytes, ipv4Broadcast, parseCidrBytes, randomLocalMac,
} from '../../../../src/network/netlink/ip-codec.js';

describe('netlink ip-codec', function () {
  it('converts IPv4 both ways', function () {
    const b = ipToBytes('10.88.0.1');
    expect(b.family).to.equal(2);
    expect([...b.bytes]).to.deep.equal([10, 88, 0, 1]);
    expect(bytesToIp(b.bytes)).to.equal('10.88.0.1');
  });

  it('converts IPv6 in every text form and prints RFC 5952 text', function () {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::1', 'fe80::1'],
      ['2001:db8::', '2001:db8::'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['fd00:0:0:0:0:0:0:a', 'fd00::a'],
      ['::ffff:192.0.2.7', '::ffff:192.0.2.7'],
      ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ];
    for (const [text, canonical] of cases) {
      const b = ipToBytes(text);
      expect(b.family, text).to.equal(10);
      expect(b.bytes.length).to.equal(16);
      expect(bytesToIp(b.bytes), text).to.equal(canonical);
      expect(bytesToIp(ipToBytes(canonical).bytes)).to.equal(canonical);
    }
    expect(ipToBytes('2001:db8::1').bytes.toString('hex')).to.equal('20010db8000000000000000000000001');
  });

  it('rejects what is not an address', function () {
    for (const bad of ['', '10.0.0', '10.0.0.256', '010.0.0.1', ' 10.0.0.1', '1.2.3.4.5', '1.2.3.-4', 'fe80::1%eth0', '1::2::3', 'eth0']) {
      expect(() => ipToBytes(bad), bad).to.throw().that.satisfies((e: unknown) => isKind(e, 'InvalidArgument'));
    }
  });

  it('parses CIDRs and computes IPv4 broadcast addresses', function () {
    const c = parseCidrBytes('10.88.0.1/16');
    expect(c.prefix).to.equal(16);
    expect(bytesToIp(ipv4Broadcast(c.bytes, c.prefix))).to.equal('10.88.255.255');
    expect(bytesToIp(ipv4Broadcast(Buffer.from([192, 168, 1, 9]), 24))).to.equal('192.168.1.255');
    expect(bytesToIp(ipv4Broadcast(Buffer.from([1, 2, 3, 4]), 0))).to.equal('255.255.255.255');
    expect(parseCidrBytes('fd00::1/64')).to.include({ family: 10, prefix: 64 });
    expect(() => parseCidrBytes('10.0.0.1')).to.throw().that.satisfies((e: unknown) => isKind(e, 'InvalidArgument'));
    expect(() => parseCidrBytes('10.0.0.1/33')).to.throw(/prefix/);
    expect(() => parseCidrBytes('10.0.0.1/')).to.throw(/prefix/);
    expect(() => parseCidrBytes('10.0.0.01/8')).to.throw(/not an IP address/);
    expect(parseCidrBytes('0.0.0.0/0')).to.deep.include({ family: 2, prefix: 0 });
    expect([...parseCidrBytes('255.254.0.9/32').bytes]).to.deep.equal([255, 254, 0, 9]);
  });

  it('formats MACs and makes random ones unicast and locally administered', function () {
    expect(formatMac(Buffer.from([0, 0x1b, 0xa, 0xff, 1, 2]))).to.equal('00:1b:0a:ff:01:02');
    const mac = randomLocalMac(() => Buffer.from([0xff, 1, 2, 3, 4, 5]));
    expect(mac[0]).to.equal(0xfe);
    expect(randomLocalMac(() => Buffer.alloc(6))[0]).to.equal(0x02);
  });
});
