// The image service behind the CRI ImageService: pull (registry → content → layers → record),
// look-up by tag, digest or id, list, remove with garbage collection, and disk usage. List, status
// and usage answer from memory.
import type { Readable } from 'node:stream';
import type { RegistryConfig } from '../../config/registry.js';
import type { ContentStore } from '../../storage/content/store.js';
import type { LayerStore } from '../../storage/layers/layer-store.js';
import { chainIds } from '../../storage/layers/layer-store.js';
import { pullLayer } from '../../storage/layers/pull-layer.js';
import type { RegistryClient, ResolvedImage } from '../../storage/registry/client.js';
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
  readonly registry: RegistryClient;
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly sys: Sys;
  /** Reported as the image filesystem's mountpoint (kubelet finds the device from it). */
  readonly fsMountpoint: string;
  readonly layerUsers?: LayerUsers;
}

/** Layers of one image downloaded at once: enough to fill a link, few enough not to thrash disk. */
const LAYER_PARALLELISM = 3;
const HEX64 = /^(sha256:)?[0-9a-f]{64}$/;
const HEX_PREFIX = /^[0-9a-f]{3,63}$/;

type Found = { record: ImageRecord; via: 'id' | 'tag' | 'digest'; ref?: string };

export class ImageService {
  private readonly pulls = new SingleFlight<string, ImageView>();
  /** Record changes (retag, untag, delete + GC) happen one at a time. */
  private readonly mutations = new KeyedMutex<'images'>();
  private readonly pinned: ReadonlySet<string>;

  constructor(private readonly d: ImageServiceDeps) {
    // The config normalised these already.
    this.pinned = new Set(d.registryConfig.pinned);
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
    const started = Date.now();
    const resolved = await this.d.registry.resolve(ctx, ref, auth);
    const config = parseImageConfig(resolved.configBytes);
    const manifestLayers = resolved.manifest.layers;
    if (config.diffIds.length !== manifestLayers.length) {
      throw internal(
        `image ${ref}: the manifest has ${manifestLayers.length} layers but the config lists ${config.diffIds.length} diff ids`,
      );
    }
    const chain = chainIds(config.diffIds);
    await this.storeSmallBlobs(resolved);

    const layers: LayerRecord[] = manifestLayers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      diffId: config.diffIds[i] as Digest,
      chainId: chain[i] as Digest,
    }));
    // Layers stack on their parents only at mount time, so all of them can unpack at once.
    await forEachLimit(manifestLayers, LAYER_PARALLELISM, async (l, i) => {
      const rec = layers[i] as LayerRecord;
      const parentChainId = i > 0 ? chain[i - 1] : undefined;
      await pullLayer(
        ctx,
        { content: this.d.content, layers: this.d.layers, sys: this.d.sys },
        {
          digest: l.digest,
          size: l.size,
          compression: l.compression,
          diffId: rec.diffId,
          chainId: rec.chainId,
          ...(parentChainId ? { parentChainId } : {}),
        },
        async (): Promise<Readable> => (await this.d.registry.openBlob(ctx, resolved, l.digest, auth)).stream,
      );
    });

    const id = resolved.manifest.config.digest;
    const size =
      layers.reduce((n, l) => n + l.size, 0) + resolved.configBytes.length + resolved.manifestBytes.length;
    const record = await this.mutations.run('images', async () => {
      const prev = this.d.images.get(id);
      const tag = ref.tag !== undefined && ref.digest === undefined ? `${ref.name}:${ref.tag}` : undefined;
      const repoDigest = `${ref.name}@${resolved.repoDigest}`;
      const next: ImageRecord = {
        id,
        repoTags: union(prev?.repoTags, tag),
        repoDigests: union(prev?.repoDigests, repoDigest),
        manifestDigest: resolved.manifestDigest,
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
    ctx.log.info('image pulled', {
      image: ref.toString(),
      id,
      endpoint: resolved.endpoint.url,
      layers: layers.length,
      bytes: size,
      ms: Date.now() - started,
    });
    return this.view(record);
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
    const liveLayers = new Set<string>(this.d.layerUsers?.layersInUse() ?? []);
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

function union(list: readonly string[] | undefined, add: string | undefined): string[] {
  const out = [...(list ?? [])];
  if (add !== undefined && !out.includes(add)) out.push(add);
  return out;
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
