// OCI image layout archives: index.json → (nested indexes, narrowed to this node's platform) →
// image manifests, every blob under blobs/sha256/. Names come from the annotations of index.json's
// entries: containerd's io.containerd.image.name holds the full name; the OCI ref.name may be a
// full reference or only a tag, and a tag alone says nothing about the repository.
import type { OpContext } from '../../core/context.js';
import { failedPrecondition } from '../../core/errors.js';
import type { Digest } from '../../core/ids.js';
import type { ContentStore } from '../content/store.js';
import { isIndexMediaType, isManifestMediaType, parseManifest, type Descriptor } from '../registry/manifest.js';
import { formatPlatform, hostPlatform, selectPlatform, type Platform } from '../registry/platform.js';
import type { ArchiveImage, ArchiveOptions } from './archive.js';
import {
  addImage, archiveError, blobPath, checkImageConfig, lookup, normaliseTag, type ScannedArchive, type StoredMember,
} from './archive-scan.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const IMAGE_NAME = 'io.containerd.image.name';
/** An index of indexes of … : real images have at most two levels. */
const MAX_DEPTH = 4;

export async function readOciLayout(
  ctx: OpContext,
  scan: ScannedArchive,
  content: ContentStore,
  opts: ArchiveOptions,
): Promise<ArchiveImage[]> {
  checkLayoutVersion(scan);
  const parsed = parseManifest(scan.small.get('index.json')!, undefined, `image archive ${scan.file}: index.json`);
  if (parsed.kind !== 'index') throw archiveError(scan.file, 'index.json is an image manifest, not an image index');
  if (parsed.index.manifests.length === 0) throw archiveError(scan.file, 'index.json lists no images');

  const host = hostPlatform();
  const images = new Map<Digest, ArchiveImage>();
  const skipped: string[] = [];
  for (const group of groupEntries(parsed.index.manifests)) {
    const chosen = selectPlatform(group, host);
    const found = chosen === undefined ? `no entry for ${formatPlatform(host)}` : await resolve(scan, content, chosen, host, 0);
    if (typeof found === 'string') {
      skipped.push(`${nameOf(group[0]!) ?? group[0]!.digest}: ${found}`);
      continue;
    }
    const image = await loadImage(scan, content, found);
    addImage(images, image, tagsOf(ctx, scan.file, group[0]!, opts));
  }
  for (const s of skipped) ctx.log.warn(`image archive ${scan.file}: skipping ${s}`);
  if (images.size === 0) {
    throw failedPrecondition(`image archive ${scan.file}: no image in it runs on this node (${skipped.join('; ')})`);
  }
  return [...images.values()];
}

