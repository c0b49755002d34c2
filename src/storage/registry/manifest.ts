// Manifests and indexes as registries serve them (OCI image spec and Docker schema 2): media types,
// type guards for the untyped JSON, and what each layer's compression is.
import { failedPrecondition, invalidArgument, SkiffError } from '../../core/errors.js';
import { isDigest, type Digest } from '../../core/ids.js';
import type { Platform } from './platform.js';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** The Accept header of a manifest GET: everything we can turn into an image, best first. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

export type Compression = 'gzip' | 'none' | 'zstd';

/** Layer media types we can unpack. Non-distributable ("foreign") layers carry `urls`. */
const LAYER_TYPES: Readonly<Record<string, Compression>> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  /** Alternative download locations (foreign layers); tried only if the registry lacks the blob. */
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** Only in index entries. */
  readonly platform?: Platform;
}

export interface LayerDescriptor extends Descriptor {
  readonly compression: Compression;
}

export interface ImageManifest {
  readonly mediaType: string;
  readonly config: Descriptor;
  /** Base layer first. */
  readonly layers: readonly LayerDescriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

export type ParsedManifest = { readonly kind: 'index'; readonly index: ImageIndex } | { readonly kind: 'manifest'; readonly manifest: ImageManifest };

export function isIndexMediaType(t: string): boolean {
  return t === MEDIA_TYPES.ociIndex || t === MEDIA_TYPES.dockerManifestList;
}

export function isManifestMediaType(t: string): boolean {
  return t === MEDIA_TYPES.ociManifest || t === MEDIA_TYPES.dockerManifest;
}

export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_TYPES[mediaType];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(what: string, problem: string): SkiffError {
  return invalidArgument(`${what}: invalid manifest: ${problem}`);
}

function stringMap(v: unknown, what: string, field: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) throw bad(what, `${field} must map strings to strings`);
  return v as Record<string, string>;
}

function platformOf(v: unknown, what: string, field: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || typeof v.os !== 'string' || typeof v.architecture !== 'string' || (v.variant !== undefined && typeof v.variant !== 'string')) {
    throw bad(what, `${field}.platform needs string os and architecture`);
  }
  return v.variant === undefined ? { os: v.os, architecture: v.architecture } : { os: v.os, architecture: v.architecture, variant: v.variant };
}

export function parseDescriptor(v: unknown, what: string, field: string): Descriptor {
  if (!isObject(v)) throw bad(what, `${field} must be an object`);
  const { mediaType, digest, size, urls } = v;
  if (typeof mediaType !== 'string' || mediaType === '') throw bad(what, `${field}.mediaType must be a string`);
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw bad(what, `${field}.digest ${JSON.stringify(digest)} is not a sha256 digest (other algorithms are not supported)`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(what, `${field}.size must be a non-negative integer`);
  if (urls !== undefined && !(Array.isArray(urls) && urls.every((u) => typeof u === 'string'))) throw bad(what, `${field}.urls must be strings`);
  const annotations = stringMap(v.annotations, what, `${field}.annotations`);
  const platform = platformOf(v.platform, what, field);
  return {
    mediaType,
    digest,
    size,
    ...(urls === undefined ? {} : { urls: urls as string[] }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(platform === undefined ? {} : { platform }),
  };
}

/** Body mediaType wins over Content-Type (registries often say application/json); then the shape. */
function mediaTypeOf(doc: Json, contentType: string | undefined): string {
  if (typeof doc.mediaType === 'string' && doc.mediaType !== '') return doc.mediaType;
  const header = contentType?.split(';')[0]?.trim().toLowerCase();
  if (header !== undefined && header !== '' && header !== 'application/json' && header !== 'text/plain') return header;
  if (doc.schemaVersion === 1) return MEDIA_TYPES.dockerSchema1;
  if (Array.isArray(doc.manifests)) return MEDIA_TYPES.ociIndex;
  if (isObject(doc.config) && Array.isArray(doc.layers)) return MEDIA_TYPES.ociManifest;
  return header ?? '(none)';
}

/**
 * Parses manifest bytes into an index or an image manifest. Schema 1 (deprecated, unsigned
 * content) and non-image artifacts are FailedPrecondition; malformed JSON is InvalidArgument.
 * `what` names the manifest in messages ("docker.io/library/busybox:latest").
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalidArgument(`${what}: manifest is not JSON`, e);
  }
  if (!isObject(doc)) throw bad(what, 'not a JSON object');
  const mediaType = mediaTypeOf(doc, contentType);
  if (mediaType === MEDIA_TYPES.dockerSchema1 || mediaType === MEDIA_TYPES.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw failedPrecondition(`${what}: Docker image manifest schema 1 is not supported (deprecated); push the image again with a current docker or buildkit`);
  }
  if (doc.schemaVersion !== 2) throw bad(what, `schemaVersion must be 2; got ${JSON.stringify(doc.schemaVersion)}`);

  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw bad(what, 'index without a manifests list');
    const manifests = doc.manifests.map((m, i) => parseDescriptor(m, what, `manifests[${i}]`));
    return { kind: 'index', index: { mediaType, manifests } };
  }
  if (!isManifestMediaType(mediaType)) {
    throw failedPrecondition(`${what}: unsupported manifest media type ${JSON.stringify(mediaType)}: not a container image`);
  }
  const config = parseDescriptor(doc.config, what, 'config');
  if (config.mediaType !== MEDIA_TYPES.ociConfig && config.mediaType !== MEDIA_TYPES.dockerConfig) {
    throw failedPrecondition(`${what}: config media type ${JSON.stringify(config.mediaType)} is not a container image config (an OCI artifact?)`);
  }
  if (!Array.isArray(doc.layers)) throw bad(what, 'manifest without a layers list');
  const layers = doc.layers.map((l, i): LayerDescriptor => {
    const d = parseDescriptor(l, what, `layers[${i}]`);
    const compression = layerCompression(d.mediaType);
    if (compression === undefined) throw failedPrecondition(`${what}: layer ${d.digest} has unsupported media type ${JSON.stringify(d.mediaType)}`);
    return { ...d, compression };
  });
  const annotations = stringMap(doc.annotations, what, 'annotations');
  return { kind: 'manifest', manifest: { mediaType, config, layers, ...(annotations === undefined ? {} : { annotations }) } };
}
