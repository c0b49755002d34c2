// Image archives the image-archive fuzz target (test/fuzz/targets/image-archive.ts) found, cut
// down: a damaged archive is InvalidArgument, and no input keeps the import waiting forever.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_IMAGES_CONFIG } from '../../../src/config/images.js';
import { SkiffError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/log/logger.js';
import { ContentStore } from '../../../src/storage/content/store.js';
import { readImageArchive } from '../../../src/storage/images/archive.js';
import { fixChecksums, writeTar } from '../../fuzz/harness/tar-writer.js';
import { makeTempDir, removeDir } from '../storage/layers/fixtures.js';

describe('fuzz findings: image archives', () => {
  let dir: string;
  let content: ContentStore;

  beforeEach(async () => {
    dir = await makeTempDir('fuzz-archive');
    content = new ContentStore(join(dir, 'content'));
    await content.init();
  });
  afterEach(async () => {
    expect(await readdir(join(dir, 'content', 'ingest'))).to.deep.equal([]);
    await removeDir(dir);
  });

  async function outcome(archive: Buffer): Promise<SkiffError | string> {
    const file = join(dir, 'image.tar');
    await writeFile(file, archive);
    const ctx = { log: silentLogger(), signal: new AbortController().signal, deadline: undefined };
    const run = readImageArchive(ctx, file, content, { defaultRegistry: 'docker.io', limits: DEFAULT_IMAGES_CONFIG }).then(
      () => 'imported',
      (e: unknown) => (e instanceof SkiffError ? e : Promise.reject(e)),
    );
    return Promise.race([run, new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 5 s'), 5000))]);
  }

  const blobs = [Buffer.alloc(2048, 1), Buffer.alloc(163, 2), Buffer.alloc(598, 3)];
  const blobName = (b: Buffer) => `blobs/sha256/${createHash('sha256').update(b).digest('hex')}`;

  it('refuses an archive cut off inside a blob as InvalidArgument, not Internal', async () => {
    const tar = writeTar([
      { name: 'oci-layout', type: '0', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      ...blobs.map((b) => ({ name: blobName(b), type: '0', body: b })),
    ]);
    // Inside the last blob: the error reached the scanner as streamx's "Stream was destroyed".
    const e = await outcome(tar.subarray(0, 4608 + 512 + 10));
    expect(e).to.be.instanceOf(SkiffError);
    expect((e as SkiffError).kind, (e as SkiffError).message).to.equal('InvalidArgument');
    expect((e as SkiffError).message).to.match(/the archive is truncated: it ends inside entry "blobs\/sha256\//);
  });

  it('refuses a member whose size field the parser cannot read, instead of waiting for it forever', async () => {
    const tar = writeTar([{ name: 'index.json', type: '0', body: Buffer.from('{}') }]);
    tar[124] = 0x9c; // tar-stream read this base-256 lead byte as size null, then waited
    const e = await outcome(fixChecksums(tar));
    expect(e).to.be.instanceOf(SkiffError);
    expect((e as SkiffError).kind, (e as SkiffError).message).to.equal('InvalidArgument');
    expect((e as SkiffError).message).to.match(/size field holds \d+, too large/);
  });
});