function checkLayoutVersion(scan: ScannedArchive): void {
  const bytes = scan.small.get('oci-layout');
  if (bytes === undefined) return; // some writers leave it out; index.json says enough
  let version: unknown;
  try {
    version = (JSON.parse(bytes.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (e) {
    throw archiveError(scan.file, 'oci-layout is not JSON', e);
  }
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw archiveError(scan.file, `oci-layout: unsupported imageLayoutVersion ${JSON.stringify(version)}, want 1.x`);
  }
}

/**
 * Entries of index.json that are one image: those that name the same image with a platform each
 * are its platforms (older buildx writes them so). Every other entry stands alone.
 */
function groupEntries(entries: readonly Descriptor[]): Descriptor[][] {
  const groups: Descriptor[][] = [];
  const byName = new Map<string, Descriptor[]>();
  for (const d of entries) {
    const name = nameOf(d);
    if (d.platform === undefined || name === undefined) {
      groups.push([d]);
      continue;
    }
    const group = byName.get(name);
    if (group) group.push(d);
    else {
      const fresh = [d];
      byName.set(name, fresh);
      groups.push(fresh);
    }
  }
  return groups;
}

function nameOf(d: Descriptor): string | undefined {
  return d.annotations?.[IMAGE_NAME] ?? d.annotations?.[REF_NAME];
}

function tagsOf(ctx: OpContext, file: string, d: Descriptor, opts: ArchiveOptions): string[] {
  const full = d.annotations?.[IMAGE_NAME];
  const ref = d.annotations?.[REF_NAME];
  let name: string | undefined;
  if (full !== undefined && full !== '') name = full;
  else if (ref !== undefined && ref !== '') {
    if (!/[/:@]/.test(ref)) {
      ctx.log.warn(
        `image archive ${file}: manifest ${d.digest} is named only by the tag ${JSON.stringify(ref)} ` +
          `(no ${IMAGE_NAME} annotation says its repository); importing it untagged`,
      );
      return [];
    }
    name = ref;
  }
  const tag = name === undefined ? undefined : normaliseTag(ctx, file, name, opts.defaultRegistry);
  return tag === undefined ? [] : [tag];
}

/** The image manifest `d` leads to on this platform, or why there is none. */
async function resolve(
  scan: ScannedArchive,
  content: ContentStore,
  d: Descriptor,
  host: Platform,
  depth: number,
): Promise<Descriptor | string> {
  if (isManifestMediaType(d.mediaType)) return d;
  if (!isIndexMediaType(d.mediaType)) return `${d.digest} has media type ${JSON.stringify(d.mediaType)}, not a container image`;
  if (depth >= MAX_DEPTH) throw archiveError(scan.file, `index ${d.digest}: indexes nested more than ${MAX_DEPTH} deep`);
  const bytes = await blobBytes(scan, content, d, depth === 0 ? 'index.json' : `an index`);
  const parsed = parseManifest(bytes, d.mediaType, `image archive ${scan.file}: index ${d.digest}`);
  if (parsed.kind !== 'index') throw archiveError(scan.file, `${blobPath(d.digest)} is not the index its descriptor says`);
  const entries = parsed.index.manifests.filter((m) => isManifestMediaType(m.mediaType) || isIndexMediaType(m.mediaType));
  const next = selectPlatform(entries, host);
  if (next === undefined) {
    const offered = entries.map((m) => (m.platform ? formatPlatform(m.platform) : '(no platform)')).join(', ');
    return `index ${d.digest} has no entry for ${formatPlatform(host)} (only ${offered || 'nothing'})`;
  }
  return resolve(scan, content, next, host, depth + 1);
}

async function loadImage(scan: ScannedArchive, content: ContentStore, d: Descriptor): Promise<ArchiveImage> {
  const what = `manifest ${d.digest}`;
  const manifestBytes = await blobBytes(scan, content, d, 'an index');
  const parsed = parseManifest(manifestBytes, d.mediaType, `image archive ${scan.file}: ${what}`);
  if (parsed.kind !== 'manifest') throw archiveError(scan.file, `${blobPath(d.digest)} is not the image manifest its descriptor says`);
  const { config, layers } = parsed.manifest;
  const configBytes = await blobBytes(scan, content, config, what);
  checkImageConfig(scan.file, `config ${config.digest}`, configBytes, layers.length);
  for (const l of layers) requireBlob(scan, l, what);
  return {
    tags: [],
    manifestDigest: d.digest,
    manifestBytes,
    configDigest: config.digest,
    configBytes,
    layers: layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, compression: l.compression })),
  };
}

/** The blob `d` names, which the archive must hold with the size `d` says. */
function requireBlob(scan: ScannedArchive, d: Descriptor, referrer: string): StoredMember {
  const path = blobPath(d.digest);
  const found = lookup(scan, path);
  if (found === undefined || !('stored' in found)) {
    throw archiveError(scan.file, `${referrer} references blob ${d.digest}, but ${path} is not in the archive`);
  }
  if (found.stored.size !== d.size) {
    throw archiveError(scan.file, `${path} is ${found.stored.size} bytes; ${referrer} says ${d.size}`);
  }
  return found.stored;
}

async function blobBytes(scan: ScannedArchive, content: ContentStore, d: Descriptor, referrer: string): Promise<Buffer> {
  requireBlob(scan, d, referrer);
  return content.readBuffer(d.digest);
}
