// Image configs, manifests and indexes, in OCI or Docker schema 2 media types. The bytes built
// here are the bytes pushed, so the digests returned are the ones the registry will report.
import {
  DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, FIXED_TIME, OCI_LAYER_GZIP, OCI_LAYER_TAR, sha256,
  type LayerBlob,
} from './tar-layer.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

export type MediaTypes = 'oci' | 'docker';

export interface ImageConfigInput {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface BuildImageOptions {
  layers: LayerBlob[];
  config?: ImageConfigInput;
  mediaTypes?: MediaTypes;
  /** GOARCH; defaults to this machine's. */
  arch?: string;
  variant?: string;
  /** One created_by line per layer, for the history. */
  createdBy?: string[];
}

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  config: Buffer;
  configDigest: string;
  configMediaType: string;
  layers: LayerBlob[];
  platform: Platform;
}

export interface BuiltIndex {
  index: Buffer;
  digest: string;
  mediaType: string;
  images: BuiltImage[];
}

const GOARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** This machine's platform as registries name it. */
export function hostPlatform(): Platform {
  const architecture = GOARCH[process.arch] ?? process.arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') return { os: 'linux', architecture, variant: 'v7' };
  return { os: 'linux', architecture };
}

export function layerMediaType(layer: LayerBlob, mediaTypes: MediaTypes): string {
  if (mediaTypes === 'oci') return layer.gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR;
  return layer.gzip ? DOCKER_LAYER_GZIP : DOCKER_LAYER_TAR;
}

export function buildImage(opts: BuildImageOptions): BuiltImage {
  const mediaTypes = opts.mediaTypes ?? 'oci';
  const host = hostPlatform();
  const platform: Platform =
    opts.arch === undefined || opts.arch === host.architecture
      ? { ...host, ...(opts.variant ? { variant: opts.variant } : {}) }
      : { os: 'linux', architecture: opts.arch, ...(opts.variant ? { variant: opts.variant } : {}) };
  const created = FIXED_TIME.toISOString();
  const imageConfig = {
    created,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: { ...(opts.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffId) },
    history: opts.layers.map((_, i) => ({
      created,
      created_by: opts.createdBy?.[i] ?? `skiff-test layer ${i}`,
    })),
  };
  const config = Buffer.from(JSON.stringify(imageConfig));
  const configDigest = sha256(config);
  const manifestMediaType = mediaTypes === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
  const configMediaType = mediaTypes === 'oci' ? OCI_CONFIG : DOCKER_CONFIG;
  const manifestObj = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { mediaType: configMediaType, digest: configDigest, size: config.length },
    layers: opts.layers.map((l) => ({
      mediaType: layerMediaType(l, mediaTypes),
      digest: l.digest,
      size: l.size,
    })),
  };
  const manifest = Buffer.from(JSON.stringify(manifestObj, null, 2));
  return {
    manifest,
    manifestDigest: sha256(manifest),
    manifestMediaType,
    config,
    configDigest,
    configMediaType,
    layers: opts.layers,
    platform,
  };
}

/** An OCI index or Docker manifest list over images whose media types agree. */
export function buildIndex(images: BuiltImage[]): BuiltIndex {
  if (images.length === 0) throw new Error('an index needs at least one image');
  const docker = images[0]!.manifestMediaType === DOCKER_MANIFEST;
  if (images.some((i) => (i.manifestMediaType === DOCKER_MANIFEST) !== docker)) {
    throw new Error('an index cannot mix OCI and Docker manifests');
  }
  const mediaType = docker ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const obj = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((i) => ({
      mediaType: i.manifestMediaType,
      digest: i.manifestDigest,
      size: i.manifest.length,
      platform: i.platform,
    })),
  };
  const index = Buffer.from(JSON.stringify(obj, null, 2));
  return { index, digest: sha256(index), mediaType, images };
}
