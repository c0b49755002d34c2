import { expect } from 'chai';
import { closeSync, fstatSync, openSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../../../src/core/ids.js';
import { ContentStore } from '../../../../src/storage/content/store.js';
import { makeTempDir, removeDir } from '../layers/fixtures.js';

describe('storage/content/blob-writer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('blob-writer');
  });
  afterEach(async () => removeDir(dir));

  it('closes its temp file once on abort: a descriptor opened meanwhile stays open', async () => {
    const store = new ContentStore(join(dir, 'content'));
    await store.init();
    const writer = await store.openWriter({ digest: `sha256:${'a'.repeat(64)}` as Digest, size: 10 });
    // The file stream's 'close' is where a second close would follow: an open at that moment gets
    // the number the stream just gave back, as a layer unpacking beside a failed pull would.
    const out = (writer as unknown as { out: WriteStream }).out;
    let other: number | undefined;
    out.once('close', () => {
      other = openSync(join(dir, 'other'), 'w');
    });
    await writer.abort();
    expect(other).to.be.a('number');
    try {
      expect(() => fstatSync(other!), 'the other file was closed under its owner').not.to.throw();
    } finally {
      try {
        closeSync(other!);
      } catch {
        // already closed: the failure above says so
      }
    }
  });
});
