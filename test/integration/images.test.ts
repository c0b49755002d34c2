// The ImageService over the real socket, pulling from a real registry (Debian's docker-registry on
// 127.0.0.1) images built from busybox-static, directly, through a mirror, with basic auth and
// with bearer tokens.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  AuthConfig,
  type ImageFsInfoResponse,
  type ImageStatusResponse,
  type ListImagesResponse,
  type PullImageResponse,
} from '../../src/generated/runtime/v1/api.js';
import { expectCode, imageSpec } from '../support/grpc.js';
import { call, TestDaemon } from '../support/daemon.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startTokenProxy, type TokenProxy } from '../support/token-proxy.js';
import { pushStandardImages, STANDARD_CONFIG, standardLayers, type StandardImages } from '../support/standard-images.js';
import { buildImage } from '../support/oci-image.js';
import { pushImage } from '../support/registry-push.js';



export async function listBlobs(root: string): Promise<string[]> {
  return readdir(join(root, 'content/blobs/sha256')).catch(() => []);
}

describe('images over the CRI socket', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let authReg: TestRegistry;
  let proxy: TokenProxy;
  let std: StandardImages;
  let d: TestDaemon;
  const creds = { user: 'skiff', password: 'p4ss-w0rd' };

  // fromPartial fills the unset fields with "" as a real client's message has them.
  const pull = (image: string, auth?: Partial<AuthConfig>) =>
    call<object, PullImageResponse>(
      d.images,
      'pullImage',
      { image: imageSpec(image), auth: auth ? AuthConfig.fromPartial(auth) : undefined },
      30_000,
    );
  const status = (image: string, verbose = false) =>
    call<object, ImageStatusResponse>(d.images, 'imageStatus', { image: imageSpec(image), verbose });
  const list = (filter?: string) =>
    call<object, ListImagesResponse>(d.images, 'listImages', { filter: filter ? { image: imageSpec(filter) } : undefined });
  const remove = (image: string) => call(d.images, 'removeImage', { image: imageSpec(image) });

  before(async function () {
    reg = await startRegistry();
    authReg = await startRegistry({ htpasswd: creds });
    proxy = await startTokenProxy(reg.url, creds);
    std = await pushStandardImages(reg.url);
    await pushStandardImages(authReg.url, creds);
    d = await TestDaemon.create(
      [
        'registry:',
        `  mirrors: { "registry.k8s.io": ["${reg.url}"] }`,
        '  fallbackToUpstream: false',
        `  insecure: ["${reg.host}", "${authReg.host}", "${proxy.host}"]`,
        '  pinned: ["registry.k8s.io/skiff-test/busybox-root:1.0"]',
        '  noProgressTimeoutSeconds: 10',
      ].join('\n') + '\n',
    );
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
    await proxy?.stop();
    await reg?.stop();
    await authReg?.stop();
  });

  it('pulls an image and reports the config digest as its id, with tag, digest, size and uid', async function () {
    const ref = `${reg.host}/skiff-test/busybox:1.0`;
    const r = await pull(ref);
    expect(r.imageRef).to.equal(std.busybox.configDigest);
    const s = await status(ref);
    expect(s.image?.id).to.equal(std.busybox.configDigest);
    expect(s.image?.repoTags).to.deep.equal([ref]);
    expect(s.image?.repoDigests).to.deep.equal([`${reg.host}/skiff-test/busybox@${std.busybox.manifestDigest}`]);
    expect(Number(s.image?.size)).to.be.greaterThan(500_000);
    expect(s.image?.uid?.value).to.equal(1000n);
    expect(s.image?.username).to.equal('');
    expect(s.image?.pinned).to.equal(false);
  });

  it('adds a second tag of the same image to the same record', async function () {
    await pull(`${reg.host}/skiff-test/busybox:latest`);
    const s = await status(`${reg.host}/skiff-test/busybox`);
    expect(s.image?.repoTags.sort()).to.deep.equal(
      [`${reg.host}/skiff-test/busybox:1.0`, `${reg.host}/skiff-test/busybox:latest`].sort(),
    );
  });

  it('finds an image by id, bare id, id prefix and digest reference', async function () {
    const id = std.busybox.configDigest;
    for (const name of [id, id.slice(7), id.slice(7, 19), std.busybox.digestRef]) {
      expect((await status(name)).image?.id, name).to.equal(id);
    }
  });

  it('answers ImageStatus of an absent image with an empty response, and a malformed name with InvalidArgument', async function () {
    const s = await status(`${reg.host}/skiff-test/nothing:here`);
    expect(s.image).to.equal(undefined);
    await expectCode(status('library/BusyBox'), grpcStatus.INVALID_ARGUMENT);
    await expectCode(pull(''), grpcStatus.INVALID_ARGUMENT);
  });

  it('reports the user name of an image whose config names a user', async function () {
    await pull(`${reg.host}/skiff-test/busybox-user:1.0`);
    const s = await status(`${reg.host}/skiff-test/busybox-user:1.0`, true);
    expect(s.image?.username).to.equal('skiffuser');
    expect(s.image?.uid).to.equal(undefined);
    const info = JSON.parse(s.info.info ?? '{}') as { imageSpec?: { config?: { user?: string; cmd?: string[] } } };
    expect(info.imageSpec?.config?.user).to.equal('skiffuser');
    expect(info.imageSpec?.config?.cmd).to.deep.equal(['/bin/sh']);
  });

  it('pulls Docker schema 2 images, uncompressed layers, and this node\'s entry of an index', async function () {
    expect((await pull(`${reg.host}/skiff-test/busybox-docker:1.0`)).imageRef).to.equal(std.busyboxDocker.configDigest);
    expect((await pull(`${reg.host}/skiff-test/busybox-uncompressed:1.0`)).imageRef).to.equal(
      std.busyboxUncompressed.configDigest,
    );
    const native = std.multiarch.manifests.find((m) => m.platform.architecture !== std.foreignArch);
    expect((await pull(`${reg.host}/skiff-test/multiarch:1.0`)).imageRef).to.equal(native?.configDigest);
    const s = await status(`${reg.host}/skiff-test/multiarch:1.0`);
    // The repo digest is the index's: what the tag points at.
    expect(s.image?.repoDigests).to.include(`${reg.host}/skiff-test/multiarch@${std.multiarch.digest}`);
    expect((await pull(`${reg.host}/skiff-test/multiarch-docker:1.0`)).imageRef).to.equal(native?.configDigest);
  });

  it('pulls registry.k8s.io images from the configured mirror and marks pinned ones', async function () {
    const r = await pull('registry.k8s.io/skiff-test/busybox-root:1.0');
    expect(r.imageRef).to.equal(std.busyboxRoot.configDigest);
    const s = await status('registry.k8s.io/skiff-test/busybox-root:1.0');
    expect(s.image?.repoTags).to.include('registry.k8s.io/skiff-test/busybox-root:1.0');
    expect(s.image?.pinned).to.equal(true);
  });

  it('fails a mirrored pull the mirror cannot serve without contacting the upstream', async function () {
    const e = await expectCode(pull('registry.k8s.io/skiff-test/absent:1.0'), grpcStatus.NOT_FOUND);
    expect(e.details).to.contain(reg.host);
  });

  it('refuses an anonymous pull from a registry that wants basic auth, and pulls with credentials', async function () {
    const ref = `${authReg.host}/skiff-test/busybox:1.0`;
    await expectCode(pull(ref), grpcStatus.PERMISSION_DENIED);
    expect((await status(ref)).image).to.equal(undefined);
    const r = await pull(ref, { username: creds.user, password: creds.password });
    expect(r.imageRef).to.equal(std.busybox.configDigest);
  });

  it('pulls through the bearer-token flow with the CRI auth field', async function () {
    const before = proxy.tokenRequests;
    const auth = Buffer.from(`${creds.user}:${creds.password}`).toString('base64');
    const r = await pull(`${proxy.host}/skiff-test/busybox-user:1.0`, { auth });
    expect(r.imageRef).to.equal(std.busyboxUser.configDigest);
    expect(proxy.tokenRequests).to.be.greaterThan(before);
  });

  it('lists all images, and filters by reference', async function () {
    const all = await list();
    expect(all.images.map((i) => i.id)).to.include.members([std.busybox.configDigest, std.busyboxUser.configDigest]);
    const one = await list(`${reg.host}/skiff-test/busybox-user:1.0`);
    expect(one.images.map((i) => i.id)).to.deep.equal([std.busyboxUser.configDigest]);
    const stream = d.images.streamImages({ filter: undefined });
    const streamed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: ListImagesResponse) => streamed.push(...m.images.map((i) => i.id)));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    expect(streamed.sort()).to.deep.equal(all.images.map((i) => i.id).sort());
  });

  it('reports the bytes and inodes the image store uses', async function () {
    const r = await call<object, ImageFsInfoResponse>(d.images, 'imageFsInfo', {});
    const fs = r.imageFilesystems[0];
    expect(fs?.fsId?.mountpoint).to.equal(join(d.root, 'layers'));
    expect(Number(fs?.usedBytes?.value)).to.be.greaterThan(1_000_000);
    expect(Number(fs?.inodesUsed?.value)).to.be.greaterThan(10);
  });

  it('stores every blob under its own digest', async function () {
    for (const hex of await listBlobs(d.root)) {
      const body = await readFile(join(d.root, 'content/blobs/sha256', hex));
      expect(createHash('sha256').update(body).digest('hex')).to.equal(hex);
    }
  });

  it('keeps images across a restart of the daemon', async function () {
    const before = (await list()).images.map((i) => i.id).sort();
    expect(await d.stop()).to.equal(0);
    await d.start();
    expect((await list()).images.map((i) => i.id).sort()).to.deep.equal(before);
  });

  it('untags when one tag of several is removed, and removes the image with its last tag', async function () {
    await remove(`${reg.host}/skiff-test/busybox:latest`);
    let s = await status(`${reg.host}/skiff-test/busybox:1.0`);
    expect(s.image?.repoTags).to.include(`${reg.host}/skiff-test/busybox:1.0`);
    expect(s.image?.repoTags).to.not.include(`${reg.host}/skiff-test/busybox:latest`);
    expect((await status(`${reg.host}/skiff-test/busybox:latest`)).image).to.equal(undefined);
    // The Docker-typed and uncompressed variants share the config, hence the image id; drop their
    // tags, and the basic-auth registry's, one by one until the last one removes the image.
    const tags = s.image?.repoTags ?? [];
    for (const t of tags.slice(0, -1)) await remove(t);
    s = await status(std.busybox.configDigest);
    expect(s.image?.repoTags).to.deep.equal(tags.slice(-1));
    await remove(tags[tags.length - 1] as string);
    expect((await status(std.busybox.configDigest)).image).to.equal(undefined);
    await remove(std.busybox.configDigest);
  });

  it('collects blobs and layers once no image uses them', async function () {
    for (const img of (await list()).images) await remove(img.id);
    expect((await list()).images).to.deep.equal([]);
    expect(await listBlobs(d.root)).to.deep.equal([]);
    const layerDirs = (await readdir(join(d.root, 'layers'))).filter((n) => n !== 'index');
    expect(layerDirs).to.deep.equal([]);
    const fs = (await call<object, ImageFsInfoResponse>(d.images, 'imageFsInfo', {})).imageFilesystems[0];
    expect(Number(fs?.usedBytes?.value)).to.equal(0);
  });

  it('pulls again after everything was removed', async function () {
    const r = await pull(`${reg.host}/skiff-test/busybox:1.0`);
    expect(r.imageRef).to.equal(std.busybox.configDigest);
    expect((await stat(join(d.root, 'images'))).isDirectory()).to.equal(true);
  });

  it('retags: a tag pushed anew moves to the new image', async function () {
    const ref = `${reg.host}/skiff-test/busybox:1.0`;
    const l = await standardLayers();
    const other = buildImage({ layers: [l.base, l.data, l.whiteout], config: { ...STANDARD_CONFIG, User: 'skiffuser' } });
    await pushImage(reg.url, 'skiff-test/busybox', '1.0', other);
    const r = await pull(ref);
    expect(r.imageRef).to.equal(other.configDigest);
    expect((await status(std.busybox.configDigest)).image?.repoTags ?? []).to.not.include(ref);
  });
});
