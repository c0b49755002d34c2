import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBindDestinations, resolveInRootfs } from '../../../../src/core/container/mount-destinations.js';
import { isKind } from '../../../../src/core/errors.js';
import { thrown } from '../../../support/thrown.js';

describe('core/container/mount-destinations', function () {
  let root: string;

  before(function () {
    root = mkdtempSync(join(tmpdir(), 'skiff-mount-dest-'));
    for (const d of ['etc', 'usr/lib', 'proc', 'data']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc/file'), '');
    symlinkSync('/proc/sys', join(root, 'etc/sysctl')); // absolute: the rootfs's own /proc
    symlinkSync('../proc', join(root, 'etc/p'));
    symlinkSync('../../../../../../proc/self', join(root, 'usr/lib/escape')); // ".." stops at the root
    symlinkSync('lib', join(root, 'usr/lib2'));
    symlinkSync('loop', join(root, 'etc/loop'));
    symlinkSync('/nowhere/deeper', join(root, 'etc/dangling'));
  });
  after(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('follows the image\'s symlinks inside the rootfs, as skiff-init will', function () {
    const cases: [string, string][] = [
      ['/data/x', '/data/x'],
      ['/etc/sysctl/kernel', '/proc/sys/kernel'],
      ['/etc/p', '/proc'],
      ['/etc/p/net/dev', '/proc/net/dev'],
      ['/usr/lib/escape/attr', '/proc/self/attr'],
      ['/usr/lib2/escape', '/proc/self'],
      ['/etc/dangling/x', '/nowhere/deeper/x'],
      ['/etc/file/below', '/etc/file/below'],
      ['/missing/../etc/sysctl', '/etc/sysctl'],
      ['/', '/'],
    ];
    for (const [path, want] of cases) expect(resolveInRootfs(root, path), path).to.equal(want);
  });

  it('gives up after 40 symlinks', function () {
    expect(isKind(thrown(() => resolveInRootfs(root, '/etc/loop/x')), 'InvalidArgument')).to.equal(true);
  });

  it('refuses a bind that a symlink sends into /proc, and only binds are looked at', function () {
    const e = thrown(() => checkBindDestinations(root, [{ destination: '/etc/sysctl/kernel', type: 'bind', source: '/srv', options: ['rbind'] }]));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
    expect((e as Error).message).to.contain('mount /etc/sysctl/kernel (it resolves to /proc/sys/kernel in the image): a mount inside /proc is refused');
    expect(() =>
      checkBindDestinations(root, [
        { destination: '/etc/p', type: 'proc', source: 'proc', options: [] },
        { destination: '/etc/p/cpuinfo', type: 'bind', source: '/srv/cpuinfo', options: ['rbind'] },
        { destination: '/data', type: 'bind', source: '/srv', options: ['rbind'] },
      ]),
    ).to.not.throw();
  });
});
