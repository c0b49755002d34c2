// Pulls and imports past the unpacker's hard limits: extended tar headers that announce gigabytes,
// gzip bombs, an image whose layers are each small but too big together, and a layer whose
// content is not the diff id its config names. Each is refused with an error that names the layer
// and the reason, the daemon stays small and keeps answering, and the stores keep nothing of it.
// The daemon runs with small caps (images: in its config) so that the bombs are small too.
import { expect } from 'chai';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ImageStatusResponse, PullImageResponse, VersionResponse } from '../../src/generated/runtime/v1/api.js';
import { packArchive } from '../support/archive-builder.js';
import { call, runSkiffd, TestDaemon } from '../support/daemon.js';
import { expectCode, imageSpec } from '../support/grpc.js';
import { buildImage } from '../support/oci-image.js';
import { hugeHeaderLayer, zerosLayer } from '../support/oversized-layers.js';
import { pushImage, type PushedImage } from '../support/registry-push.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { busyboxLayer, sha256, tarLayer, type TarLayer } from '../support/tar-layer.js';

const MiB = 1024 * 1024;
const MAX_LAYER = 8 * MiB;
const MAX_IMAGE = 12 * MiB;

/** Temp blobs and half-unpacked layers: what an unfinished pull would leave. */
async function leftovers(root: string): Promise<string[]> {
  const ingest = (await readdir(join(root, 'content/ingest')).catch(() => [])).map((n) => `content/ingest/${n}`);
  const layers = (await readdir(join(root, 'layers')).catch(() => [])).filter((n) => n.startsWith('.')).map((n) => `layers/${n}`);
  return [...ingest, ...layers];
}

async function storedBlobs(root: string): Promise<Set<string>> {
  return new Set((await readdir(join(root, 'content/blobs/sha256')).catch(() => [])).map((h) => `sha256:${h}`));
}

