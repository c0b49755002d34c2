import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isKind } from '../../../../src/core/errors.js';
import type { Digest } from '../../../../src/core/ids.js';
import { realSys } from '../../../../src/sys/index.js';
import { chainIds, LayerStore } from '../../../../src/storage/layers/layer-store.js';
import { makeTempDir, removeDir, testContext } from './fixtures.js';

const d = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;

describe('storage/layers/layer-store', () => {
  let dir: string;
  let store: LayerStore;

  beforeEach(async () => {
    dir = await makeTempDir('layers');
    store = new LayerStore(dir, realSys());
    await store.init();
  });
  afterEach(async () => removeDir(dir));

  it('computes chain ids as the OCI image spec defines them', () => {
    const [a, b, c] = [d('a'), d('b'), d('c')];
    const ab = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
    const abc = `sha256:${createHash('sha256').update(`${ab} ${c}`).digest('hex')}`;
    expect(chainIds([a, b, c])).to.deep.equal([a, ab, abc]);
    expect(chainIds([])).to.deep.equal([]);
    // A known vector: the chain id of two layers is not their diff ids concatenated and hashed.
    expect(chainIds([a, b])[1]).to.not.equal(d(`${a}${b}`));
  });

  it('unpacks once into a short numbered dir, even when ensured concurrently', async () => {
    let produced = 0;
    const spec = { chainId: d('c1'), diffId: d('c1') };
    const produce = async (tmp: string) => {
      produced++;
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(join(tmp, 'hello'), 'world');
      return { bytes: 4096, inodes: 1 };
    };
    const records = await Promise.all([1, 2, 3].map(() => store.ensure(testContext(), spec, produce)));
    expect(produced).to.equal(1);
    expect(records.map((r) => r.n)).to.deep.equal([1, 1, 1]);
    expect(store.path(spec.chainId)).to.equal(join(dir, '1', 'fs'));
    expect(await readFile(join(store.path(spec.chainId), 'hello'), 'utf8')).to.equal('world');
    await store.ensure(testContext(), spec, produce);
    expect(produced).to.equal(1);
    expect(store.usage()).to.deep.equal({ bytes: 4096, inodes: 1 });
  });

  it('leaves nothing behind when an unpack fails, and reuses the number', async () => {
    const spec = { chainId: d('bad'), diffId: d('bad') };
    let err: unknown;
    try {
      await store.ensure(testContext(), spec, async (tmp) => {
        await writeFile(join(tmp, 'partial'), 'x');
        throw new Error('boom');
      });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.contain('boom');
    expect(store.get(spec.chainId)).to.equal(undefined);
    expect((await readdir(dir)).sort()).to.deep.equal(['index']);
    const ok = await store.ensure(testContext(), { chainId: d('ok'), diffId: d('ok') }, async () => undefined);
    expect(ok.n).to.equal(1);
  });

  it('has cleaned up when a cancelled unpack returns to the caller that ran it', async () => {
    const spec = { chainId: d('cancelled'), diffId: d('cancelled') };
    const ac = new AbortController();
    const ensured = store.ensure(testContext(ac.signal), spec, async (tmp) => {
      await writeFile(join(tmp, 'partial'), 'x');
      ac.abort();
      // An unpack notices a cancel at its next chunk, not at once.
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('stopped');
    });
    let err: unknown;
    try {
      await ensured;
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(Error);
    expect((await readdir(dir)).sort()).to.deep.equal(['index']);
  });

  it('keeps records across restarts and lists parents for overlay lowerdirs', async () => {
    const [a, b] = chainIds([d('l1'), d('l2')]) as [Digest, Digest];
    await store.ensure(testContext(), { chainId: a, diffId: d('l1') }, async () => ({ bytes: 1, inodes: 1 }));
    await store.ensure(testContext(), { chainId: b, diffId: d('l2'), parentChainId: a }, async () => ({ bytes: 2, inodes: 3 }));
    const again = new LayerStore(dir);
    await again.init();
    expect(again.get(b)).to.deep.include({ chainId: b, diffId: d('l2'), parent: a, n: 2, size: 2, inodes: 3 });
    expect(again.lowerDirs(b)).to.deep.equal([join(dir, '2', 'fs'), join(dir, '1', 'fs')]);
    expect(again.list()).to.have.length(2);
  });

  it('init removes half-done unpacks, unrecorded dirs and records without a dir', async () => {
    const kept = await store.ensure(testContext(), { chainId: d('k'), diffId: d('k') }, async () => undefined);
    const lost = await store.ensure(testContext(), { chainId: d('lost'), diffId: d('lost') }, async () => undefined);
    await removeDir(join(dir, String(lost.n)));
    await mkdir(join(dir, '.tmp-7-abcd', 'fs'), { recursive: true });
    await mkdir(join(dir, '.del-3-abcd', 'fs'), { recursive: true });
    await mkdir(join(dir, '9', 'fs'), { recursive: true });
    const again = new LayerStore(dir);
    await again.init();
    expect((await readdir(dir)).sort()).to.deep.equal([String(kept.n), 'index']);
    expect(again.get(d('lost'))).to.equal(undefined);
    expect(again.get(d('k'))?.n).to.equal(kept.n);
  });

  it('removes idempotently', async () => {
    const spec = { chainId: d('r'), diffId: d('r') };
    await store.ensure(testContext(), spec, async () => undefined);
    await store.remove(spec.chainId);
    await store.remove(spec.chainId);
    expect(store.get(spec.chainId)).to.equal(undefined);
    expect(await readdir(dir)).to.deep.equal(['index']);
    let err: unknown;
    try {
      store.path(spec.chainId);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'NotFound')).to.equal(true);
  });
});
