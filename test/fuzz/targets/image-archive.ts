// Image archives for `skiffd images import`: an OCI layout or a docker-save tarball, possibly
// gzipped, written by whoever produced the file. The generator builds real archives (blobs named
// by their true digests, manifests that reference them) and then edits their JSON, so inputs get
// past the digest checks and reach the format readers.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { silentLogger } from '../../../src/log/logger.js';
import type { ImagesConfig } from '../../../src/config/images.js';
import { ContentStore } from '../../../src/storage/content/store.js';
import { readImageArchive } from '../../../src/storage/images/archive.js';
import { MEDIA_TYPES } from '../../../src/storage/registry/manifest.js';
import { hostPlatform } from '../../../src/storage/registry/platform.js';
import { editedJson, type Json } from '../harness/json-gen.js';
import { inputMix } from '../harness/mutate.js';
import { scratch } from '../harness/scratch.js';
import { writeTar, type RawEntry } from '../harness/tar-writer.js';
import { skiffKinds, violation, type FuzzTarget } from '../harness/target.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEYS = ['schemaVersion', 'mediaType', 'config', 'layers', 'manifests', 'digest', 'size', 'annotations', 'platform', 'os', 'architecture', 'variant', 'rootfs', 'diff_ids', 'type', 'Config', 'RepoTags', 'Layers', 'imageLayoutVersion'];
const WORDS = [...Object.values(MEDIA_TYPES), 'application/vnd.oci.image.layer.v1.tar', 'layers', 'linux', 'amd64', 'arm64', 'busybox:1', 'docker.io/library/x:1', '../x', '/etc/passwd', 'blobs/sha256/', 'manifest.json', '1.0.0', 'io.containerd.image.name', 'org.opencontainers.image.ref.name'];

interface Plan {
  readonly format: 'oci' | 'docker' | 'both';
  readonly gzipLayer: boolean;
  readonly gzipArchive: boolean;
  readonly configEdits: Json | undefined;
  readonly manifestEdits: Json | undefined;
  readonly indexEdits: Json | undefined;
  readonly saveEdits: Json | undefined;
  readonly links: ReadonlyArray<readonly [string, string, boolean]>;
}

/** Replaces the document by the edited one when the plan has one (editedJson picks what changes). */
const maybeEdited = (doc: Json) => fc.option(editedJson([doc], KEYS, WORDS), { nil: undefined, freq: 2 });

