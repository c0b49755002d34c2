// Manifests, indexes and image configs as a registry (or an archive) serves them: untrusted JSON.
import fc from 'fast-check';
import { isDigest } from '../../../src/core/ids.js';
import { imageUser, parseImageConfig } from '../../../src/storage/images/image-config.js';
import { MEDIA_TYPES, parseManifest, type Descriptor } from '../../../src/storage/registry/manifest.js';
import { hostPlatform, selectPlatform } from '../../../src/storage/registry/platform.js';
import { editedJson, jsonBytes, jsonValue, type Json } from '../harness/json-gen.js';
import { inputMix } from '../harness/mutate.js';
import { skiffKinds, violation, type FuzzTarget } from '../harness/target.js';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const D3 = `sha256:${'c'.repeat(64)}`;

const MANIFEST_KEYS = [
  'schemaVersion', 'mediaType', 'config', 'layers', 'manifests', 'digest', 'size', 'urls', 'annotations', 'platform',
  'os', 'architecture', 'variant', 'os.version', 'features', 'subject', 'artifactType', '__proto__', 'constructor',
];
const MANIFEST_WORDS = [
  ...Object.values(MEDIA_TYPES), 'application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  D1, D2, 'sha512:abc', 'sha256:', 'linux', 'windows', 'amd64', 'arm64', 'arm', 'x86_64', 'v7', 'v8', 'v6', 'unknown',
];

const layer = (digest: string, size: number) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size });
const MANIFEST_SEEDS: Json[] = [
  { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, digest: D1, size: 1469 }, layers: [layer(D2, 2_000_000), layer(D3, 3)], annotations: { 'org.opencontainers.image.created': '2024-01-01' } },
  { schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: MEDIA_TYPES.dockerConfig, digest: D1, size: 7 }, layers: [{ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: D2, size: 9, urls: ['https://example.invalid/x'] }] },
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      { mediaType: MEDIA_TYPES.ociManifest, digest: D1, size: 500, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MEDIA_TYPES.ociManifest, digest: D2, size: 500, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: MEDIA_TYPES.ociManifest, digest: D3, size: 500, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' }, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  },
  { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.dockerManifest, digest: D1, size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }] },
  { schemaVersion: 1, name: 'library/busybox', tag: 'latest', fsLayers: [{ blobSum: D1 }] },
  { schemaVersion: 2, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: D1, size: 1 }, layers: [] },
];

const CONTENT_TYPES = [undefined, 'application/json', MEDIA_TYPES.ociIndex, `${MEDIA_TYPES.dockerManifest}; charset=utf-8`, 'text/plain'];

function checkDescriptor(d: Descriptor, where: string): void {
  if (typeof d.mediaType !== 'string' || d.mediaType === '') violation(`${where}: empty media type accepted`);
  if (!isDigest(d.digest)) violation(`${where}: digest ${JSON.stringify(d.digest)} accepted`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) violation(`${where}: size ${d.size} accepted`);
  if (d.urls && !d.urls.every((u) => typeof u === 'string')) violation(`${where}: non-string url accepted`);
  if (d.annotations && !Object.values(d.annotations).every((v) => typeof v === 'string')) violation(`${where}: non-string annotation`);
  if (d.platform && (typeof d.platform.os !== 'string' || typeof d.platform.architecture !== 'string')) violation(`${where}: bad platform accepted`);
}

export const manifestTarget: FuzzTarget = {
  name: 'manifest',
  about: 'storage/registry/manifest.ts parseManifest (+ platform selection): an index or image manifest, or InvalidArgument / FailedPrecondition',
  smokeRuns: 400,
  inputs: async () =>
    inputMix({
      structured: jsonBytes(fc.oneof(editedJson(MANIFEST_SEEDS, MANIFEST_KEYS, MANIFEST_WORDS), jsonValue(MANIFEST_KEYS, MANIFEST_WORDS))),
      seeds: MANIFEST_SEEDS.map((d) => Buffer.from(JSON.stringify(d))),
      maxLength: 64 * 1024,
    }),
  run: (input) => {
    const parsed = parseManifest(input, CONTENT_TYPES[input.length % CONTENT_TYPES.length], 'fuzz');
    if (parsed.kind === 'index') {
      parsed.index.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`));
      selectPlatform(parsed.index.manifests, hostPlatform());
      selectPlatform(parsed.index.manifests, hostPlatform('arm', 6));
      return;
    }
    const m = parsed.manifest;
    checkDescriptor(m.config, 'config');
    if (m.config.mediaType !== MEDIA_TYPES.ociConfig && m.config.mediaType !== MEDIA_TYPES.dockerConfig) violation(`config media type ${m.config.mediaType} accepted`);
    m.layers.forEach((l, i) => {
      checkDescriptor(l, `layers[${i}]`);
      if (!['gzip', 'none', 'zstd'].includes(l.compression)) violation(`layers[${i}]: compression ${l.compression}`);
    });
  },
  accepts: skiffKinds('InvalidArgument', 'FailedPrecondition'),
};

const CONFIG_KEYS = [
  'architecture', 'os', 'rootfs', 'type', 'diff_ids', 'config', 'User', 'Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'StopSignal',
  'Labels', 'ExposedPorts', 'Volumes', 'history', 'created', 'variant', '__proto__',
];
const CONFIG_WORDS = ['layers', D1, D2, 'sha256:zz', 'linux', 'amd64', 'root', '1000:1000', 'nginx', 'PATH=/bin', 'SIGTERM', '80/tcp'];
const CONFIG_SEEDS: Json[] = [
  {
    architecture: 'amd64', os: 'linux',
    config: { User: '1000:1000', Env: ['PATH=/usr/bin'], Entrypoint: ['/bin/sh'], Cmd: ['-c', 'true'], WorkingDir: '/', Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGQUIT' },
    rootfs: { type: 'layers', diff_ids: [D1, D2] },
    history: [{ created_by: 'x' }],
  },
  { architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: null },
];

export const imageConfigTarget: FuzzTarget = {
  name: 'image-config',
  about: 'storage/images/image-config.ts parseImageConfig: a config, or a SkiffError (Internal, as it is written today)',
  smokeRuns: 400,
  inputs: async () =>
    inputMix({
      structured: jsonBytes(fc.oneof(editedJson(CONFIG_SEEDS, CONFIG_KEYS, CONFIG_WORDS), jsonValue(CONFIG_KEYS, CONFIG_WORDS))),
      seeds: CONFIG_SEEDS.map((d) => Buffer.from(JSON.stringify(d))),
      maxLength: 64 * 1024,
    }),
  run: (input) => {
    const c = parseImageConfig(input);
    if (!c.diffIds.every(isDigest)) violation('a diff id that is not a digest was accepted');
    const r = c.runtime;
    for (const list of [r.env, r.entrypoint, r.cmd, r.exposedPorts, r.volumes]) {
      if (!list.every((s) => typeof s === 'string')) violation('a non-string in a string list');
    }
    if (!Object.values(r.labels).every((v) => typeof v === 'string')) violation('a non-string label');
    imageUser(r.user);
  },
  accepts: skiffKinds('Internal', 'InvalidArgument'),
};
