import { expect } from 'chai';
import { parseCidr, parseCidrList } from '../../../src/util/cidr.js';

describe('util/cidr', function () {
  it('parses IPv4 and IPv6 CIDRs', function () {
    expect(parseCidr('10.244.1.0/24')).to.deep.equal({ address: '10.244.1.0', prefix: 24, family: 4 });
    expect(parseCidr('fd00:10::/64')).to.deep.equal({ address: 'fd00:10::', prefix: 64, family: 6 });
  });

  it('says what is wrong with a bad CIDR', function () {
    expect(parseCidr('10.0.0.0')).to.match(/no "\/prefix"/);
    expect(parseCidr('10.0.0.300/8')).to.match(/not an IP address/);
    expect(parseCidr('10.0.0.0/33')).to.match(/prefix must be 0 to 32/);
    expect(parseCidr('::/129')).to.match(/prefix must be 0 to 128/);
    expect(parseCidr('10.0.0.0/x')).to.match(/prefix/);
  });

  it('accepts the dual-stack list kubelet sends, one CIDR per family', function () {
    expect(parseCidrList('10.1.0.0/24,fd00::/64')).to.have.length(2);
    expect(parseCidrList('10.1.0.0/24,10.2.0.0/24')).to.match(/more than one IPv4/);
  });
});
