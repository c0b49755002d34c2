import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_IMAGES_CONFIG } from '../../../../src/config/images.js';
import type { OpContext } from '../../../../src/core/context.js';
import { isKind, SkiffError } from '../../../../src/core/errors.js';
import type { Digest } from '../../../../src/core/ids.js';
import { silentLogger } from '../../../../src/log/logger.js';
import { ContentStore } from '../../../../src/storage/content/store.js';
import { readImageArchive, type ArchiveImage } from '../../../../src/storage/images/archive.js';
import { MEDIA_TYPES, parseManifest } from '../../../../src/storage/registry/manifest.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../support/oci-image.js';
import { sha256, tarLayer, type TarLayer } from '../../../support/tar-layer.js';
import { blob, entryFor, hexOf, imageBlobs, indexJson, OCI_LAYOUT, packArchive, type Member } from '../../../support/archive-builder.js';
import { makeTempDir, removeDir } from '../layers/fixtures.js';
import { block } from '../../../support/tar-blocks.js';

async function rejection(p: Promise<unknown>): Promise<SkiffError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SkiffError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('storage/images/archive', () => {
  let dir: string;
  let content: ContentStore;
  let warnings: string[];
  let ctx: OpContext;
  let layerA: TarLayer;
  let layerB: TarLayer;
  let plainA: TarLayer;
  let plainB: TarLayer;

  before(async () => {
    const a = [{ path: 'etc', type: 'dir' as const }, { path: 'etc/hello', type: 'file' as const, content: 'hello\n' }];
    const b = [{ path: 'data', type: 'dir' as const }, { path: 'data/x', type: 'file' as const, content: 'x\n' }];
    [layerA, layerB, plainA, plainB] = await Promise.all([
      tarLayer(a, { gzip: true }),
      tarLayer(b, { gzip: true }),
      tarLayer(a, { gzip: false }),
      tarLayer(b, { gzip: false }),
    ]);
  });

  beforeEach(async () => {
    dir = await makeTempDir('archive');
    content = new ContentStore(join(dir, 'content'));
    await content.init();
    warnings = [];
    const log = silentLogger();
    log.warn = ((msg: string) => {
      warnings.push(msg);
      return log;
    }) as typeof log.warn;
    ctx = { log, signal: new AbortController().signal, deadline: undefined };
  });

  afterEach(async () => {
    // Success or failure, an import leaves no temp file behind.
    expect(await readdir(join(dir, 'content', 'ingest'))).to.deep.equal([]);
    await removeDir(dir);
  });

  async function importBuffer(buf: Buffer, limits = DEFAULT_IMAGES_CONFIG): Promise<ArchiveImage[]> {
    const file = join(dir, 'image.tar');
    await writeFile(file, buf);
    return readImageArchive(ctx, file, content, { defaultRegistry: 'docker.io', limits });
  }

  async function expectStored(img: ArchiveImage): Promise<void> {
    for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) {
      expect(await content.has(d), d).to.equal(true);
    }
    expect(sha256(img.manifestBytes)).to.equal(img.manifestDigest);
    expect(sha256(img.configBytes)).to.equal(img.configDigest);
  }

  describe('OCI image layout', () => {
    it('reads an image named by ref.name, blobs before index.json', async () => {
      const img = buildImage({ layers: [layerA, layerB], config: { Cmd: ['/bin/sh'] } });
      const archive = await packArchive([
        { name: 'blobs/', type: 'directory' },
        ...imageBlobs(img),
        OCI_LAYOUT,
        indexJson([entryFor(img, { 'org.opencontainers.image.ref.name': 'docker.io/library/busybox:1.0' })]),
      ]);
      const images = await importBuffer(archive);
      expect(images).to.have.length(1);
      const got = images[0]!;
      expect(got.tags).to.deep.equal(['docker.io/library/busybox:1.0']);
      expect(got.manifestDigest).to.equal(img.manifestDigest);
      expect(got.manifestBytes.equals(img.manifest)).to.equal(true);
      expect(got.configDigest).to.equal(img.configDigest);
      expect(got.layers).to.deep.equal([
        { digest: layerA.digest, size: layerA.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', compression: 'gzip' },
        { digest: layerB.digest, size: layerB.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', compression: 'gzip' },
      ]);
      await expectStored(got);
      expect((await content.readBuffer(layerA.digest as Digest)).equals(layerA.blob)).to.equal(true);
    });

    it('picks this node\'s platform from a multi-platform index and names it by io.containerd.image.name', async () => {
      const host = buildImage({ layers: [layerA], config: { Cmd: ['host'] } });
      const foreignArch = process.arch === 's390x' ? 'ppc64le' : 's390x';
      const foreign = buildImage({ layers: [layerB], config: { Cmd: ['foreign'] }, arch: foreignArch });
      const index = buildIndex([foreign, host]);
      const archive = await packArchive([
        indexJson([
          {
            mediaType: index.mediaType,
            digest: index.digest,
            size: index.index.length,
            annotations: { 'io.containerd.image.name': 'registry.example:5000/team/app:2.1', 'org.opencontainers.image.ref.name': '2.1' },
          },
        ]),
        OCI_LAYOUT,
        blob(index.digest, index.index),
        ...imageBlobs(host),
        ...imageBlobs(foreign),
      ]);
      const images = await importBuffer(archive);
      expect(images).to.have.length(1);
      expect(images[0]!.manifestDigest).to.equal(host.manifestDigest);
      expect(images[0]!.tags).to.deep.equal(['registry.example:5000/team/app:2.1']);
      expect(images[0]!.layers.map((l) => l.digest)).to.deep.equal([layerA.digest]);
      await expectStored(images[0]!);
      expect(warnings).to.deep.equal([]);
    });

    it('merges entries that name one manifest, and drops a bare tag with a warning', async () => {
      const img = buildImage({ layers: [layerA] });
      const archive = await packArchive([
        OCI_LAYOUT,
        ...imageBlobs(img),
        indexJson([
          entryFor(img, { 'org.opencontainers.image.ref.name': 'busybox:1.0' }),
          entryFor(img, { 'org.opencontainers.image.ref.name': 'docker.io/library/busybox:latest' }),
          entryFor(img, { 'org.opencontainers.image.ref.name': '1.0' }),
        ]),
      ]);
      const images = await importBuffer(archive);
      expect(images).to.have.length(1);
      expect(images[0]!.tags).to.deep.equal(['docker.io/library/busybox:1.0', 'docker.io/library/busybox:latest']);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/only by the tag "1.0"/);
    });

    it('reads a gzip-compressed archive', async () => {
      const img = buildImage({ layers: [plainA, layerB] });
      const archive = await packArchive([
        OCI_LAYOUT,
        indexJson([entryFor(img, { 'org.opencontainers.image.ref.name': 'quay.io/org/thing:v1' })]),
        ...imageBlobs(img),
      ]);
      const images = await importBuffer(gzipSync(archive));
      expect(images).to.have.length(1);
      expect(images[0]!.tags).to.deep.equal(['quay.io/org/thing:v1']);
      expect(images[0]!.layers.map((l) => l.compression)).to.deep.equal(['none', 'gzip']);
      await expectStored(images[0]!);
    });

    it('refuses a manifest whose layer blob is missing, naming it', async () => {
      const img = buildImage({ layers: [layerA, layerB] });
      const members = imageBlobs(img).filter((m) => m.name !== `blobs/sha256/${hexOf(layerB.digest)}`);
      const archive = await packArchive([OCI_LAYOUT, ...members, indexJson([entryFor(img, {})])]);
      const e = await rejection(importBuffer(archive));
      expect(e.kind).to.equal('InvalidArgument');
      expect(e.message).to.include(layerB.digest).and.include('not in the archive');
    });

    it('refuses a blob whose content does not match its name', async () => {
      const img = buildImage({ layers: [layerA] });
      const archive = await packArchive([
        OCI_LAYOUT,
        ...imageBlobs(img).map((m) => (m.name.endsWith(hexOf(layerA.digest)) ? { ...m, body: layerB.blob } : m)),
        indexJson([entryFor(img, {})]),
      ]);
      const e = await rejection(importBuffer(archive));
      expect(e.kind).to.equal('InvalidArgument');
      expect(e.message).to.include(`blobs/sha256/${hexOf(layerA.digest)} is corrupt`);
      expect(await content.has(layerA.digest as Digest)).to.equal(false);
    });

    it('takes tags from a manifest.json beside index.json, as docker 25+ writes both', async () => {
      const img = buildImage({ layers: [layerA] });
      const archive = await packArchive([
        OCI_LAYOUT,
        ...imageBlobs(img),
        indexJson([entryFor(img, { 'org.opencontainers.image.ref.name': '1.0' })]),
        {
          name: 'manifest.json',
          body: JSON.stringify([{ Config: `blobs/sha256/${hexOf(img.configDigest)}`, RepoTags: ['busybox:1.0'], Layers: [`blobs/sha256/${hexOf(layerA.digest)}`] }]),
        },
      ]);
      const images = await importBuffer(archive);
      expect(images).to.have.length(1);
      expect(images[0]!.manifestDigest).to.equal(img.manifestDigest);
      expect(images[0]!.tags).to.deep.equal(['docker.io/library/busybox:1.0']);
    });

    it('says FailedPrecondition when no image is for this platform', async () => {
      const foreign = buildImage({ layers: [layerB], arch: process.arch === 's390x' ? 'ppc64le' : 's390x' });
      const index = buildIndex([foreign]);
      const archive = await packArchive([
        OCI_LAYOUT,
        blob(index.digest, index.index),
        ...imageBlobs(foreign),
        indexJson([{ mediaType: index.mediaType, digest: index.digest, size: index.index.length }]),
      ]);
      const e = await rejection(importBuffer(archive));
      expect(e.kind).to.equal('FailedPrecondition');
    });
  });

  describe('docker save', () => {
    /** As docker before 25 writes it: <id>/layer.tar, <config hex>.json, manifest.json last. */
    function legacyArchive(): { members: Member[]; img: BuiltImage; ids: string[] } {
      const img = buildImage({ layers: [plainA, plainB], mediaTypes: 'docker', config: { Cmd: ['/bin/sh'] } });
      const ids = ['1'.repeat(64), '2'.repeat(64)];
      const members: Member[] = [];
      [plainA, plainB].forEach((l, i) => {
        members.push(
          { name: `${ids[i]}/`, type: 'directory' },
          { name: `${ids[i]}/VERSION`, body: '1.0' },
          { name: `${ids[i]}/json`, body: '{}' },
          { name: `${ids[i]}/layer.tar`, body: l.blob },
        );
      });
      members.push(
        { name: `${hexOf(img.configDigest)}.json`, body: img.config },
        {
          name: 'manifest.json',
          body: JSON.stringify([
            { Config: `${hexOf(img.configDigest)}.json`, RepoTags: ['busybox:1.0', 'example.com/x/busybox:old'], Layers: ids.map((id) => `${id}/layer.tar`) },
          ]),
        },
        { name: 'repositories', body: '{}' },
      );
      return { members, img, ids };
    }

    it('reads the legacy layout and synthesises a stored OCI manifest', async () => {
      const { members, img } = legacyArchive();
      const images = await importBuffer(await packArchive(members));
      expect(images).to.have.length(1);
      const got = images[0]!;
      expect(got.tags).to.deep.equal(['docker.io/library/busybox:1.0', 'example.com/x/busybox:old']);
      expect(got.configDigest).to.equal(img.configDigest);
      expect(got.layers).to.deep.equal([
        { digest: plainA.digest, size: plainA.size, mediaType: 'application/vnd.docker.image.rootfs.diff.tar', compression: 'none' },
        { digest: plainB.digest, size: plainB.size, mediaType: 'application/vnd.docker.image.rootfs.diff.tar', compression: 'none' },
      ]);
      await expectStored(got);
      const parsed = parseManifest(got.manifestBytes, undefined, 'synthesised');
      expect(parsed.kind).to.equal('manifest');
      if (parsed.kind !== 'manifest') return;
      expect(parsed.manifest.mediaType).to.equal(MEDIA_TYPES.ociManifest);
      expect(parsed.manifest.config.digest).to.equal(img.configDigest);
      expect(parsed.manifest.layers.map((l) => l.digest)).to.deep.equal([plainA.digest, plainB.digest]);
      // The same archive gives the same manifest digest.
      const again = await importBuffer(await packArchive(members));
      expect(again[0]!.manifestDigest).to.equal(got.manifestDigest);
    });

    it('follows a layer.tar symlink docker writes for a layer it already saved', async () => {
      const { members, img, ids } = legacyArchive();
      const second = buildImage({ layers: [plainA], mediaTypes: 'docker', config: { Cmd: ['other'] } });
      const linked = '3'.repeat(64);
      const manifest = JSON.parse(String(members.find((m) => m.name === 'manifest.json')!.body)) as object[];
      manifest.push({ Config: `${hexOf(second.configDigest)}.json`, RepoTags: null, Layers: [`${linked}/layer.tar`] });
      const archive = await packArchive([
        ...members.filter((m) => m.name !== 'manifest.json'),
        { name: `${linked}/layer.tar`, type: 'symlink', linkname: `../${ids[0]}/layer.tar` },
        { name: `${hexOf(second.configDigest)}.json`, body: second.config },
        { name: 'manifest.json', body: JSON.stringify(manifest) },
      ]);
      const images = await importBuffer(archive);
      expect(images.map((i) => i.configDigest)).to.deep.equal([img.configDigest, second.configDigest]);
      expect(images[1]!.tags).to.deep.equal([]);
      expect(images[1]!.layers.map((l) => l.digest)).to.deep.equal([plainA.digest]);
    });

    it('reads docker 25+ paths into blobs/, telling gzip layers by their magic bytes', async () => {
      const img = buildImage({ layers: [layerA, plainB], mediaTypes: 'docker' });
      const archive = await packArchive([
        { name: 'manifest.json', body: JSON.stringify([{ Config: `blobs/sha256/${hexOf(img.configDigest)}`, RepoTags: ['app:v2'], Layers: [layerA, plainB].map((l) => `blobs/sha256/${hexOf(l.digest)}`) }]) },
        ...imageBlobs(img).filter((m) => !m.name.endsWith(hexOf(img.manifestDigest))),
      ]);
      const images = await importBuffer(archive);
      expect(images[0]!.tags).to.deep.equal(['docker.io/library/app:v2']);
      expect(images[0]!.layers.map((l) => [l.compression, l.mediaType])).to.deep.equal([
        ['gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
        ['none', 'application/vnd.docker.image.rootfs.diff.tar'],
      ]);
      await expectStored(images[0]!);
    });

    it('refuses a manifest.json that references a layer not in the archive', async () => {
      const { members, ids } = legacyArchive();
      const archive = await packArchive(members.filter((m) => m.name !== `${ids[1]}/layer.tar`));
      const e = await rejection(importBuffer(archive));
      expect(e.kind).to.equal('InvalidArgument');
      expect(e.message).to.include(`${ids[1]}/layer.tar`).and.include('not in the archive');
    });

    it('refuses a truncated archive, leaving no temp file', async () => {
      const { members } = legacyArchive();
      const full = await packArchive(members);
      // Cut in the middle of the first layer.tar's body.
      const e = await rejection(importBuffer(full.subarray(0, 512 * 8)));
      expect(e.kind).to.equal('InvalidArgument');
      const gz = await rejection(importBuffer(gzipSync(full).subarray(0, 200)));
      expect(gz.kind).to.equal('InvalidArgument');
    });
  });

  describe('malformed archives', () => {
    it('refuses an archive with neither manifest.json nor index.json', async () => {
      const e = await rejection(importBuffer(await packArchive([{ name: 'README', body: 'hi' }, { name: 'x/layer.tar', body: 'abc' }])));
      expect(e.kind).to.equal('InvalidArgument');
      expect(e.message).to.match(/neither index\.json .* nor manifest\.json/);
    });

    it('refuses member names that leave the archive', async () => {
      for (const name of ['../x', 'a/../../x', '/etc/passwd']) {
        const e = await rejection(importBuffer(await packArchive([{ name, body: 'x' }, OCI_LAYOUT])));
        expect(isKind(e, 'InvalidArgument'), name).to.equal(true);
        expect(e.message).to.include(JSON.stringify(name));
      }
    });

    it('refuses a file that is not a tar archive', async () => {
      const e = await rejection(importBuffer(Buffer.alloc(2048, 'x')));
      expect(e.kind).to.equal('InvalidArgument');
    });

    it('stops when the caller cancels', async () => {
      const img = buildImage({ layers: [layerA] });
      const archive = await packArchive([OCI_LAYOUT, ...imageBlobs(img), indexJson([entryFor(img, {})])]);
      const cancel = new AbortController();
      cancel.abort();
      ctx = { ...ctx, signal: cancel.signal };
      const e = await rejection(importBuffer(archive));
      expect(e.kind).to.equal('Cancelled');
    });

    it('removes the temp file of a member cut off by a cancel', async () => {
      const big = randomBytes(32 * 1024 * 1024);
      const archive = await packArchive([blob(sha256(big), big), OCI_LAYOUT]);
      const cancel = new AbortController();
      ctx = { ...ctx, signal: cancel.signal };
      // The first temp file in the ingest area is the big blob on its way in.
      const watcher = watch(join(dir, 'content', 'ingest'), () => cancel.abort());
      try {
        const e = await rejection(importBuffer(archive));
        expect(e.kind).to.equal('Cancelled');
      } finally {
        watcher.close();
      }
      expect(await content.has(sha256(big) as Digest)).to.equal(false);
    });

    it('refuses a 4 GiB PAX header from its header block, naming the archive', async () => {
      const e = await rejection(importBuffer(Buffer.concat([block({ name: 'PaxHeader', type: 'x', size: 2 ** 32 }), Buffer.alloc(1 << 20)])));
      expect(e.kind).to.equal('InvalidArgument');
      expect(e.message).to.equal(`image archive ${join(dir, 'image.tar')}: PAX header of 4294967296 bytes exceeds 1 MiB (tar header at byte 0)`);
    });

    it('says NotFound for an archive file that does not exist', async () => {
      const e = await rejection(readImageArchive(ctx, join(dir, 'absent.tar'), content, { defaultRegistry: 'docker.io', limits: DEFAULT_IMAGES_CONFIG }));
      expect(e.kind).to.equal('NotFound');
    });
  });

  describe('hard limits', () => {
    const MiB = 1024 * 1024;
    const small = { ...DEFAULT_IMAGES_CONFIG, maxLayerBytes: 2 * MiB, maxImageBytes: 4 * MiB, maxLayerEntries: 20 };
    const file = () => join(dir, 'image.tar');

    it('refuses a gzipped archive that unpacks past maxImageBytes, leaving no temp file', async () => {
      const zeros = Buffer.alloc(MiB);
      // Twelve members of 1 MiB: each under the member cap, 12 MiB in all, about 12 KiB gzipped.
      const members = Array.from({ length: 12 }, (_, i) => ({ name: `junk-${i}.tar`, body: zeros }));
      const bomb = gzipSync(await packArchive(members));
      expect(bomb.length).to.be.below(64 * 1024);
      const e = await rejection(importBuffer(bomb, small));
      expect(e.kind).to.equal('ResourceExhausted');
      expect(e.message).to.equal(`image archive ${file()}: larger than ${4 * MiB} bytes uncompressed (images.maxImageBytes)`);
    });

    it('refuses a plain archive larger than maxImageBytes before reading it', async () => {
      const e = await rejection(importBuffer(await packArchive([{ name: 'big.tar', body: Buffer.alloc(5 * MiB) }]), { ...small, maxLayerBytes: 8 * MiB }));
      expect(e.kind).to.equal('ResourceExhausted');
      expect(e.message).to.contain('larger than 4194304 bytes uncompressed (images.maxImageBytes)');
      expect(await content.list()).to.deep.equal([]);
    });

    it('refuses a member larger than maxLayerBytes from its header', async () => {
      const big = Buffer.alloc(3 * MiB, 1);
      const e = await rejection(importBuffer(await packArchive([blob(sha256(big), big)]), small));
      expect(e.kind).to.equal('ResourceExhausted');
      expect(e.message).to.equal(
        `image archive ${file()}: entry "blobs/sha256/${hexOf(sha256(big))}" of ${3 * MiB} bytes exceeds the limit of ${2 * MiB} bytes`,
      );
      expect(await content.has(sha256(big) as Digest)).to.equal(false);
    });

    it('refuses more members than maxLayerEntries', async () => {
      const members = Array.from({ length: 21 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
      const e = await rejection(importBuffer(await packArchive(members), small));
      expect(e.kind).to.equal('ResourceExhausted');
      expect(e.message).to.equal(`image archive ${file()}: more than 20 entries (at "f20")`);
    });
  });
});
