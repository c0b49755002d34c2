import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkMountDestinations, resolveInRootfs } from '../../../../src/core/container/mount-destinations.js';
import { isKind } from '../../../../src/core/errors.js';
import { DEFAULT_MOUNTS } from '../../../../src/oci/mounts.js';
import type { OciMount } from '../../../../src/oci/types.js';
import { thrown } from '../../../support/thrown.js';

describe('core/container/mount-destinations', function () {
  let base: string;
  let n = 0;

  /** An image root with /proc, /sys and /dev as directories, changed by `make`. */
  function image(make: (root: string) => void = () => undefined): string {
    const root = join(base, `root${++n}`);
    for (const d of ['etc', 'proc', 'sys', 'dev', 'data']) mkdirSync(join(root, d), { recursive: true });
    make(root);
    return root;
  }
  const defaults = (): OciMount[] => DEFAULT_MOUNTS.map((m) => ({ ...m, options: [...m.options] }));
  const bind = (destination: string): OciMount => ({ destination, type: 'bind', source: '/srv', options: ['rbind'] });

  before(function () {
    base = mkdtempSync(join(tmpdir(), 'skiff-mount-dest-'));
  });
  after(function () {
    rmSync(base, { recursive: true, force: true });
  });

  it('resolves a path in the image the way skiff-init will', function () {
    const root = image((r) => symlinkSync('/proc/sys', join(r, 'etc/sysctl')));
    expect(resolveInRootfs(root, '/etc/sysctl/kernel')).to.equal('/proc/sys/kernel');
  });

  it('refuses a bind that a symlink sends into /proc, and lets the others be', function () {
    const root = image((r) => {
      symlinkSync('/proc/sys', join(r, 'etc/sysctl'));
      symlinkSync('../proc', join(r, 'etc/p'));
    });
    const e = thrown(() => checkMountDestinations(root, [...defaults(), bind('/etc/sysctl/kernel')]));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
    expect((e as Error).message).to.contain('mount /etc/sysctl/kernel (it resolves to /proc/sys/kernel in the image): a mount inside /proc is refused');
    expect(() => checkMountDestinations(root, [...defaults(), bind('/etc/p/cpuinfo'), bind('/data')])).to.not.throw();
  });

  it('refuses an image whose /proc or /sys is a symlink, or not a directory, naming the mount', function () {
    const cases: [string, string, (root: string) => void, RegExp][] = [
      ['/proc -> /elsewhere', 'proc', (r) => symlinkSync('/elsewhere', join(r, 'proc')), /^mount \/proc \(proc\): the image has a symlink on that path, and proc is mounted only on an ordinary directory$/],
      ['/proc -> /dev/shm/p', 'proc', (r) => symlinkSync('/dev/shm/p', join(r, 'proc')), /^mount \/proc \(proc\): the image has a symlink/],
      ['/sys -> sys2', 'sys', (r) => symlinkSync('sys2', join(r, 'sys')), /^mount \/sys \(sysfs\): the image has a symlink/],
      ['/dev -> /tmp', 'dev', (r) => symlinkSync('/tmp', join(r, 'dev')), /^mount \/dev \(tmpfs\): the image has a symlink/],
      ['/proc a file', 'proc', (r) => writeFileSync(join(r, 'proc'), ''), /^mount \/proc \(proc\): the image has no directory there/],
    ];
    for (const [what, dir, make, message] of cases) {
      const root = image((r) => {
        rmSync(join(r, dir), { recursive: true });
        make(r);
      });
      const e = thrown(() => checkMountDestinations(root, defaults()));
      expect(isKind(e, 'InvalidArgument'), `${what}: ${String(e)}`).to.equal(true);
      expect((e as Error).message, what).to.match(message);
    }
  });

  it('takes a missing destination, and one under an earlier mount, as skiff-init will make them', function () {
    // No /proc, /sys or /dev at all: made at the start. /dev/pts and /sys/fs/cgroup lie in the
    // fresh /dev and /sys, whatever the image has there.
    const root = image((r) => {
      for (const d of ['proc', 'sys', 'dev']) rmSync(join(r, d), { recursive: true });
    });
    expect(() => checkMountDestinations(root, defaults())).to.not.throw();
    const covered = image((r) => {
      symlinkSync('/elsewhere', join(r, 'dev/pts'));
      mkdirSync(join(r, 'sys/fs'));
      writeFileSync(join(r, 'sys/fs/cgroup'), '');
    });
    expect(() => checkMountDestinations(covered, defaults())).to.not.throw();
  });
});
