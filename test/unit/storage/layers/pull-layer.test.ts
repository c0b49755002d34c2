import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { isKind } from '../../../../src/core/errors.js';
import type { Digest } from '../../../../src/core/ids.js';
import { realSys } from '../../../../src/sys/index.js';
import { ContentStore } from '../../../../src/storage/content/store.js';
import { chainIds, LayerStore } from '../../../../src/storage/layers/layer-store.js';
import { DEFAULT_IMAGES_CONFIG, type ImagesConfig } from '../../../../src/config/images.js';
import { ImageBudget, pullLayer, type LayerToPull } from '../../../../src/storage/layers/pull-layer.js';
import { block } from '../../../support/tar-blocks.js';
import { buildTar, gzip, makeTempDir, removeDir, streamOf, testContext, type TarEntry } from './fixtures.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

async function layerOf(entries: TarEntry[], parent?: Digest, trailer = Buffer.alloc(0)) {
  return layerOfTar(Buffer.concat([await buildTar(entries), trailer]), parent);
}

function layerOfTar(tar: Buffer, parent?: Digest) {
  const blob = gzip(tar);
  const diffId = sha(tar);
  const chainId = parent ? chainIds([parent, diffId])[1]! : diffId;
  const layer: LayerToPull = {
    digest: sha(blob),
    size: blob.length,
    compression: 'gzip',
    diffId,
    chainId,
    ...(parent ? { parentChainId: parent } : {}),
  };
  return { tar, blob, layer };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('storage/layers/pull-layer', () => {
  let dir: string;
  let content: ContentStore;
  let layers: LayerStore;
  const sys = realSys();

  beforeEach(async () => {
    dir = await makeTempDir('pull');
    content = new ContentStore(join(dir, 'content'));
    layers = new LayerStore(join(dir, 'layers'), sys);
    await content.init();
    await layers.init();
  });
  afterEach(async () => removeDir(dir));

  const deps = (limits: ImagesConfig = DEFAULT_IMAGES_CONFIG, budget = new ImageBudget(limits.maxImageBytes)) => ({
    content,
    layers,
    sys,
    limits,
    budget,
  });

  /** Nothing published and no temp file left: the stores look as if the pull never happened. */
  async function expectNothingPublished(layer: LayerToPull) {
    expect(await content.has(layer.digest)).to.equal(false);
    expect(layers.get(layer.chainId)).to.equal(undefined);
    expect(await readdir(join(dir, 'content', 'ingest'))).to.deep.equal([]);
    expect(await readdir(join(dir, 'layers'))).to.deep.equal(['index']);
  }

  it('downloads, stores and unpacks in one pass, then does nothing the second time', async () => {
    const payload = randomBytes(3_000_000);
    const { blob, layer } = await layerOf([
      { name: 'bin', type: 'directory' },
      { name: 'bin/app', body: payload, mode: 0o755 },
    ]);
    let opens = 0;
    const open = async () => {
      opens++;
      return streamOf(blob, 16_384);
    };
    expect(await pullLayer(testContext(), deps(), layer, open)).to.equal('downloaded');
    expect((await readFile(content.path(layer.digest))).equals(blob)).to.equal(true);
    expect((await readFile(join(layers.path(layer.chainId), 'bin/app'))).equals(payload)).to.equal(true);
    expect(await pullLayer(testContext(), deps(), layer, open)).to.equal('present');
    expect(opens).to.equal(1);
  });

  it('unpacks from a stored blob without downloading', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: 'from the blob' }]);
    await content.ingest(testContext(), { digest: layer.digest }, async () => streamOf(blob));
    const outcome = await pullLayer(testContext(), deps(), layer, async () => {
      throw new Error('must not download');
    });
    expect(outcome).to.equal('unpacked');
    expect(await readFile(join(layers.path(layer.chainId), 'f'), 'utf8')).to.equal('from the blob');
  });

  it('publishes nothing when the blob digest does not match', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: 'x' }]);
    const bad = { ...layer, digest: sha(Buffer.from('other')) };
    const e = await rejection(pullLayer(testContext(), deps(), bad, async () => streamOf(blob)));
    expect((e as Error).message).to.contain('digest mismatch');
    await expectNothingPublished(bad);
  });

  it('publishes nothing when the blob is longer than the manifest says', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: randomBytes(100_000) }]);
    const bad = { ...layer, size: 1000 };
    const e = await rejection(pullLayer(testContext(), deps(), bad, async () => streamOf(blob, 512)));
    expect((e as Error).message).to.contain('size mismatch');
    await expectNothingPublished(bad);
  });

  it('publishes nothing when the diff id does not match', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: 'x' }]);
    const bad = { ...layer, diffId: sha(Buffer.from('not this tar')), chainId: sha(Buffer.from('not this tar')) };
    const e = await rejection(pullLayer(testContext(), deps(), bad, async () => streamOf(blob)));
    expect(isKind(e, 'Internal')).to.equal(true);
    expect((e as Error).message).to.contain('diff id mismatch');
    await expectNothingPublished(bad);
  });

  it('publishes nothing when an entry is refused, and names it', async () => {
    const { blob, layer } = await layerOf([
      { name: 'l', type: 'symlink', linkname: '/etc' },
      { name: 'l/evil', body: 'x' },
    ]);
    const e = await rejection(pullLayer(testContext(), deps(), layer, async () => streamOf(blob)));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
    expect((e as Error).message).to.contain('"l/evil"');
    await expectNothingPublished(layer);
  });

  it('publishes nothing when the download breaks off', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: randomBytes(200_000) }]);
    const open = async (): Promise<Readable> => streamOf(blob.subarray(0, 50_000), 4096);
    const e = await rejection(pullLayer(testContext(), deps(), layer, open));
    expect((e as Error).message).to.contain('unexpected end of file');
    await expectNothingPublished(layer);
  });

  it('reports a network error with its own kind and publishes nothing', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: randomBytes(200_000) }]);
    const open = async (): Promise<Readable> => {
      const s = new PassThrough();
      s.write(blob.subarray(0, 50_000));
      setTimeout(() => s.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 5);
      return s;
    };
    const e = await rejection(pullLayer(testContext(), deps(), layer, open));
    expect(isKind(e, 'Unavailable'), String(e)).to.equal(true);
    expect((e as Error).message).to.contain('socket hang up');
    await expectNothingPublished(layer);
  });

  describe('hard limits', () => {
    const MiB = 1024 * 1024;
    const small = { ...DEFAULT_IMAGES_CONFIG, maxLayerBytes: 2 * MiB, maxImageBytes: 3 * MiB };
    const zeros = (n: number, files: number): TarEntry[] =>
      Array.from({ length: files }, (_, i) => ({ name: `z${i}`, body: Buffer.alloc(n) }));

    it('refuses a gzip bomb past maxLayerBytes with ResourceExhausted, naming the layer, publishing nothing', async () => {
      // 8 MiB of zeros in 1 MiB files: no entry is over the cap, the layer is; the blob is ~8 KiB.
      const { blob, layer } = await layerOf(zeros(MiB, 8));
      expect(blob.length).to.be.below(64 * 1024);
      const e = await rejection(pullLayer(testContext(), deps(small), layer, async () => streamOf(blob)));
      expect(isKind(e, 'ResourceExhausted'), String(e)).to.equal(true);
      expect((e as Error).message).to.equal(
        `pulling layer ${layer.digest}: the layer is larger than ${2 * MiB} bytes uncompressed (images.maxLayerBytes)`,
      );
      await expectNothingPublished(layer);
    });

    it('counts the bytes after the end-of-archive marker too: they are part of the diff id', async () => {
      const { blob, layer } = await layerOf([{ name: 'f', body: 'x' }], undefined, Buffer.alloc(4 * MiB));
      const e = await rejection(pullLayer(testContext(), deps(small), layer, async () => streamOf(blob)));
      expect(isKind(e, 'ResourceExhausted'), String(e)).to.equal(true);
      await expectNothingPublished(layer);
    });

    it('refuses an entry declaring more than maxLayerBytes from its header', async () => {
      const { blob, layer } = layerOfTar(Buffer.concat([block({ name: 'huge', size: 2 ** 32 }), Buffer.alloc(4096)]));
      const e = await rejection(pullLayer(testContext(), deps(small), layer, async () => streamOf(blob)));
      expect(isKind(e, 'ResourceExhausted'), String(e)).to.equal(true);
      expect((e as Error).message).to.equal(
        `pulling layer ${layer.digest}: entry "huge" of ${2 ** 32} bytes exceeds the limit of ${2 * MiB} bytes`,
      );
      await expectNothingPublished(layer);
    });

    it('shares maxImageBytes between the layers of one image', async () => {
      const first = await layerOf(zeros(800 * 1024, 2));
      const second = await layerOf(zeros(800 * 1024, 2).map((e) => ({ ...e, name: `second-${e.name}` })));
      const budget = new ImageBudget(small.maxImageBytes);
      expect(await pullLayer(testContext(), deps(small, budget), first.layer, async () => streamOf(first.blob))).to.equal('downloaded');
      const e = await rejection(pullLayer(testContext(), deps(small, budget), second.layer, async () => streamOf(second.blob)));
      expect(isKind(e, 'ResourceExhausted'), String(e)).to.equal(true);
      expect((e as Error).message).to.equal(
        `pulling layer ${second.layer.digest}: the image's layers are larger than ${3 * MiB} bytes uncompressed together (images.maxImageBytes)`,
      );
      expect(await content.has(second.layer.digest)).to.equal(false);
      expect(layers.get(second.layer.chainId)).to.equal(undefined);
      expect(await readdir(join(dir, 'content', 'ingest'))).to.deep.equal([]);
      expect((await readdir(join(dir, 'layers'))).sort()).to.deep.equal(['1', 'index']);
      // Retried (the first layer is on the node now), it is refused again: present layers count.
      const retry = new ImageBudget(small.maxImageBytes);
      expect(await pullLayer(testContext(), deps(small, retry), first.layer, async () => streamOf(first.blob))).to.equal('present');
      const again = await rejection(pullLayer(testContext(), deps(small, retry), second.layer, async () => streamOf(second.blob)));
      expect(isKind(again, 'ResourceExhausted'), String(again)).to.equal(true);
      expect(layers.get(first.layer.chainId)?.tarBytes).to.equal(first.tar.length);
      // Alone, with a budget of its own, the same layer fits.
      expect(await pullLayer(testContext(), deps(small), second.layer, async () => streamOf(second.blob))).to.equal('downloaded');
    });

    it('refuses a 4 GiB PAX header naming the layer and the reason, publishing nothing', async () => {
      const { blob, layer } = layerOfTar(Buffer.concat([block({ name: 'PaxHeader', type: 'x', size: 2 ** 32 }), Buffer.alloc(MiB)]));
      const e = await rejection(pullLayer(testContext(), deps(), layer, async () => streamOf(blob)));
      expect(isKind(e, 'InvalidArgument'), String(e)).to.equal(true);
      expect((e as Error).message).to.equal(
        `pulling layer ${layer.digest}: PAX header of 4294967296 bytes exceeds 1 MiB (tar header at byte 0)`,
      );
      await expectNothingPublished(layer);
    });
  });

  it('shares one download between concurrent pulls of one layer', async () => {
    const { blob, layer } = await layerOf([{ name: 'f', body: randomBytes(1_000_000) }]);
    let opens = 0;
    const open = async () => {
      opens++;
      return streamOf(blob, 8192);
    };
    const outcomes = await Promise.all([1, 2, 3].map(() => pullLayer(testContext(), deps(), layer, open)));
    expect(opens).to.equal(1);
    expect(outcomes.filter((o) => o === 'downloaded')).to.have.length(1);
    expect(await readdir(join(dir, 'layers'))).to.have.members(['index', '1']);
  });

  it('refuses zstd on a Node without it, before downloading', async function () {
    if (typeof (await import('node:zlib') as Record<string, unknown>).createZstdDecompress === 'function') this.skip();
    const { blob, layer } = await layerOf([{ name: 'f', body: 'x' }]);
    let opened = false;
    const e = await rejection(
      pullLayer(testContext(), deps(), { ...layer, compression: 'zstd' }, async () => {
        opened = true;
        return streamOf(blob);
      }),
    );
    expect(isKind(e, 'FailedPrecondition')).to.equal(true);
    expect(opened).to.equal(false);
  });

  it('mounts as overlay lowers: whiteouts hide files, opaque dirs hide the lower contents', async function () {
    this.timeout(20_000);
    const lower = await layerOf([
      { name: 'etc', type: 'directory' },
      { name: 'etc/keep', body: 'kept' },
      { name: 'etc/gone', body: 'should be hidden' },
      { name: 'cache', type: 'directory' },
      { name: 'cache/old', body: 'old' },
    ]);
    const upper = await layerOf(
      [
        { name: 'etc/.wh.gone', body: '' },
        { name: 'cache', type: 'directory' },
        { name: 'cache/.wh..wh..opq', body: '' },
        { name: 'cache/new', body: 'new' },
      ],
      lower.layer.chainId,
    );
    await pullLayer(testContext(), deps(), lower.layer, async () => streamOf(lower.blob));
    await pullLayer(testContext(), deps(), upper.layer, async () => streamOf(upper.blob));
    const target = join(dir, 'mnt');
    await mkdir(target);
    const lowerdir = layers.lowerDirs(upper.layer.chainId).join(':');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir}`, target]);
    try {
      expect((await readdir(join(target, 'etc'))).sort()).to.deep.equal(['keep']);
      expect(await readFile(join(target, 'etc/keep'), 'utf8')).to.equal('kept');
      expect((await readdir(join(target, 'cache'))).sort()).to.deep.equal(['new']);
    } finally {
      execFileSync('umount', [target]);
    }
  });
});
