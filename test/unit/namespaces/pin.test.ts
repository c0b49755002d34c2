import { expect } from 'chai';
import { pinHelperArgs } from '../../../src/namespaces/pin.js';

describe('namespaces/pin', function () {
  it('builds skiff-pinns arguments, with normalised sysctl keys', function () {
    const args = pinHelperArgs({
      dir: '/run/skiff/ns/abc',
      net: true,
      ipc: true,
      uts: true,
      pid: true,
      hostname: 'web-0',
      sysctls: { 'net/ipv4/conf/eth0.100/rp_filter': '1', 'kernel.shmmni': '1234' },
    });
    expect(args).to.deep.equal([
      '--dir', '/run/skiff/ns/abc', '--net', '--ipc', '--uts', '--hostname', 'web-0',
      '--sysctl', 'net.ipv4.conf.eth0/100.rp_filter=1', '--sysctl', 'kernel.shmmni=1234', '--pid-init',
    ]); // prettier-ignore
  });

  it('hands the pid init the mount namespace it joins as fd 3, and nothing without a pid init', function () {
    const opts = { dir: '/d', net: true, ipc: false, uts: false, pid: true, sysctls: {}, initMountNs: 70 };
    expect(pinHelperArgs(opts)).to.deep.equal(['--dir', '/d', '--net', '--pid-init', '--init-mount-ns', '3']);
    expect(pinHelperArgs({ ...opts, pid: false })).to.deep.equal(['--dir', '/d', '--net']);
  });

  it('drops the hostname without a UTS namespace of its own', function () {
    const opts = { dir: '/d', net: true, ipc: false, uts: false, pid: false, hostname: 'h', sysctls: {} };
    const args = pinHelperArgs(opts);
    expect(args).to.deep.equal(['--dir', '/d', '--net']);
  });
});
