import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isKind } from '../../../../src/core/errors.js';
import type { Digest } from '../../../../src/core/ids.js';
import { ContentStore } from '../../../../src/storage/content/store.js';
import { makeTempDir, removeDir, streamOf, testContext } from '../layers/fixtures.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('storage/content/store', () => {
  let dir: string;
  let store: ContentStore;

  beforeEach(async () => {
    dir = await makeTempDir('content');
    store = new ContentStore(dir);
    await store.init();
  });
  afterEach(async () => removeDir(dir));

  it('ingests a blob, verifies it and serves it back', async () => {
    const data = randomBytes(300_000);
    const digest = digestOf(data);
    await store.ingest(testContext(), { digest, size: data.length }, async () => streamOf(data, 7000));
    expect(await store.has(digest)).to.equal(true);
    expect(await store.size(digest)).to.equal(data.length);
    expect(store.path(digest)).to.equal(join(dir, 'blobs', 'sha256', digest.slice(7)));
    expect((await readFile(store.path(digest))).equals(data)).to.equal(true);
    expect(await store.list()).to.deep.equal([digest]);
    expect(store.usage().inodes).to.equal(1);
    expect(store.usage().bytes).to.be.at.least(data.length);
    expect(await readdir(join(dir, 'ingest'))).to.deep.equal([]);
  });

  it('stores buffers and reads JSON back, checking the digest', async () => {
    const doc = { schemaVersion: 2, layers: [] as unknown[] };
    const digest = await store.putBuffer(Buffer.from(JSON.stringify(doc)));
    expect(digest).to.equal(digestOf(Buffer.from(JSON.stringify(doc))));
    expect(await store.readJson(digest)).to.deep.equal(doc);
    await writeFile(store.path(digest), 'tampered');
    const e = await rejection(store.readBuffer(digest));
    expect(isKind(e, 'Internal')).to.equal(true);
  });

  it('rejects a digest mismatch and publishes nothing', async () => {
    const data = randomBytes(10_000);
    const wrong = digestOf(Buffer.from('something else'));
    const e = await rejection(store.ingest(testContext(), { digest: wrong }, async () => streamOf(data)));
    expect(isKind(e, 'Internal')).to.equal(true);
    expect((e as Error).message).to.contain('digest mismatch');
    expect(await store.has(wrong)).to.equal(false);
    expect(await store.list()).to.deep.equal([]);
    expect(await readdir(join(dir, 'ingest'))).to.deep.equal([]);
  });

  it('rejects a size mismatch, too short or too long, and publishes nothing', async () => {
    const data = randomBytes(10_000);
    const digest = digestOf(data);
    for (const size of [data.length - 1, data.length + 1]) {
      const e = await rejection(store.ingest(testContext(), { digest, size }, async () => streamOf(data, 1000)));
      expect(isKind(e, 'Internal')).to.equal(true);
      expect((e as Error).message).to.contain('size mismatch');
      expect(await store.has(digest)).to.equal(false);
      expect(await readdir(join(dir, 'ingest'))).to.deep.equal([]);
    }
  });

  it('shares one write between concurrent ingests of one digest', async () => {
    const data = randomBytes(2_000_000);
    const digest = digestOf(data);
    let opens = 0;
    const open = async () => {
      opens++;
      return streamOf(data, 16_384);
    };
    await Promise.all([1, 2, 3, 4].map(() => store.ingest(testContext(), { digest, size: data.length }, open)));
    expect(opens).to.equal(1);
    expect((await readFile(store.path(digest))).equals(data)).to.equal(true);
  });

  it('never writes a blob that is already present', async () => {
    const data = Buffer.from('hello');
    const digest = await store.putBuffer(data);
    const before = await stat(store.path(digest));
    let opened = false;
    await store.ingest(testContext(), { digest }, async () => {
      opened = true;
      return streamOf(data);
    });
    expect(opened).to.equal(false);
    expect((await stat(store.path(digest))).ino).to.equal(before.ino);
  });

  it('a waiter whose partner is cancelled carries on with its own download', async () => {
    const data = randomBytes(100_000);
    const digest = digestOf(data);
    const first = new AbortController();
    let opens = 0;
    const slow = async () => {
      opens++;
      if (opens === 1) {
        // The first download stalls until it is cancelled.
        return new Readable({ read() {} });
      }
      return streamOf(data);
    };
    const a = store.ingest(testContext(first.signal), { digest }, slow);
    const b = store.ingest(testContext(), { digest }, slow);
    await new Promise((r) => setTimeout(r, 20));
    first.abort();
    const e = await rejection(a);
    expect(isKind(e, 'Cancelled')).to.equal(true);
    await b;
    expect(await store.has(digest)).to.equal(true);
    expect(opens).to.equal(2);
  });

  it('deletes idempotently', async () => {
    const digest = await store.putBuffer(Buffer.from('x'));
    await store.delete(digest);
    await store.delete(digest);
    expect(await store.has(digest)).to.equal(false);
    expect(store.usage().inodes).to.equal(0);
  });

  it('leaves no blob behind when the daemon is killed mid-ingest, and the next ingest completes', async function () {
    this.timeout(20_000);
    const data = randomBytes(4_000_000);
    const digest = digestOf(data);
    const storeUrl = new URL('../../../../src/storage/content/store.js', import.meta.url).href;
    // A child daemon streams the first half of the blob, then stalls; we SIGKILL it there.
    const script = `
      import { ContentStore } from ${JSON.stringify(storeUrl)};
      import { Readable } from 'node:stream';
      const s = new ContentStore(${JSON.stringify(dir)});
      await s.init();
      const ctx = { log: { debug() {}, info() {} }, signal: new AbortController().signal, deadline: undefined };
      let sent = false;
      const src = new Readable({ read() { if (!sent) { sent = true; this.push(Buffer.alloc(2_000_000, 7)); console.log('sent'); } } });
      await s.ingest(ctx, { digest: ${JSON.stringify(digest)}, size: ${data.length} }, async () => src);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('sent') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited early: ${code}`)));
      });
      // Wait until the temp file holds the bytes, so the kill interrupts a real write.
      for (let i = 0; i < 200; i++) {
        const names = await readdir(join(dir, 'ingest'));
        if (names.length > 0 && (await stat(join(dir, 'ingest', names[0]!))).size >= 2_000_000) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(await readdir(join(dir, 'ingest'))).to.have.length(1);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    }
    expect(await readdir(join(dir, 'blobs', 'sha256'))).to.deep.equal([]);
    const restarted = new ContentStore(dir);
    await restarted.init();
    expect(await readdir(join(dir, 'ingest'))).to.deep.equal([]);
    await restarted.ingest(testContext(), { digest, size: data.length }, async () => streamOf(data));
    expect((await readFile(restarted.path(digest))).equals(data)).to.equal(true);
  });

  it('cleanupIngest spares the temp files of writers still open', async () => {
    const data = Buffer.from('abc');
    const w = await store.openWriter({ digest: digestOf(data) });
    await writeFile(join(dir, 'ingest', 'stale'), 'x');
    expect(await store.cleanupIngest()).to.equal(1);
    expect(await readdir(join(dir, 'ingest'))).to.deep.equal([w.tmpPath.split('/').pop()]);
    await w.abort();
    expect(await readdir(join(dir, 'ingest'))).to.deep.equal([]);
  });

  it('refuses a malformed digest', async () => {
    const e = await rejection(store.ingest(testContext(), { digest: 'sha256:xyz' as Digest }, async () => streamOf(Buffer.from('a'))));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
  });
});
