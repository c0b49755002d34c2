// Pulls that must fail safely: hostile layers that try to write outside their layer dir, and a
// pull cut off by killing the daemon. Either way nothing corrupt or half-done may stay behind.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { ImageStatusResponse, PullImageResponse } from '../../src/generated/runtime/v1/api.js';
import { imageSpec } from '../support/grpc.js';
import { call, TestDaemon } from '../support/daemon.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import {
  hostileLayers,
  hostViolations,
  prepareHostSentinel,
  pushHostileImages,
  removeHostSentinel,
  type HostileSet,
} from '../support/hostile-images.js';
import { pushBigImage, type BigImage } from '../support/big-image.js';
import type { PushedImage } from '../support/registry-push.js';


async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Leftovers of unfinished work: temp blobs, temp layer dirs. */
async function leftovers(root: string): Promise<string[]> {
  const ingest = (await readdir(join(root, 'content/ingest')).catch(() => [])).map((n) => `content/ingest/${n}`);
  const layers = (await readdir(join(root, 'layers')).catch(() => []))
    .filter((n) => n.startsWith('.'))
    .map((n) => `layers/${n}`);
  return [...ingest, ...layers];
}

async function expectAllBlobsIntact(root: string): Promise<number> {
  const dir = join(root, 'content/blobs/sha256');
  const names = await readdir(dir).catch(() => []);
  for (const hex of names) expect(await sha256File(join(dir, hex)), `blob ${hex}`).to.equal(hex);
  return names.length;
}

describe('image pulls that must fail safely', function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  let hostile: HostileSet;
  let hostileImages: Record<string, PushedImage>;
  let big: (BigImage & { pushed: PushedImage }) | undefined;

  before(async function () {
    reg = await startRegistry();
    hostile = await hostileLayers();
    await prepareHostSentinel(hostile);
    hostileImages = await pushHostileImages(reg.url, hostile);
    big = await pushBigImage(reg.url, 96, { layers: 3 });
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\n`);
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
    await big?.cleanup();
    await reg?.stop();
    if (hostile) await removeHostSentinel(hostile);
  });

  it('refuses every layer that writes outside its dir, leaving the host and the store untouched', async function () {
    const outcomes: string[] = [];
    for (const [kind, img] of Object.entries(hostileImages)) {
      const ref = img.refs[0] as string;
      try {
        await call<object, PullImageResponse>(d.images, 'pullImage', { image: imageSpec(ref) }, 30_000);
        outcomes.push(`${kind}: pulled`);
      } catch (e) {
        const err = e as ServiceError;
        expect(err.code, `${kind}: ${err.details}`).to.equal(grpcStatus.INVALID_ARGUMENT);
        outcomes.push(`${kind}: refused`);
        const s = await call<object, ImageStatusResponse>(d.images, 'imageStatus', { image: imageSpec(ref) });
        expect(s.image, kind).to.equal(undefined);
      }
    }
    // A leading "/" is normalised away, as containerd does: that layer is safe to keep.
    expect(outcomes.filter((o) => o.endsWith('pulled'))).to.deep.equal(['absolute: pulled']);
    expect(await hostViolations(hostile, {})).to.deep.equal([]);
    expect(await leftovers(d.root)).to.deep.equal([]);
  });

  it('recovers from a daemon killed mid-pull: no corrupt blob, and the next pull completes', async function () {
    const ref = big?.pushed.refs[0] as string;
    const pulling = call(d.images, 'pullImage', { image: imageSpec(ref) }, 60_000).catch((e: Error) => e);
    // Wait until bytes are on their way to disk, then kill -9.
    const ingest = join(d.root, 'content/ingest');
    for (let i = 0; i < 400; i++) {
      const files = await readdir(ingest).catch(() => [] as string[]);
      const sizes = await Promise.all(files.map((f) => stat(join(ingest, f)).then((s) => s.size, () => 0)));
      if (sizes.some((s) => s > 1_000_000)) break;
      await sleep(5);
    }
    d.proc?.kill('SIGKILL');
    expect(await pulling).to.be.instanceOf(Error);
    await d.stop();
    await d.start();
    expect(await leftovers(d.root)).to.deep.equal([]);
    await expectAllBlobsIntact(d.root);
    const r = await call<object, PullImageResponse>(d.images, 'pullImage', { image: imageSpec(ref) }, 60_000);
    expect(r.imageRef).to.equal(big?.pushed.configDigest);
    expect(await expectAllBlobsIntact(d.root)).to.be.greaterThan(3);
    expect(await leftovers(d.root)).to.deep.equal([]);
  });
});
