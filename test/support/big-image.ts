// Benchmark images: random (incompressible) content, so pull throughput measures download,
// sha256, gunzip and disk writes rather than how well zlib compresses zeros. Layers are streamed
// to temp files: a 1 GB image must not live in memory twice.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { buildImage, type BuiltImage, type MediaTypes } from './oci-image.js';
import { pushImage, type PushedImage, type PushOptions, type RegistryCredentials } from './registry-push.js';
import { FIXED_TIME, OCI_LAYER_GZIP, type LayerBlob } from './tar-layer.js';

const randomBytesAsync = promisify(randomBytes);
const MiB = 1024 * 1024;
/** Files inside a layer are at most this big, like real images' mix of files. */
const MAX_FILE = 16 * MiB;

export interface BigImageOptions {
  /** Number of layers the size is split over (default 4). */
  layers?: number;
  mediaTypes?: MediaTypes;
  /** Where the layer files go; a fresh temp dir by default. */
  dir?: string;
  /** zlib level; random data barely compresses at any level, 1 is the fastest. */
  gzipLevel?: number;
}

export interface BigImage {
  image: BuiltImage;
  /** Total compressed bytes of all layers. */
  totalSize: number;
  dir: string;
  /** Removes the layer files. */
  cleanup(): Promise<void>;
}

/** ~sizeMB of random content over a few gzip layers, each a file on disk. */
export async function bigImage(sizeMB: number, opts: BigImageOptions = {}): Promise<BigImage> {
  const nLayers = Math.max(1, opts.layers ?? 4);
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-image-')));
  const total = Math.max(1, Math.round(sizeMB * MiB));
  try {
    const sizes = Array.from({ length: nLayers }, (_, i) =>
      i < nLayers - 1 ? Math.floor(total / nLayers) : total - Math.floor(total / nLayers) * (nLayers - 1),
    );
    const layers = await Promise.all(
      sizes.map((bytes, i) => randomLayer(path.join(dir, `layer-${i}.tar.gz`), i, bytes, opts.gzipLevel ?? 1)),
    );
    const image = buildImage({
      layers,
      config: { Cmd: ['/bin/true'], Labels: { 'io.skiff.bench': `big-${sizeMB}MB` } },
      mediaTypes: opts.mediaTypes ?? 'oci',
    });
    return {
      image,
      totalSize: layers.reduce((n, l) => n + l.size, 0),
      dir,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function randomLayer(file: string, index: number, bytes: number, level: number): Promise<LayerBlob> {
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let size = 0;
  const gz = createGzip({ level });
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      gzHash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const written = pipeline(gz, count, createWriteStream(file));

  const pack = tar.pack();
  const produce = (async () => {
    let left = bytes;
    for (let f = 0; left > 0; f++) {
      const n = Math.min(left, MAX_FILE);
      left -= n;
      await writeRandomFile(pack, `bench/layer${index}/file${f}.bin`, n);
    }
    pack.finalize();
  })();
  const consume = (async () => {
    for await (const data of pack) {
      const chunk = data as Buffer;
      tarHash.update(chunk);
      if (!gz.write(chunk)) await once(gz, 'drain');
    }
    gz.end();
  })();
  await Promise.all([produce, consume, written]);
  return {
    digest: 'sha256:' + gzHash.digest('hex'),
    diffId: 'sha256:' + tarHash.digest('hex'),
    size,
    mediaType: OCI_LAYER_GZIP,
    gzip: true,
    file,
  };
}

async function writeRandomFile(pack: tar.Pack, name: string, size: number): Promise<void> {
  let entry!: ReturnType<tar.Pack['entry']>;
  // The executor runs synchronously, so entry is set before the loop below.
  const finished = new Promise<void>((resolve, reject) => {
    entry = pack.entry({ name, size, mode: 0o644, mtime: FIXED_TIME, type: 'file' }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
  for (let left = size; left > 0; ) {
    const chunk = await randomBytesAsync(Math.min(left, MiB));
    left -= chunk.length;
    if (!entry.write(chunk)) await once(entry, 'drain');
  }
  entry.end(undefined);
  await finished;
}

export interface PushBigImageOptions extends BigImageOptions, PushOptions {
  auth?: RegistryCredentials;
  repo?: string;
  tag?: string;
}

/** bigImage pushed as skiff-bench/big:1.0 (or repo/tag as given). Call cleanup() when done. */
export async function pushBigImage(
  registryUrl: string,
  sizeMB: number,
  opts: PushBigImageOptions = {},
): Promise<BigImage & { pushed: PushedImage }> {
  const big = await bigImage(sizeMB, opts);
  try {
    const pushed = await pushImage(
      registryUrl,
      opts.repo ?? 'skiff-bench/big',
      opts.tag ?? '1.0',
      big.image,
      opts.auth,
      opts,
    );
    return { ...big, pushed };
  } catch (err) {
    await big.cleanup();
    throw err;
  }
}
