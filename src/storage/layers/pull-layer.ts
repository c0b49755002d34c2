// One layer of a pull, in one streaming pass:
//
//   registry ─▶ blob writer (sha256 + temp file) ─▶ decompress ─▶ meter (size caps, diff id) ─▶ untar
//
// The blob and the unpacked layer are published only when the blob's digest and size and the
// layer's diff id all check out; otherwise both are thrown away. Every stage is a stream with a
// bounded buffer, so a layer never sits in memory whole and a slow disk slows the download. The
// meter stops a layer whose uncompressed stream passes the layer's or the image's cap, however
// well it compresses, before the tar parser sees the byte that crossed it.
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { ImagesConfig } from '../../config/images.js';
import type { OpContext } from '../../core/context.js';
import { internal, SkiffError, toSkiffError } from '../../core/errors.js';
import type { Digest } from '../../core/ids.js';
import type { Sys } from '../../sys/index.js';
import type { ContentStore } from '../content/store.js';
import { decompressor, type Compression } from './decompress.js';
import type { LayerRecord, LayerStore, ProducedLayer } from './layer-store.js';
import { unpackTar } from './tar-unpack.js';

export interface PullLayerDeps {
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly sys: Sys;
  readonly limits: ImagesConfig;
  /** Shared by the layers of one pull or import: the image's cap. */
  readonly budget: ImageBudget;
}

/**
 * Uncompressed bytes of the layers of one pull or import, together: those it unpacks as they
 * stream, those already on the node by their record, so that retrying a refused pull (which keeps
 * the layers that were complete) is refused again.
 */
export class ImageBudget {
  private used = 0;

  constructor(readonly max: number) {}

  /** Counts n more bytes; false once the total is past the cap. */
  take(n: number): boolean {
    this.used += n;
    return this.used <= this.max;
  }
}

export interface LayerToPull {
  /** Digest and size of the (compressed) blob, from the manifest. */
  readonly digest: Digest;
  readonly size: number;
  readonly compression: Compression;
  /** Digest of the uncompressed tar, from the image config. */
  readonly diffId: Digest;
  readonly chainId: Digest;
  readonly parentChainId?: Digest;
}

/** What the pull had to do: nothing, unpack a blob already stored, or download and unpack. */
export type PullLayerOutcome = 'present' | 'unpacked' | 'downloaded';

const STAGE_BUFFER = 1024 * 1024;

/** Makes the layer present; `open` is called only when its blob must be downloaded. */
export async function pullLayer(
  ctx: OpContext,
  deps: PullLayerDeps,
  layer: LayerToPull,
  open: () => Promise<Readable>,
): Promise<PullLayerOutcome> {
  const have = deps.layers.get(layer.chainId);
  if (have) {
    charge(deps.budget, layer, have);
    return 'present';
  }
  let outcome: PullLayerOutcome = 'present';
  const spec = { chainId: layer.chainId, diffId: layer.diffId, parentChainId: layer.parentChainId };
  const record = await deps.layers.ensure(ctx, spec, async (tmpDir) => {
    if (await deps.content.has(layer.digest)) {
      outcome = 'unpacked';
      return unpackBlob(ctx, deps, layer, tmpDir);
    }
    outcome = 'downloaded';
    return downloadAndUnpack(ctx, deps, layer, tmpDir, open);
  });
  // Unpacked by a concurrent pull that this one joined: its bytes were not metered here.
  if (outcome === 'present') charge(deps.budget, layer, record);
  return outcome;
}

function charge(budget: ImageBudget, layer: LayerToPull, record: LayerRecord): void {
  if (!budget.take(record.tarBytes ?? record.size)) throw imageTooBig(budget).wrap(`pulling layer ${layer.digest}`);
}

