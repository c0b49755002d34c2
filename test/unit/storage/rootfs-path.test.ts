// Resolving a path in an image's rootfs as skiff-init will (symlinks inside the root, missing
// components as they are), with the image as hostile data: bytes, not text, and bounded work.
import { expect } from 'chai';
import { closeSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind } from '../../../src/core/errors.js';
import { MAX_COMPONENTS, openRoot, plainPathIn, resolveInRoot } from '../../../src/storage/rootfs-path.js';
import { thrown } from '../../support/thrown.js';

describe('storage/rootfs-path', function () {
  let root: string;
  let rootfd: number;

  before(function () {
    root = mkdtempSync(join(tmpdir(), 'skiff-rootfs-path-'));
    for (const d of ['etc', 'usr/lib', 'proc', 'data', 'd']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc/file'), '');
    symlinkSync('/proc/sys', join(root, 'etc/sysctl')); // absolute: the rootfs's own /proc
    symlinkSync('../proc', join(root, 'etc/p'));
    symlinkSync('../../../../../../proc/self', join(root, 'usr/lib/escape')); // ".." stops at the root
    symlinkSync('lib', join(root, 'usr/lib2'));
    symlinkSync('loop', join(root, 'etc/loop'));
    symlinkSync('/nowhere/deeper', join(root, 'etc/dangling'));
    symlinkSync('/data', join(root, 'datalink'));
    rootfd = openRoot(root);
  });
  after(function () {
    closeSync(rootfd);
    rmSync(root, { recursive: true, force: true });
  });

  it('follows the image\'s symlinks inside the rootfs, dangling ones too, and takes missing components as they are', function () {
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
      ['/datalink/./x/', '/data/x'],
      ['/', '/'],
    ];
    for (const [path, want] of cases) expect(resolveInRoot(rootfd, path), path).to.equal(want);
  });

  it('gives up after 40 symlinks, and leaves no fd open', function () {
    const fds = readdirSync('/proc/self/fd').length;
    expect(isKind(thrown(() => resolveInRoot(rootfd, '/etc/loop/x')), 'InvalidArgument')).to.equal(true);
    resolveInRoot(rootfd, '/usr/lib2/escape/x/y');
    expect(readdirSync('/proc/self/fd').length).to.equal(fds);
  });

  it('follows link targets and names that are not UTF-8', function () {
    // /etc/evil -> "/\xff/s", and the directory "\xff" holds s -> /proc/sys. Read as text, the
    // target would name "\ufffd", which does not exist, and the path would look harmless.
    const odd = Buffer.from([0xff]);
    mkdirSync(Buffer.concat([Buffer.from(`${root}/`), odd]));
    symlinkSync('/proc/sys', Buffer.concat([Buffer.from(`${root}/`), odd, Buffer.from('/s')]));
    symlinkSync(Buffer.concat([Buffer.from('/'), odd, Buffer.from('/s')]), join(root, 'etc/evil'));
    expect(resolveInRoot(rootfd, '/etc/evil/kernel')).to.equal('/proc/sys/kernel');
    expect(resolveInRoot(rootfd, '/\u00e9/x')).to.equal('/\u00e9/x');
  });

  it('stops a chain of 4 KiB links after a bounded walk, in milliseconds', function () {
    // l0 -> d/../d/../…/l1 (4 KiB), …, l39 -> d: every link costs hundreds of components to walk.
    const hostile = join(root, 'hostile');
    mkdirSync(join(hostile, 'd'), { recursive: true });
    for (let i = 0; i < 40; i++) {
      const body = i === 39 ? 'd' : `${'d/../'.repeat(800)}l${i + 1}`;
      symlinkSync(body, join(hostile, `l${i}`));
    }
    const t0 = process.hrtime.bigint();
    const e = thrown(() => resolveInRoot(rootfd, '/hostile/l0/x'));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(isKind(e, 'InvalidArgument'), String(e)).to.equal(true);
    expect((e as Error).message).to.equal(`mount path /hostile/l0/x: more than ${MAX_COMPONENTS} path components to walk in the image (symlinks included)`);
    expect(ms, `${ms.toFixed(1)} ms`).to.be.lessThan(50);
  });

  it('tells an ordinary directory from a symlink on the path, something else, and a missing one', function () {
    expect(plainPathIn(rootfd, '/usr/lib')).to.equal('directory');
    expect(plainPathIn(rootfd, '/')).to.equal('directory');
    expect(plainPathIn(rootfd, '/data/new/deeper')).to.equal('missing');
    expect(plainPathIn(rootfd, '/datalink')).to.equal('symlink on the path');
    expect(plainPathIn(rootfd, '/usr/lib2/x')).to.equal('symlink on the path');
    expect(plainPathIn(rootfd, '/etc/dangling')).to.equal('symlink on the path');
    expect(plainPathIn(rootfd, '/etc/file')).to.equal('not a directory');
    expect(plainPathIn(rootfd, '/etc/file/x')).to.equal('not a directory');
  });
});
