// The image service behind the CRI ImageService: pull (registry → content → layers → record),
// look-up by tag, digest or id, list, remove with garbage collection, and disk usage. List, status
// and usage answer from memory.
import type { Readable } from 'node:stream';
import type { ImagesConfig } from '../../config/images.js';
import type { RegistryConfig } from '../../config/registry.js';
import type { ContentStore } from '../../storage/content/store.js';
import type { LayerStore } from '../../storage/layers/layer-store.js';
import { chainIds } from '../../storage/layers/layer-store.js';
import { ImageBudget, pullLayer } from '../../storage/layers/pull-layer.js';
import type { RegistryClient, ResolvedImage } from '../../storage/registry/client.js';
import type { Compression } from '../../storage/registry/manifest.js';
import { readImageArchive } from '../../storage/images/archive.js';
import { parseReference, type ImageReference } from '../../util/image-reference.js';
import { imageUser, parseImageConfig } from '../../storage/images/image-config.js';
import type { ImageRecord, ImageStore, LayerRecord } from '../../storage/images/image-store.js';
import type { Sys } from '../../sys/index.js';
import type { OpContext } from '../context.js';
import { internal, isKind, toSkiffError } from '../errors.js';
import type { Digest } from '../ids.js';
import { KeyedMutex, SingleFlight } from '../keyed-mutex.js';
import type { FsUsage, ImageView, PullAuth } from './types.js';

/** Something that knows which layers running or created containers still use. */
export interface LayerUsers {
  layersInUse(): ReadonlySet<Digest>;
}

export interface ImageServiceDeps {
  readonly registryConfig: RegistryConfig;
  /** Caps on what one pull or import unpacks. */
  readonly limits: ImagesConfig;
  readonly registry: RegistryClient;
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly sys: Sys;
  /** Reported as the image filesystem's mountpoint (kubelet finds the device from it). */
  readonly fsMountpoint: string;
}

/** Layers of one image downloaded at once: enough to fill a link, few enough not to thrash disk. */
const LAYER_PARALLELISM = 3;
const HEX64 = /^(sha256:)?[0-9a-f]{64}$/;
const HEX_PREFIX = /^[0-9a-f]{3,63}$/;

type Found = { record: ImageRecord; via: 'id' | 'tag' | 'digest'; ref?: string };

interface InstallSpec {
  /** For messages: the reference or archive the image comes from. */
  readonly what: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
  readonly manifestDigest: Digest;
  readonly manifestSize: number;
  readonly configDigest: Digest;
  readonly configBytes: Buffer;
  readonly layers: readonly { digest: Digest; size: number; mediaType: string; compression: Compression }[];
}

export class ImageService {
  private readonly pulls = new SingleFlight<string, ImageView>();
  /** Record changes (retag, untag, delete + GC) happen one at a time. */
  private readonly mutations = new KeyedMutex<'images'>();
  private readonly pinned: ReadonlySet<string>;
  /** Blobs and layers of installs and container creations in progress, which GC must not take. */
  private readonly leases = new Map<symbol, ReadonlySet<string>>();
  private layerUsers: LayerUsers | undefined;
  /** Bytes of layers downloaded by successful pulls since start (the daemon's metrics). */
  pulledLayerBytes = 0;

  constructor(private readonly d: ImageServiceDeps) {
    // The config normalised these already.
    this.pinned = new Set(d.registryConfig.pinned);
  }

  /** Containers are built after images; from then on GC keeps the layers they use. */
  useLayerUsers(users: LayerUsers): void {
    this.layerUsers = users;
  }

  private parse(text: string): ImageReference {
    return parseReference(text, { defaultRegistry: this.d.registryConfig.defaultRegistry });
  }

  view(record: ImageRecord): ImageView {
    return {
      record,
      pinned: [...record.repoTags, ...record.repoDigests].some((r) => this.pinned.has(r)),
      user: imageUser(record.config.user),
    };
  }

  /** Pulls `name` unless a pull of the same reference is under way, which it then joins. */
  pull(ctx: OpContext, name: string, auth?: PullAuth): Promise<ImageView> {
    const ref = this.parse(name);
    return this.pulls.run(ref.toString(), () => this.pullOnce(ctx, ref, auth));
  }

