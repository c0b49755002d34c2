import { expect } from 'chai';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isKind } from '../../../../src/core/errors.js';
import { realSys } from '../../../../src/sys/index.js';
import { unpackTar } from '../../../../src/storage/layers/tar-unpack.js';
import { block } from '../../../support/tar-blocks.js';
import { buildTar, makeTempDir, removeDir, streamOf, testContext, type TarEntry } from './fixtures.js';

const sys = realSys();
const LIMITS = { maxEntries: 1000, maxEntryBytes: 1 << 30 };
const T0 = new Date(1_500_000_000_000);

describe('storage/layers/tar-unpack', () => {
  let base: string;
  let target: string;
  /** A sentinel dir outside the target: refusals must leave it exactly as it was. */
  let outside: string;

  beforeEach(async () => {
    base = await makeTempDir('unpack');
    target = join(base, 'layer', 'fs');
    outside = join(base, 'outside');
    await mkdir(target, { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'sentinel'), 'untouched');
  });
  afterEach(async () => removeDir(base));

  async function unpack(entries: TarEntry[], chunk = 4096) {
    return unpackTar(testContext(), streamOf(await buildTar(entries), chunk), target, sys, LIMITS);
  }

  async function expectRefused(entries: TarEntry[], naming: string): Promise<void> {
    let err: unknown;
    try {
      await unpack(entries);
    } catch (e) {
      err = e;
    }
    expect(err, 'unpack should fail').to.be.instanceOf(Error);
    expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
    expect((err as Error).message).to.contain(naming);
    expect(await readdir(outside)).to.deep.equal(['sentinel']);
    expect(await readFile(join(outside, 'sentinel'), 'utf8')).to.equal('untouched');
    expect(await readdir(base)).to.have.members(['layer', 'outside']);
  }

  it('keeps files, modes, owners, mtimes and directory mtimes', async () => {
    const big = Buffer.alloc(1_000_000, 0x61); // past the small-file path
    const stats = await unpack([
      { name: 'dir', type: 'directory', mode: 0o750, uid: 1000, gid: 1001, mtime: T0 },
      { name: 'dir/small', body: 'hello', mode: 0o4755, uid: 1000, gid: 1001, mtime: T0 },
      { name: 'dir/big', body: big, mode: 0o600, uid: 7, gid: 8, mtime: T0 },
      { name: 'dir/empty', body: '', mode: 0o444 },
      { name: 'implicit/parent/file', body: 'x' },
    ]);
    const small = await stat(join(target, 'dir/small'));
    expect(small.mode & 0o7777).to.equal(0o4755);
    expect([small.uid, small.gid]).to.deep.equal([1000, 1001]);
    expect(small.mtimeMs).to.equal(T0.getTime());
    expect(await readFile(join(target, 'dir/small'), 'utf8')).to.equal('hello');
    const bigSt = await stat(join(target, 'dir/big'));
    expect([bigSt.mode & 0o7777, bigSt.uid, bigSt.gid, bigSt.size]).to.deep.equal([0o600, 7, 8, big.length]);
    expect((await readFile(join(target, 'dir/big'))).equals(big)).to.equal(true);
    expect((await stat(join(target, 'dir/empty'))).mode & 0o7777).to.equal(0o444);
    const dir = await stat(join(target, 'dir'));
    expect([dir.mode & 0o7777, dir.uid, dir.gid]).to.deep.equal([0o750, 1000, 1001]);
    expect(dir.mtimeMs, 'set after its entries were created').to.equal(T0.getTime());
    expect((await stat(join(target, 'implicit/parent'))).isDirectory()).to.equal(true);
    expect(stats.entries).to.equal(5);
    expect(stats.inodes).to.equal(7);
  });

  it('keeps symlinks, hard links, fifos and device nodes', async () => {
    await unpack([
      { name: 'file', body: 'data', uid: 5, gid: 6 },
      { name: 'abs-link', type: 'symlink', linkname: '/etc/passwd', uid: 3, gid: 4, mtime: T0 },
      { name: 'rel-link', type: 'symlink', linkname: '../../../../x' },
      { name: 'hard', type: 'link', linkname: 'file' },
      { name: './sub/hard2', type: 'link', linkname: './file' },
      { name: 'fifo', type: 'fifo', mode: 0o620 },
      { name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'blk', type: 'block-device', devmajor: 259, devminor: 300, mode: 0o660 },
    ]);
    expect(await readlink(join(target, 'abs-link'))).to.equal('/etc/passwd');
    expect(await readlink(join(target, 'rel-link'))).to.equal('../../../../x');
    const link = await lstat(join(target, 'abs-link'));
    expect([link.uid, link.gid, link.mtimeMs]).to.deep.equal([3, 4, T0.getTime()]);
    const file = await stat(join(target, 'file'));
    expect((await stat(join(target, 'hard'))).ino).to.equal(file.ino);
    expect((await stat(join(target, 'sub/hard2'))).ino).to.equal(file.ino);
    expect(file.nlink).to.equal(3);
    const fifo = await lstat(join(target, 'fifo'));
    expect(fifo.isFIFO()).to.equal(true);
    expect(fifo.mode & 0o7777).to.equal(0o620);
    const dev = await lstat(join(target, 'null'));
    expect(dev.isCharacterDevice()).to.equal(true);
    expect(dev.rdev).to.equal(0x103);
    expect(dev.mode & 0o7777).to.equal(0o666);
    const blk = await lstat(join(target, 'blk'));
    expect(blk.isBlockDevice()).to.equal(true);
    // glibc makedev: minor's high bits go above the major.
    expect(blk.rdev).to.equal(((300 & 0xff) | (259 << 8) | ((300 & ~0xff) << 12)) >>> 0);
  });

  it('keeps PAX xattrs, binary values intact', async () => {
    // security.capability v2 with cap_setuid (bit 7): the 0x80 byte is not valid UTF-8.
    const cap = Buffer.alloc(20);
    cap.writeUInt32LE(0x02000001, 0);
    cap.writeUInt32LE(1 << 7, 4);
    await unpack([
      { name: 'bin', type: 'directory', rawPax: { 'SCHILY.xattr.user.dir': 'on a dir' } },
      {
        name: 'bin/ping',
        body: 'ELF',
        mode: 0o755,
        uid: 10,
        rawPax: { 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.note': 'héllo' },
      },
      { name: 'bin/sneaky', body: 'x', rawPax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } },
    ]);
    expect(sys.lgetxattr(join(target, 'bin/ping'), 'security.capability')?.equals(cap)).to.equal(true);
    expect(sys.lgetxattr(join(target, 'bin/ping'), 'user.note')?.toString()).to.equal('héllo');
    expect(sys.lgetxattr(join(target, 'bin'), 'user.dir')?.toString()).to.equal('on a dir');
    expect((await stat(join(target, 'bin/ping'))).uid, 'capability set after chown').to.equal(10);
    expect(sys.llistxattr(join(target, 'bin/sneaky'))).to.deep.equal([]);
    expect(sys.llistxattr(join(target, 'bin/ping')).sort()).to.deep.equal(['security.capability', 'user.note']);
    expect(sys.lgetxattr(join(target, 'bin/sneaky'), 'user.missing')).to.equal(undefined);
  });

  it('turns whiteouts into 0/0 character devices and opaque markers into an xattr', async () => {
    await unpack([
      { name: 'etc', type: 'directory' },
      { name: 'etc/.wh.hosts', body: '', uid: 2, gid: 2 },
      { name: 'var/cache/.wh..wh..opq', body: '' },
      { name: 'var/cache', type: 'directory', mode: 0o700 },
      { name: 'opt', type: 'directory' },
      { name: 'opt/.wh..wh..opq', body: '' },
      { name: 'opt/new', body: 'n' },
    ]);
    const wh = await lstat(join(target, 'etc/hosts'));
    expect(wh.isCharacterDevice()).to.equal(true);
    expect(wh.rdev).to.equal(0);
    expect([wh.uid, wh.gid]).to.deep.equal([2, 2]);
    expect(await readdir(join(target, 'etc'))).to.deep.equal(['hosts']);
    for (const d of ['var/cache', 'opt']) {
      expect(sys.lgetxattr(join(target, d), 'trusted.overlay.opaque')?.toString()).to.equal('y');
      expect(await readdir(join(target, d))).to.not.include('.wh..wh..opq');
    }
    expect((await stat(join(target, 'var/cache'))).mode & 0o7777).to.equal(0o700);
    expect(await readFile(join(target, 'opt/new'), 'utf8')).to.equal('n');
  });

  it('normalises leading "/" and "./", and lets a later entry replace an earlier one', async () => {
    await unpack([
      { name: './', type: 'directory', mode: 0o755 },
      { name: '/etc/passwd', body: 'inside' },
      { name: './a/b/../c', body: 'c' },
      { name: 'x', body: 'file first' },
      { name: 'x', type: 'directory' },
      { name: 'x/y', body: 'y' },
      { name: 'x', type: 'symlink', linkname: '/elsewhere' },
      { name: 'p', type: 'symlink', linkname: join(outside, 'sentinel') },
      { name: 'p', body: 'a file now, not written through the link' },
    ]);
    expect(await readFile(join(target, 'etc/passwd'), 'utf8')).to.equal('inside');
    expect(await readFile(join(target, 'a/c'), 'utf8')).to.equal('c');
    expect(await readlink(join(target, 'x'))).to.equal('/elsewhere');
    expect((await lstat(join(target, 'p'))).isFile()).to.equal(true);
    expect(await readFile(join(outside, 'sentinel'), 'utf8')).to.equal('untouched');
  });

  it('handles names longer than 100 bytes', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
    await unpack([{ name: long, body: 'long' }]);
    expect(await readFile(join(target, long), 'utf8')).to.equal('long');
  });

  describe('refuses to write outside the layer', () => {
    it('"../x"', () => expectRefused([{ name: '../x', body: 'evil' }], '"../x"'));

    it('"a/../../x" (a climb hidden in the middle)', () =>
      expectRefused([{ name: 'a/../../outside/sentinel', body: 'evil' }], 'a/../../outside/sentinel'));

    it('a file below a symlink to an absolute path', () =>
      expectRefused(
        [
          { name: 'link', type: 'symlink', linkname: outside },
          { name: 'link/file', body: 'evil' },
        ],
        '"link/file"',
      ));

    it('a file below a relative symlink that climbs out', () =>
      expectRefused(
        [
          { name: 'link', type: 'symlink', linkname: '../../' },
          { name: 'link/outside/x', body: 'evil' },
        ],
        '"link/outside/x"',
      ));

    it('a directory replaced by a symlink, then written through', () =>
      expectRefused(
        [
          { name: 'a', type: 'directory' },
          { name: 'a/f', body: 'fine' },
          { name: 'a', type: 'symlink', linkname: outside },
          { name: 'a/sentinel', body: 'evil' },
        ],
        '"a/sentinel"',
      ));

    it('an opaque marker or whiteout below a symlink', async () => {
      await expectRefused(
        [
          { name: 'l', type: 'symlink', linkname: outside },
          { name: 'l/.wh..wh..opq', body: '' },
        ],
        'l/.wh..wh..opq',
      );
      await removeDir(target);
      await mkdir(target);
      await expectRefused(
        [
          { name: 'l', type: 'symlink', linkname: outside },
          { name: 'l/.wh.sentinel', body: '' },
        ],
        'l/.wh.sentinel',
      );
    });

    it('a hard link whose target climbs out', () =>
      expectRefused([{ name: 'h', type: 'link', linkname: '../outside/sentinel' }], '"h"'));

    it('a hard link to an absolute host path', () =>
      expectRefused([{ name: 'h', type: 'link', linkname: join(outside, 'sentinel') }], 'not an earlier entry'));

    it('a hard link through a symlink', () =>
      expectRefused(
        [
          { name: 'l', type: 'symlink', linkname: outside },
          { name: 'h', type: 'link', linkname: 'l/sentinel' },
        ],
        '"h"',
      ));

    it('a hard link to an entry that comes later', () =>
      expectRefused(
        [
          { name: 'h', type: 'link', linkname: 'later' },
          { name: 'later', body: 'x' },
        ],
        'not an earlier entry',
      ));
  });

  it('refuses a tar that is not one, with InvalidArgument', async () => {
    let err: unknown;
    try {
      await unpackTar(testContext(), streamOf(Buffer.alloc(2048, 0x41)), target, sys, LIMITS);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
  });

  it('refuses a 4 GiB PAX header by its size, with InvalidArgument, before reading it', async () => {
    // Only the header block and 1 MiB of the 4 GiB it announces: the refusal must not wait for more.
    const tar = Buffer.concat([block({ name: 'PaxHeader', type: 'x', size: 2 ** 32 }), Buffer.alloc(1 << 20, 0x41)]);
    let err: unknown;
    try {
      await unpackTar(testContext(), streamOf(tar), target, sys, LIMITS);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
    expect((err as Error).message).to.equal('PAX header of 4294967296 bytes exceeds 1 MiB (tar header at byte 0)');
  });

  it('refuses a uid or gid chown cannot take, with InvalidArgument', async () => {
    const uid = Buffer.from([0x80, 0, 0, 1, 0, 0, 0, 0]); // base-256: 2^32
    const tar = Buffer.concat([block({ name: 'big-uid', uidField: uid }), Buffer.alloc(1024)]);
    let err: unknown;
    try {
      await unpackTar(testContext(), streamOf(tar), target, sys, LIMITS);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
    expect((err as Error).message).to.equal('layer entry "big-uid" refused: uid 4294967296 is out of range');
  });

  it('counts the directories a path implies against the entry limit', async () => {
    const tar = await buildTar([{ name: 'a/b/c/d/e/f', body: 'x' }]);
    let err: unknown;
    try {
      await unpackTar(testContext(), streamOf(tar), target, sys, { ...LIMITS, maxEntries: 5 });
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'ResourceExhausted'), String(err)).to.equal(true);
    expect((err as Error).message).to.equal('the layer creates more than 5 files and directories (at "a/b/c/d/e/f")');
    const second = join(base, 'second');
    await mkdir(second);
    const stats = await unpackTar(testContext(), streamOf(tar), second, sys, { ...LIMITS, maxEntries: 6 });
    expect(stats).to.deep.include({ entries: 1, inodes: 6 });
  });

  it('stops when the context is cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    let err: unknown;
    try {
      await unpackTar(testContext(ac.signal), streamOf(await buildTar([{ name: 'a', body: 'x' }])), target, sys, LIMITS);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'Cancelled'), String(err)).to.equal(true);
  });
});