function build(plan: Plan, docs: { config: Json; manifest: (c: string, cs: number, l: string, ls: number) => Json; index: (m: string, ms: number) => Json; save: (c: string, l: string) => Json }): Buffer {
  const layerTar = writeTar([{ name: 'etc/hello', type: '0', body: Buffer.from('hello\n') }]);
  const layerBlob = plan.gzipLayer ? gzipSync(layerTar) : layerTar;
  const configDoc = plan.configEdits ?? { ...(docs.config as object), rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layerTar)}`] } };
  const config = Buffer.from(JSON.stringify(configDoc));
  const manifest = Buffer.from(JSON.stringify(plan.manifestEdits ?? docs.manifest(sha(config), config.length, sha(layerBlob), layerBlob.length)));
  const index = Buffer.from(JSON.stringify(plan.indexEdits ?? docs.index(sha(manifest), manifest.length)));
  const save = Buffer.from(JSON.stringify(plan.saveEdits ?? docs.save(sha(config), sha(layerBlob))));
  const entries: RawEntry[] = [];
  const blob = (b: Buffer): RawEntry => ({ name: `blobs/sha256/${sha(b)}`, type: '0', body: b });
  if (plan.format !== 'docker') entries.push({ name: 'oci-layout', type: '0', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') }, blob(layerBlob), blob(config), blob(manifest), { name: 'index.json', type: '0', body: index });
  if (plan.format !== 'oci') entries.push({ name: `${sha(config)}.json`, type: '0', body: config }, { name: `${sha(layerBlob)}/layer.tar`, type: '0', body: layerBlob }, { name: 'manifest.json', type: '0', body: save });
  for (const [name, target, hard] of plan.links) entries.push({ name, type: hard ? '1' : '2', linkname: target });
  const tar = writeTar(entries);
  return plan.gzipArchive ? gzipSync(tar) : tar;
}

const host = hostPlatform();
const CONFIG: Json = { architecture: host.architecture, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } };
const docs = {
  config: CONFIG,
  manifest: (c: string, cs: number, l: string, ls: number): Json => ({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: `sha256:${c}`, size: cs },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${l}`, size: ls }],
  }),
  index: (m: string, ms: number): Json => ({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${m}`, size: ms, annotations: { 'io.containerd.image.name': 'docker.io/library/fuzz:1' }, platform: { os: 'linux', architecture: host.architecture } }],
  }),
  save: (c: string, l: string): Json => [{ Config: `${c}.json`, RepoTags: ['fuzz:1'], Layers: [`${l}/layer.tar`] }],
};

/** Edits are made on a document with placeholder digests; good enough to reach every check after the digest ones. */
const D = 'f'.repeat(64);
const plans: fc.Arbitrary<Plan> = fc.record({
  format: fc.constantFrom('oci' as const, 'docker' as const, 'both' as const),
  gzipLayer: fc.boolean(),
  gzipArchive: fc.boolean(),
  configEdits: maybeEdited(CONFIG),
  manifestEdits: maybeEdited(docs.manifest(D, 1, D, 1)),
  indexEdits: maybeEdited(docs.index(D, 1)),
  saveEdits: maybeEdited(docs.save(D, D)),
  links: fc.array(fc.tuple(fc.constantFrom('manifest.json', 'index.json', `blobs/sha256/${D}`, 'x/layer.tar', 'l'), fc.constantFrom('../etc/passwd', '/etc/passwd', 'manifest.json', 'l', 'blobs', ''), fc.boolean()), { maxLength: 2 }),
});

const SEED_PLAN: Plan = { format: 'both', gzipLayer: true, gzipArchive: false, configEdits: undefined, manifestEdits: undefined, indexEdits: undefined, saveEdits: undefined, links: [] };

/** Low enough that an archive member, the member count or a gzip bomb crosses them now and then. */
const FUZZ_ARCHIVE_LIMITS: ImagesConfig = { maxLayerBytes: 512 * 1024, maxImageBytes: 4 * 1024 * 1024, maxLayerEntries: 24 };

let counter = 0;

async function importOnce(input: Buffer): Promise<void> {
  const dir = join(scratch(), `archive-${counter++}`);
  mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, 'image.tar');
    writeFileSync(file, input);
    const content = new ContentStore(join(dir, 'content'));
    await content.init();
    const ctx = { log: silentLogger(), signal: new AbortController().signal, deadline: undefined };
    try {
      const images = await readImageArchive(ctx, file, content, { defaultRegistry: 'docker.io', limits: FUZZ_ARCHIVE_LIMITS });
      for (const img of images) {
        for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) {
          if (!(await content.has(d))) violation(`image ${img.manifestDigest} refers to ${d}, which was not stored`);
        }
      }
    } finally {
      const left = readdirSync(join(dir, 'content', 'ingest'));
      if (left.length) violation(`the import left ${left.join(', ')} in the ingest area`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const archiveTarget: FuzzTarget = {
  name: 'image-archive',
  about: 'storage/images/archive*.ts readImageArchive: images with every blob stored, or InvalidArgument / FailedPrecondition / ResourceExhausted (past its limits); no temp file left',
  smokeRuns: 60,
  inputs: async () => inputMix({ structured: plans.map((p) => build(p, docs)), seeds: [build(SEED_PLAN, docs)], maxLength: 1 << 20 }),
  run: importOnce,
  accepts: skiffKinds('InvalidArgument', 'FailedPrecondition', 'ResourceExhausted'),
};