  private async pullOnce(ctx: OpContext, ref: ImageReference, auth?: PullAuth): Promise<ImageView> {
    const resolved = await this.d.registry.resolve(ctx, ref, auth);
    try {
      return await this.pullResolved(ctx, ref, resolved, auth);
    } catch (e) {
      // A refused pull may have completed some of its layers and stored its manifest and config:
      // nothing refers to them, and without a collection now they would stay until some
      // RemoveImage (a registry that keeps serving a refused image would fill the disk).
      await this.mutations.run('images', () => this.collectGarbage(ctx)).catch((g: unknown) => {
        ctx.log.warn('garbage collection after a failed pull failed', { error: toSkiffError(g).message });
      });
      throw e;
    }
  }

  private async pullResolved(ctx: OpContext, ref: ImageReference, resolved: ResolvedImage, auth?: PullAuth): Promise<ImageView> {
    const started = Date.now();
    const downloaded = new Set<Digest>();
    // The small blobs are stored before install() leases the image: keep another pull's failure
    // (which collects garbage) off them meanwhile.
    const lease = Symbol(ref.toString());
    const small = [resolved.manifestDigest, resolved.manifest.config.digest, ...(resolved.indexDigest ? [resolved.indexDigest] : [])];
    this.leases.set(lease, new Set(small));
    try {
      await this.storeSmallBlobs(resolved);
      const tag = ref.tag !== undefined && ref.digest === undefined ? `${ref.name}:${ref.tag}` : undefined;
      const record = await this.install(
        ctx,
        {
          what: ref.toString(),
          repoTags: tag ? [tag] : [],
          repoDigests: [`${ref.name}@${resolved.repoDigest}`],
          manifestDigest: resolved.manifestDigest,
          manifestSize: resolved.manifestBytes.length,
          configDigest: resolved.manifest.config.digest,
          configBytes: resolved.configBytes,
          layers: resolved.manifest.layers,
        },
        async (digest, layerCtx) => {
          downloaded.add(digest);
          return (await this.d.registry.openBlob(layerCtx, resolved, digest, auth)).stream;
        },
      );
      // Counted once the layers are verified and installed, from the manifest's sizes: no counting
      // stream in the pull's hot path, and a failed pull counts nothing.
      for (const l of resolved.manifest.layers) if (downloaded.has(l.digest)) this.pulledLayerBytes += l.size;
      ctx.log.info('image pulled', {
        image: ref.toString(),
        id: record.id,
        endpoint: resolved.endpoint.url,
        layers: record.layers.length,
        bytes: record.size,
        ms: Date.now() - started,
      });
      return this.view(record);
    } finally {
      this.leases.delete(lease);
    }
  }

  /**
   * Loads the images of an OCI or docker-save archive (air-gapped nodes). Blobs the archive holds
   * for other platforms are collected afterwards, and so is all it stored when it is refused.
   */
  async importArchive(ctx: OpContext, file: string): Promise<ImageView[]> {
    try {
      const images = await readImageArchive(ctx, file, this.d.content, {
        defaultRegistry: this.d.registryConfig.defaultRegistry,
        limits: this.d.limits,
      });
      const out: ImageView[] = [];
      for (const img of images) {
        const record = await this.install(
          ctx,
          {
            what: `${file} (${img.configDigest})`,
            repoTags: img.tags,
            repoDigests: img.tags.map((t) => `${this.parse(t).name}@${img.manifestDigest}`),
            manifestDigest: img.manifestDigest,
            manifestSize: img.manifestBytes.length,
            configDigest: img.configDigest,
            configBytes: img.configBytes,
            layers: img.layers,
          },
          (digest) => this.d.content.openRead(digest),
        );
        out.push(this.view(record));
      }
      ctx.log.info('images imported', { file, images: out.map((v) => v.record.id) });
      return out;
    } finally {
      await this.mutations.run('images', () => this.collectGarbage(ctx));
    }
  }

