import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBindDestinations, resolveInRootfs } from '../../../../src/core/container/mount-destinations.js';
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
    const e = thrown(() => checkBindDestinations(root, [...defaults(), bind('/etc/sysctl/kernel')]));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
    expect((e as Error).message).to.contain('mount /etc/sysctl/kernel (it resolves to /proc/sys/kernel in the image): a mount inside /proc is refused');
    expect(() => checkBindDestinations(root, [...defaults(), bind('/etc/p/cpuinfo'), bind('/data')])).to.not.throw();
  });
});
