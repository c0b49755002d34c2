// The device rules replayed with cgroup v1's meaning (devicePolicy), and the v1 kernel's decision
// on a state (policyAllows): the model the v2 eBPF program must agree with.
import { expect } from 'chai';
import {
  ACC_ALL,
  ACC_MKNOD,
  ACC_READ,
  ACC_WRITE,
  accessBits,
  devicePolicy,
  policyAllows,
  ruleText,
  type DeviceRequest,
} from '../../../src/cgroups/devices.js';
import { DEFAULT_DEVICE_RULES } from '../../../src/oci/security.js';
import { thrown } from '../../support/thrown.js';

const RW = ACC_READ | ACC_WRITE;
const req = (type: 'c' | 'b', major: number, minor: number, access: number): DeviceRequest => ({ type, major, minor, access });

describe('cgroups/devices', function () {
  it('writes rules the way devices.allow reads them', function () {
    expect(ruleText({ allow: false, access: 'rwm' })).to.equal('a');
    expect(ruleText({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' })).to.equal('c 1:3 rw');
    expect(ruleText({ allow: true, type: 'c', access: 'm' })).to.equal('c *:* m');
    expect(ruleText({ allow: true, type: 'b', major: 8, minor: -1 })).to.equal('b 8:* rwm');
  });

  it('reads access strings into the kernel bits and refuses other letters', function () {
    expect(accessBits('rwm')).to.equal(ACC_ALL);
    expect(accessBits('')).to.equal(ACC_ALL);
    expect(accessBits('mr')).to.equal(ACC_MKNOD | ACC_READ);
    expect(String(thrown(() => accessBits('rx')))).to.match(/not a subset of "rwm"/);
  });

  it('starts from allow-all, as a cgroup without rules', function () {
    const p = devicePolicy([]);
    expect(p).to.deep.equal({ defaultAllow: true, exceptions: [] });
    expect(policyAllows(p, req('b', 8, 0, ACC_ALL))).to.equal(true);
  });

  it('turns deny-all plus runc\'s list into an allow list', function () {
    const p = devicePolicy([{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES]);
    expect(p.defaultAllow).to.equal(false);
    expect(p.exceptions).to.have.length(DEFAULT_DEVICE_RULES.length);
    expect(policyAllows(p, req('c', 1, 3, RW))).to.equal(true); // /dev/null
    expect(policyAllows(p, req('c', 136, 7, RW))).to.equal(true); // a pty
    expect(policyAllows(p, req('b', 8, 0, ACC_MKNOD))).to.equal(true); // mknod of anything
    expect(policyAllows(p, req('b', 8, 0, ACC_READ))).to.equal(false); // but not opening it
    expect(policyAllows(p, req('c', 1, 1, ACC_READ))).to.equal(false); // /dev/mem
    expect(policyAllows(p, req('c', 10, 200, RW))).to.equal(false); // /dev/net/tun
  });

  it('needs every asked bit in one allowing exception', function () {
    const p = devicePolicy([{ allow: false }, { allow: true, type: 'c', major: 4, minor: 1, access: 'r' }, { allow: true, type: 'c', major: 4, minor: 2, access: 'w' }]);
    expect(policyAllows(p, req('c', 4, 1, ACC_READ))).to.equal(true);
    expect(policyAllows(p, req('c', 4, 1, RW))).to.equal(false);
    expect(policyAllows(p, req('c', 4, 2, ACC_WRITE))).to.equal(true);
  });

  it('merges access of the same device and takes it away again', function () {
    const p = devicePolicy([
      { allow: false },
      { allow: true, type: 'c', major: 4, minor: 1, access: 'r' },
      { allow: true, type: 'c', major: 4, minor: 1, access: 'w' },
      { allow: false, type: 'c', major: 4, minor: 1, access: 'r' },
    ]);
    expect(p.exceptions).to.deep.equal([{ type: 'c', major: 4, minor: 1, access: ACC_WRITE }]);
    const gone = devicePolicy([{ allow: false }, { allow: true, type: 'c', major: 4, minor: 1, access: 'rw' }, { allow: false, type: 'c', major: 4, minor: 1 }]);
    expect(gone.exceptions).to.deep.equal([]);
  });

  it('does not punch a hole into a wider exception, as v1 does not', function () {
    // v1 only removes an exception with the same numbers: c 4:* stays whole.
    const p = devicePolicy([{ allow: false }, { allow: true, type: 'c', major: 4 }, { allow: false, type: 'c', major: 4, minor: 1 }]);
    expect(policyAllows(p, req('c', 4, 1, ACC_READ))).to.equal(true);
  });

  it('in a deny list, refuses a request sharing any bit with an exception', function () {
    const p = devicePolicy([{ allow: false, type: 'c', major: 1, minor: 1, access: 'w' }]);
    expect(p.defaultAllow).to.equal(true);
    expect(policyAllows(p, req('c', 1, 1, ACC_READ))).to.equal(true);
    expect(policyAllows(p, req('c', 1, 1, RW))).to.equal(false);
    expect(policyAllows(p, req('c', 1, 2, RW))).to.equal(true);
  });

  it('resets on an "a" rule, whatever came before', function () {
    const p = devicePolicy([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3 }, { allow: true, type: 'a' }]);
    expect(p).to.deep.equal({ defaultAllow: true, exceptions: [] });
  });

  it('refuses numbers the filter cannot compare', function () {
    expect(String(thrown(() => devicePolicy([{ allow: true, type: 'c', major: 2 ** 31 }])))).to.match(/out of range/);
    expect(String(thrown(() => devicePolicy([{ allow: true, type: 'c', major: 1.5 }])))).to.match(/out of range/);
  });
});