  /**
   * Unpacks the layers (downloading through `open` what is not stored yet) and writes the record,
   * adding these tags and digests to whatever the image already had.
   */
  private async install(
    ctx: OpContext,
    img: InstallSpec,
    /** `layerCtx` is cancelled when another layer of the image fails. */
    open: (digest: Digest, layerCtx: OpContext) => Promise<Readable>,
  ): Promise<ImageRecord> {
    const config = parseImageConfig(img.configBytes);
    if (config.diffIds.length !== img.layers.length) {
      throw internal(
        `image ${img.what}: the manifest has ${img.layers.length} layers but the config lists ${config.diffIds.length} diff ids`,
      );
    }
    const chain = chainIds(config.diffIds);
    const layers: LayerRecord[] = img.layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      diffId: config.diffIds[i] as Digest,
      chainId: chain[i] as Digest,
    }));
    // Until the record exists, nothing refers to these blobs and layers: keep GC off them.
    const lease = Symbol(img.what);
    this.leases.set(lease, new Set([img.configDigest, img.manifestDigest, ...layers.flatMap((l) => [l.digest, l.chainId])]));
    try {
      // Layers stack on their parents only at mount time, so all of them can unpack at once. The
      // first failure stops the others: the pull has failed, their bandwidth is wasted.
      const stopOthers = new AbortController();
      const layerCtx: OpContext = { ...ctx, signal: AbortSignal.any([ctx.signal, stopOthers.signal]) };
      // The image's size cap, over all its layers, whether they are on the node already or not.
      const budget = new ImageBudget(this.d.limits.maxImageBytes);
      await forEachLimit(img.layers, LAYER_PARALLELISM, stopOthers, async (l, i) => {
        const rec = layers[i] as LayerRecord;
        const parentChainId = i > 0 ? chain[i - 1] : undefined;
        await pullLayer(
          layerCtx,
          { content: this.d.content, layers: this.d.layers, sys: this.d.sys, limits: this.d.limits, budget },
          {
            digest: l.digest,
            size: l.size,
            compression: l.compression,
            diffId: rec.diffId,
            chainId: rec.chainId,
            ...(parentChainId ? { parentChainId } : {}),
          },
          () => open(l.digest, layerCtx),
        );
      });
      const size = layers.reduce((n, l) => n + l.size, 0) + img.configBytes.length + img.manifestSize;
      return await this.mutations.run('images', async () => {
        const prev = this.d.images.get(img.configDigest);
        const next: ImageRecord = {
          id: img.configDigest,
          repoTags: union(prev?.repoTags, img.repoTags),
          repoDigests: union(prev?.repoDigests, img.repoDigests),
          manifestDigest: img.manifestDigest,
          size,
          layers,
          config: config.runtime,
          architecture: config.architecture,
          os: config.os,
          pulledAt: new Date().toISOString(),
        };
        await this.d.images.put(next);
        return next;
      });
    } finally {
      this.leases.delete(lease);
    }
  }

  /**
   * Keeps garbage collection off the layers of `record` until the returned release is called: for
   * a CreateContainer between finding its image and having its record (from then on layersInUse
   * covers it). A RemoveImage meanwhile untags and deletes the image record, but its layers stay.
   */
  leaseLayers(record: ImageRecord, what: string): () => void {
    const lease = Symbol(what);
    this.leases.set(lease, new Set(record.layers.map((l) => l.chainId)));
    return () => void this.leases.delete(lease);
  }

  /** Manifest, index and config go to the content store too, so GC and import see one model. */
  private async storeSmallBlobs(resolved: ResolvedImage): Promise<void> {
    const blobs: [Buffer, Digest][] = [
      [resolved.manifestBytes, resolved.manifestDigest],
      [resolved.configBytes, resolved.manifest.config.digest],
    ];
    if (resolved.indexBytes && resolved.indexDigest) blobs.push([resolved.indexBytes, resolved.indexDigest]);
    for (const [bytes, digest] of blobs) {
      const got = await this.d.content.putBuffer(bytes);
      if (got !== digest) throw internal(`blob digest mismatch: expected ${digest}, stored ${got}`);
    }
  }

  /** By id (full, bare hex, or unique prefix), tag or digest reference. Undefined when absent. */
  find(text: string): ImageView | undefined {
    const f = this.lookup(text);
    return f ? this.view(f.record) : undefined;
  }

  private lookup(text: string): Found | undefined {
    if (HEX64.test(text)) {
      const r = this.d.images.byIdOrPrefix(text);
      return r ? { record: r, via: 'id' } : undefined;
    }
    let ref: ImageReference | undefined;
    try {
      ref = this.parse(text);
    } catch (e) {
      if (!(isKind(e, 'InvalidArgument') && HEX_PREFIX.test(text))) throw e;
    }
    if (ref) {
      if (ref.digest !== undefined) {
        const key = `${ref.name}@${ref.digest}`;
        const r =
          this.d.images.byReference(key) ??
          this.d.images.all().find((i) => i.manifestDigest === ref.digest && i.repoDigests.some((d) => d.startsWith(`${ref.name}@`)));
        if (r) return { record: r, via: 'digest', ref: key };
      } else {
        const key = `${ref.name}:${ref.tag ?? 'latest'}`;
        const r = this.d.images.byReference(key);
        if (r) return { record: r, via: 'tag', ref: key };
      }
    }
    if (HEX_PREFIX.test(text)) {
      const r = this.d.images.byIdOrPrefix(text);
      if (r) return { record: r, via: 'id' };
    }
    return undefined;
  }

  list(filter?: string): ImageView[] {
    if (filter) {
      const f = this.find(filter);
      return f ? [f] : [];
    }
    return this.d.images.all().map((r) => this.view(r));
  }

  /**
   * Removes what `text` names. A tag of an image that has other tags is only untagged; an id, a
   * digest or the last tag removes the image, and then blobs and layers no image (and no container)
   * uses any more. Removing an absent image succeeds.
   */
  async remove(ctx: OpContext, text: string): Promise<void> {
    await this.mutations.run('images', async () => {
      const f = this.lookup(text);
      if (!f) return;
      if (f.via === 'tag' && f.record.repoTags.length > 1) {
        await this.d.images.put({ ...f.record, repoTags: f.record.repoTags.filter((t) => t !== f.ref) });
        ctx.log.info('image untagged', { image: f.ref, id: f.record.id });
        return;
      }
      await this.d.images.delete(f.record.id);
      ctx.log.info('image removed', { image: text, id: f.record.id });
      await this.collectGarbage(ctx);
    });
  }

  /** Deletes blobs and layers that no image and no container refers to. */
  private async collectGarbage(ctx: OpContext): Promise<void> {
    const liveBlobs = new Set<string>();
    const liveLayers = new Set<string>(this.layerUsers?.layersInUse() ?? []);
    for (const lease of this.leases.values()) {
      for (const x of lease) {
        liveBlobs.add(x);
        liveLayers.add(x);
      }
    }
    for (const r of this.d.images.all()) {
      liveBlobs.add(r.id);
      liveBlobs.add(r.manifestDigest);
      for (const d of r.repoDigests) liveBlobs.add(d.slice(d.indexOf('@') + 1));
      for (const l of r.layers) {
        liveBlobs.add(l.digest);
        liveLayers.add(l.chainId);
      }
    }
    let blobs = 0;
    let layers = 0;
    try {
      for (const d of await this.d.content.list()) {
        if (!liveBlobs.has(d)) {
          await this.d.content.delete(d);
          blobs++;
        }
      }
      // Top layers first: a layer is removed only after the layers stacked on it.
      const doomed = this.d.layers.list().filter((l) => !liveLayers.has(l.chainId));
      for (const l of doomed.reverse()) {
        await this.d.layers.remove(l.chainId);
        layers++;
      }
    } catch (e) {
      // The image is gone either way; what is left is found again by the next collection.
      ctx.log.warn('garbage collection incomplete', { error: toSkiffError(e).message });
    }
    if (blobs || layers) ctx.log.info('garbage collected', { blobs, layers });
  }

  verboseInfo(v: ImageView): Record<string, string> {
    const r = v.record;
    return {
      info: JSON.stringify({
        id: r.id,
        manifestDigest: r.manifestDigest,
        repoTags: r.repoTags,
        repoDigests: r.repoDigests,
        pinned: v.pinned,
        architecture: r.architecture,
        os: r.os,
        pulledAt: r.pulledAt,
        layers: r.layers,
        imageSpec: { config: r.config },
      }),
    };
  }

  /** Bytes and inodes of stored blobs and unpacked layers, from the stores' in-memory counts. */
  fsUsage(): FsUsage {
    const c = this.d.content.usage();
    const l = this.d.layers.usage();
    return {
      timestampNs: BigInt(Date.now()) * 1_000_000n,
      mountpoint: this.d.fsMountpoint,
      usedBytes: BigInt(c.bytes + l.bytes),
      inodesUsed: BigInt(c.inodes + l.inodes),
    };
  }
}

function union(list: readonly string[] | undefined, add: readonly string[]): string[] {
  const out = [...(list ?? [])];
  for (const a of add) if (!out.includes(a)) out.push(a);
  return out;
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  onFailure: AbortController,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (e) {
        if (failed === undefined) {
          failed = e;
          onFailure.abort(e);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
