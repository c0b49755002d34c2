// Layers the tar-unpack fuzz target (test/fuzz/targets/tar.ts) found, cut down to one entry each:
// a bad layer must be refused as InvalidArgument naming what is wrong. Each of these failed as
// Internal (or PermissionDenied) with a raw Node error under tar-stream, which tells kubelet and
// the user that skiffd is broken rather than the image. Those about unreadable header fields are
// now refused by the parser itself (storage/tar/tar-header.ts) and stay as regression tests.
import { expect } from 'chai';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SkiffError } from '../../../src/core/errors.js';
import { unpackTar } from '../../../src/storage/layers/tar-unpack.js';
import { realSys } from '../../../src/sys/index.js';
import { fixChecksums, writeTar, type RawEntry } from '../../fuzz/harness/tar-writer.js';
import { makeTempDir, removeDir, testContext } from '../storage/layers/fixtures.js';

describe('fuzz findings: layer tars', () => {
  let base: string;
  let target: string;

  beforeEach(async () => {
    base = await makeTempDir('fuzz-tar');
    target = join(base, 'fs');
    await mkdir(target);
  });
  afterEach(async () => removeDir(base));

  async function refusal(tar: Buffer | Readable): Promise<SkiffError> {
    try {
      await unpackTar(testContext(), tar instanceof Readable ? tar : Readable.from([tar]), target, realSys(), { maxEntries: 1000, maxEntryBytes: 1 << 20 });
    } catch (e) {
      if (e instanceof SkiffError) return e;
      throw e;
    }
    throw new Error('the layer was accepted');
  }

  async function expectRefused(entries: RawEntry[], naming: RegExp, patch?: (tar: Buffer) => void): Promise<void> {
    const tar = writeTar(entries);
    if (patch) patch(tar);
    const e = await refusal(patch ? fixChecksums(tar) : tar);
    expect(e.kind, e.message).to.equal('InvalidArgument');
    expect(e.message).to.match(naming);
  }

  it('refuses an xattr the kernel will not set on that kind of file (user.* on a symlink)', async () => {
    await expectRefused([{ name: 'l', type: '2', linkname: 'x', pax: [['SCHILY.xattr.user.x', 'v']] }], /"l" refused: xattr user\.x cannot be set on it \(EPERM\)/);
  });

  it('refuses a name component longer than 255 bytes', async () => {
    await expectRefused([{ name: 'x', type: '0', longName: 'n'.repeat(256) }], /refused: a name in it is too long/);
  });

  it('refuses a uid past 2^32-2 (base-256 field) instead of failing in lchown', async () => {
    await expectRefused([{ name: 'a', type: '0', uid: 2 ** 32 }], /"a" refused: uid 4294967296 is out of range/);
  });

  it('refuses a gid that is not a number at all', async () => {
    await expectRefused([{ name: 'a', type: '0' }], /gid field "zzzzzzz" is not an octal number/, (t) => t.write('zzzzzzz\0', 116, 'latin1'));
  });

  it('refuses an mtime that is not a number instead of failing in utimes', async () => {
    await expectRefused([{ name: 'd', type: '5' }], /mtime field "zzzzzzzzzzz" is not an octal number/, (t) => t.write('zzzzzzzzzzz\0', 136, 'latin1'));
  });



  it('refuses an archive that ends inside a file body as truncated', async () => {
    const tar = writeTar([{ name: 'a', type: '0', body: Buffer.alloc(1000, 1) }], { end: false }).subarray(0, 512 + 100);
    const e = await refusal(tar);
    expect(e.kind, e.message).to.equal('InvalidArgument');
    expect(e.message).to.match(/the archive is truncated: it ends inside entry "a"/);
  });

  it('names the parser error, not the premature close of the source it stopped reading', async () => {
    const bad = Buffer.alloc(512, 0x41); // a header whose checksum is wrong
    async function* slow() {
      yield bad;
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        yield Buffer.alloc(512);
      }
    }
    const e = await refusal(Readable.from(slow()));
    expect(e.kind, e.message).to.equal('InvalidArgument');
    expect(e.message).to.match(/checksum field "AAAAAAAA" is not an octal number/);
    expect(await readdir(target)).to.deep.equal([]);
  });

  it('refuses an entry whose size field the parser cannot read, instead of waiting for its body forever', async () => {
    // A base-256 size must start with 0x80 or 0xff; tar-stream read any other high byte as
    // size null, and then neither ended that entry's body nor the archive: the pull hung.
    // Main's parser reads it as base-256 whatever the byte, a value too large to take.
    const tar = writeTar([{ name: 'a', type: '0', body: Buffer.from('hello') }]);
    tar[124] = 0x9c;
    const outcome = await Promise.race([
      refusal(fixChecksums(tar)),
      new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 5 s'), 5000)),
    ]);
    expect(outcome).to.be.instanceOf(SkiffError);
    const e = outcome as SkiffError;
    expect(e.kind, e.message).to.equal('InvalidArgument');
    expect(e.message).to.match(/size field holds \d+, too large/);
  });
});