async function procStatus(pid: number, field: string): Promise<number> {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

describe('image pulls and imports past the hard limits', function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  const layers: Record<string, TarLayer[]> = {};
  const pushed: Record<string, PushedImage> = {};

  before(async function () {
    reg = await startRegistry();
    layers['pax-4g'] = [hugeHeaderLayer('x', 2 ** 32)];
    layers['gnu-long-name-1g'] = [hugeHeaderLayer('L', 2 ** 30)];
    // 256 MiB of zeros, about 256 KiB gzipped: 32 times the layer cap.
    layers['gzip-bomb'] = [zerosLayer(256, MiB)];
    // Three layers of 5 MiB: each under the layer cap, 15 MiB together against an image cap of 12.
    layers['image-cap'] = [0, 1, 2].map((i) => zerosLayer(5, MiB, `layer${i}`));
    const honest = await tarLayer([{ path: 'etc/honest', type: 'file', content: 'honest\n' }], { gzip: true });
    layers['bad-diff-id'] = [{ ...honest, diffId: `sha256:${'0'.repeat(64)}` }];
    layers.busybox = [await busyboxLayer()];
    for (const [name, ls] of Object.entries(layers)) {
      pushed[name] = await pushImage(reg.url, `skiff-test/limits-${name}`, '1.0', buildImage({ layers: ls, config: { Cmd: ['/bin/true'] } }));
    }
    d = await TestDaemon.create(
      `registry:\n  insecure: ["${reg.host}"]\n` +
        `images:\n  maxLayerBytes: ${MAX_LAYER}\n  maxImageBytes: ${MAX_IMAGE}\n  maxLayerEntries: 10000\n`,
    );
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
    await reg?.stop();
  });

  const pull = (name: string) =>
    call<object, PullImageResponse>(d.images, 'pullImage', { image: imageSpec(pushed[name]!.refs[0]!) }, 60_000);

  it('refuses huge tar headers, a gzip bomb and an image over its cap, naming layer and reason, while the daemon stays small and answers', async function () {
    const pid = d.proc!.pid!;
    // Resets the peak RSS (VmHWM) so that what follows is measured alone.
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    const before = await procStatus(pid, 'VmHWM');
    const pulls = {
      pax: expectCode(pull('pax-4g'), grpcStatus.INVALID_ARGUMENT),
      gnu: expectCode(pull('gnu-long-name-1g'), grpcStatus.INVALID_ARGUMENT),
      bomb: expectCode(pull('gzip-bomb'), grpcStatus.RESOURCE_EXHAUSTED),
      image: expectCode(pull('image-cap'), grpcStatus.RESOURCE_EXHAUSTED),
    };
    // Sent while the pulls are in flight: the daemon must answer it as usual.
    const started = Date.now();
    const v = await call<object, VersionResponse>(d.runtime, 'version', { version: 'v1' }, 5_000);
    const versionMs = Date.now() - started;
    expect(v.runtimeName).to.equal('skiff');

    const layerOf = (name: string) => layers[name]![0]!.digest;
    expect((await pulls.pax).details).to.equal(
      `pulling layer ${layerOf('pax-4g')}: PAX header of 4294967296 bytes exceeds 1 MiB (tar header at byte 0)`,
    );
    expect((await pulls.gnu).details).to.equal(
      `pulling layer ${layerOf('gnu-long-name-1g')}: GNU long name of 1073741824 bytes exceeds 1 MiB (tar header at byte 0)`,
    );
    expect((await pulls.bomb).details).to.equal(
      `pulling layer ${layerOf('gzip-bomb')}: the layer is larger than ${MAX_LAYER} bytes uncompressed (images.maxLayerBytes)`,
    );
    // Layers unpack three at a time: any of them may be the one that crosses the cap.
    const m = /^pulling layer (sha256:[0-9a-f]{64}): (.*)$/.exec((await pulls.image).details);
    expect(layers['image-cap']!.map((l) => l.digest)).to.include(m?.[1]);
    expect(m?.[2]).to.equal(`the image's layers are larger than ${MAX_IMAGE} bytes uncompressed together (images.maxImageBytes)`);

    const grown = (await procStatus(pid, 'VmHWM')) - before;
    expect(grown, `peak RSS grew by ${grown} bytes`).to.be.below(64 * MiB);
    expect(versionMs).to.be.below(5_000);

    for (const name of ['pax-4g', 'gnu-long-name-1g', 'gzip-bomb', 'image-cap']) {
      const s = await call<object, ImageStatusResponse>(d.images, 'imageStatus', { image: imageSpec(pushed[name]!.refs[0]!) });
      expect(s.image, name).to.equal(undefined);
    }
    expect(await leftovers(d.root)).to.deep.equal([]);
    const blobs = await storedBlobs(d.root);
    for (const l of [layerOf('pax-4g'), layerOf('gnu-long-name-1g'), layerOf('gzip-bomb'), m?.[1] ?? '']) {
      expect(blobs.has(l), l).to.equal(false);
    }
    // A failed pull keeps nothing: not the image-cap layers that were complete before the cap,
    // nor any blob (manifest, config, layer) of any of these images, which nothing refers to.
    const unpacked = (await readdir(join(d.root, 'layers'))).filter((n) => n !== 'index');
    expect(unpacked).to.deep.equal([]);
    expect([...(await storedBlobs(d.root))]).to.deep.equal([]);
  });

  it('refuses a retry of the image over its cap, and again keeps nothing of it', async function () {
    const e = await expectCode(pull('image-cap'), grpcStatus.RESOURCE_EXHAUSTED);
    expect(e.details).to.match(/: the image's layers are larger than 12582912 bytes uncompressed together \(images\.maxImageBytes\)$/);
    expect(await leftovers(d.root)).to.deep.equal([]);
    expect((await readdir(join(d.root, 'layers'))).filter((n) => n !== 'index')).to.deep.equal([]);
    expect([...(await storedBlobs(d.root))]).to.deep.equal([]);
  });

  it('refuses a layer that does not hash to the diff id its config names, keeping none of it', async function () {
    const before = await readdir(join(d.root, 'layers'));
    const e = await expectCode(pull('bad-diff-id'), grpcStatus.INTERNAL);
    const l = layers['bad-diff-id']![0]!;
    expect(e.details).to.equal(
      `pulling layer ${l.digest}: diff id mismatch: the config says ${l.diffId}, the uncompressed layer hashes to ${sha256(l.tar)}`,
    );
    expect(await leftovers(d.root)).to.deep.equal([]);
    expect((await storedBlobs(d.root)).has(l.digest)).to.equal(false);
    expect(await readdir(join(d.root, 'layers'))).to.deep.equal(before);
  });

  it('pulls an ordinary image under the same limits', async function () {
    const r = await pull('busybox');
    expect(r.imageRef).to.equal(pushed.busybox!.configDigest);
  });

  it('refuses an image archive that unpacks past maxImageBytes with one clear line, keeping nothing', async function () {
    // Sixteen members of 1 MiB of zeros: 16 MiB of tar in about 16 KiB of gzip.
    const members = Array.from({ length: 16 }, (_, i) => ({ name: `junk-${i}.tar`, body: Buffer.alloc(MiB) }));
    const file = join(d.dir, 'bomb.tar.gz');
    await writeFile(file, gzipSync(await packArchive(members)));
    const blobsBefore = await storedBlobs(d.root);
    const r = await runSkiffd(['images', 'import', file, '--socket', d.socket, '--state', d.state, '--root', d.root], 60_000);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.deep.equal([
      `skiffd: image archive ${file}: larger than ${MAX_IMAGE} bytes uncompressed (images.maxImageBytes)`,
    ]);
    expect(await leftovers(d.root)).to.deep.equal([]);
    // Nothing of the archive stays: the collection that follows a refused import takes it all
    // (and whatever earlier refused pulls left).
    for (const b of await storedBlobs(d.root)) expect(blobsBefore.has(b), b).to.equal(true);
    expect(await storedBlobs(d.root)).to.include(pushed.busybox!.layerDigests[0]);
  });
});
