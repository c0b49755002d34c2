// docker-save archives: manifest.json lists each image's config and layer files by path: older
// docker writes `<id>.json` and `<id>/layer.tar` (plain tars), docker 25+ points into its OCI
// layout (`blobs/sha256/<hex>`, plain or gzipped). There is no image manifest, so one is made
// here, and stored, so that every image has a manifest digest as pulled ones do.
import type { OpContext } from '../../core/context.js';
import type { Digest } from '../../core/ids.js';
import { sha256Digest, type ContentStore } from '../content/store.js';
import { MEDIA_TYPES, type Compression } from '../registry/manifest.js';
import type { ArchiveImage, ArchiveLayer, ArchiveOptions } from './archive.js';
import {
  addImage, archiveError, checkImageConfig, lookup, memberPath, normaliseTag, type Found, type ScannedArchive,
} from './archive-scan.js';

/** Docker has no zstd layer type: the OCI one is what buildx writes for zstd. */
const LAYER_MEDIA_TYPES: Readonly<Record<Compression, string>> = {
  none: 'application/vnd.docker.image.rootfs.diff.tar',
  gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

interface SaveEntry {
  readonly config: string;
  readonly repoTags: readonly string[];
  readonly layers: readonly string[];
}

export async function readDockerSave(
  ctx: OpContext,
  scan: ScannedArchive,
  content: ContentStore,
  opts: ArchiveOptions,
): Promise<ArchiveImage[]> {
  const entries = parseSaveManifest(scan);
  if (entries.length === 0) throw archiveError(scan.file, 'manifest.json lists no images');
  const images = new Map<Digest, ArchiveImage>();
  for (const [i, e] of entries.entries()) {
    const where = `manifest.json[${i}]`;
    const configPath = memberPath(scan.file, e.config, `${where}.Config`);
    const config = mustFind(scan, configPath, `${where}.Config`);
    const configBytes = 'bytes' in config ? config.bytes : await content.readBuffer(config.stored.digest);
    const configDigest = 'bytes' in config ? await content.putBuffer(config.bytes) : config.stored.digest;
    const diffIds = checkImageConfig(scan.file, configPath, configBytes, e.layers.length);

    const layers = e.layers.map((raw, j): ArchiveLayer => {
      const path = memberPath(scan.file, raw, `${where}.Layers[${j}]`);
      const found = mustFind(scan, path, `${where}.Layers[${j}]`);
      if (!('stored' in found)) throw archiveError(scan.file, `${where}.Layers[${j}]: ${path} is a JSON file, not a layer`);
      const { digest, size, compression } = found.stored;
      // A plain tar is its own diff id: a mismatch is a damaged or mixed-up archive.
      if (compression === 'none' && digest !== diffIds[j]) {
        throw archiveError(scan.file, `${path} hashes to ${digest}, but ${configPath} says layer ${j} is ${diffIds[j]}`);
      }
      return { digest, size, mediaType: LAYER_MEDIA_TYPES[compression], compression };
    });

    const manifestBytes = synthesiseManifest(configDigest, configBytes.length, layers);
    const manifestDigest = await content.putBuffer(manifestBytes);
    const image: ArchiveImage = { tags: [], manifestDigest, manifestBytes, configDigest, configBytes, layers };
    addImage(images, image, normaliseTags(ctx, scan.file, e.repoTags, opts));
  }
  return [...images.values()];
}

/**
 * Tags by config digest, for archives read as OCI layouts that also carry a manifest.json (docker
 * 25+). A manifest.json that cannot be used here costs only its tags, with a warning.
 */
export function dockerTagsByConfig(ctx: OpContext, scan: ScannedArchive, opts: ArchiveOptions): Map<Digest, string[]> {
  const out = new Map<Digest, string[]>();
  try {
    for (const e of parseSaveManifest(scan)) {
      const found = lookup(scan, memberPath(scan.file, e.config, 'manifest.json Config'));
      if (found === undefined) continue;
      const digest = 'bytes' in found ? sha256Digest(found.bytes) : found.stored.digest;
      out.set(digest, [...(out.get(digest) ?? []), ...normaliseTags(ctx, scan.file, e.repoTags, opts)]);
    }
  } catch (e) {
    ctx.log.warn(`image archive ${scan.file}: ignoring manifest.json: ${e instanceof Error ? e.message : String(e)}`);
  }
  return out;
}

function normaliseTags(ctx: OpContext, file: string, tags: readonly string[], opts: ArchiveOptions): string[] {
  return tags.flatMap((t) => normaliseTag(ctx, file, t, opts.defaultRegistry) ?? []);
}

function mustFind(scan: ScannedArchive, path: string, where: string): Found {
  const found = lookup(scan, path);
  if (found === undefined) throw archiveError(scan.file, `${where} references ${path}, which is not in the archive`);
  return found;
}

function parseSaveManifest(scan: ScannedArchive): SaveEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(scan.small.get('manifest.json')!.toString('utf8'));
  } catch (e) {
    throw archiveError(scan.file, 'manifest.json is not JSON', e);
  }
  if (!Array.isArray(doc)) throw archiveError(scan.file, 'manifest.json is not a list of images');
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  return doc.map((raw: unknown, i): SaveEntry => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const bad = (problem: string) => archiveError(scan.file, `manifest.json[${i}]: ${problem}`);
    if (typeof e.Config !== 'string' || e.Config === '') throw bad('Config must be a path');
    if (!strings(e.Layers)) throw bad('Layers must be a list of paths');
    // An untagged image has "RepoTags": null.
    if (e.RepoTags !== undefined && e.RepoTags !== null && !strings(e.RepoTags)) throw bad('RepoTags must be a list of names');
    return { config: e.Config, layers: e.Layers, repoTags: strings(e.RepoTags) ? e.RepoTags : [] };
  });
}

/** An OCI image manifest for the image; the same archive always gives the same bytes. */
function synthesiseManifest(configDigest: Digest, configSize: number, layers: readonly ArchiveLayer[]): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: configSize },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return Buffer.from(JSON.stringify(manifest));
}