async function downloadAndUnpack(
  ctx: OpContext,
  deps: PullLayerDeps,
  layer: LayerToPull,
  tmpDir: string,
  open: () => Promise<Readable>,
): Promise<ProducedLayer> {
  const decompress = decompressor(layer.compression); // an unsupported format fails before any download
  const writer = await deps.content.openWriter({ digest: layer.digest, size: layer.size });
  try {
    const source = await open();
    const diff = createHash('sha256');
    const stats = await unpackThrough(ctx, deps, [source, writer.passThrough(), decompress], diff, tmpDir);
    const problem = writer.verify() ?? checkDiffId(diff, layer.diffId);
    if (problem) throw problem;
    await writer.commit();
    return stats;
  } catch (e) {
    await writer.abort();
    throw toSkiffError(e, `pulling layer ${layer.digest}`);
  }
}

async function unpackBlob(ctx: OpContext, deps: PullLayerDeps, layer: LayerToPull, tmpDir: string): Promise<ProducedLayer> {
  const decompress = decompressor(layer.compression);
  const diff = createHash('sha256');
  try {
    const source = await deps.content.openRead(layer.digest);
    const stats = await unpackThrough(ctx, deps, [source, decompress], diff, tmpDir);
    const problem = checkDiffId(diff, layer.diffId);
    if (problem) throw problem;
    return stats;
  } catch (e) {
    throw toSkiffError(e, `unpacking blob ${layer.digest}`);
  }
}

/** Runs the stages, hashes what comes out of them and unpacks it; settles only when all stages have. */
async function unpackThrough(
  ctx: OpContext,
  deps: PullLayerDeps,
  stages: [Readable, ...NodeJS.ReadWriteStream[]],
  diff: Hash,
  tmpDir: string,
): Promise<ProducedLayer> {
  const { limits } = deps;
  const metered = { bytes: 0 };
  const tap = meter(diff, limits.maxLayerBytes, deps.budget, metered);
  const upstream = new Promise<void>((resolve, reject) => {
    pipeline([...stages, tap], (err) => (err ? reject(err) : resolve()));
  });
  upstream.catch(() => undefined); // awaited below
  let stats: ProducedLayer;
  try {
    stats = await unpackTar(ctx, tap, tmpDir, deps.sys, {
      maxEntries: limits.maxLayerEntries,
      maxEntryBytes: limits.maxLayerBytes,
    });
  } catch (e) {
    // unpackTar reports a failed stage's own error; here the stages only stop because it did.
    await upstream.catch(() => undefined);
    throw e;
  }
  // Every stage has flushed: the blob's temp file is complete, the hashes are final.
  await upstream;
  return { bytes: stats.bytes, inodes: stats.inodes, tarBytes: metered.bytes };
}

/** Hashes what passes for the diff id, and fails the stream at the first byte past a cap. */
function meter(diff: Hash, maxLayerBytes: number, budget: ImageBudget, metered: { bytes: number }): Transform {
  return new Transform({
    highWaterMark: STAGE_BUFFER,
    transform(chunk: Buffer, _enc, cb) {
      metered.bytes += chunk.length;
      if (metered.bytes > maxLayerBytes) {
        return cb(tooBig(`the layer is larger than ${maxLayerBytes} bytes uncompressed (images.maxLayerBytes)`));
      }
      if (!budget.take(chunk.length)) return cb(imageTooBig(budget));
      diff.update(chunk);
      cb(null, chunk);
    },
  });
}

function tooBig(message: string): SkiffError {
  return new SkiffError('ResourceExhausted', message);
}

function imageTooBig(budget: ImageBudget): SkiffError {
  return tooBig(`the image's layers are larger than ${budget.max} bytes uncompressed together (images.maxImageBytes)`);
}

function checkDiffId(diff: Hash, expected: Digest): Error | undefined {
  const actual = `sha256:${diff.digest('hex')}`;
  if (actual === expected) return undefined;
  return internal(`diff id mismatch: the config says ${expected}, the uncompressed layer hashes to ${actual}`);
}
