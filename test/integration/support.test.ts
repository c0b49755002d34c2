// The pull test infrastructure itself: a real registry, pushed fixtures, basic and bearer auth.
// Checked with plain HTTP so a bug in Skiff's registry client cannot hide a bug here.
import { expect } from 'chai';
import tar from 'tar-stream';
import { basicAuthHeader, httpRequest } from '../support/http.js';
import {
  DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR,
  OCI_MANIFEST, buildImage, hostPlatform, hostileLayers, pushBigImage, pushHostileImages, pushImage,
  pushStandardImages, sha256, tarLayer, type StandardImages,
} from '../support/image-builder.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startTokenProxy, type TokenProxy } from '../support/token-proxy.js';

const ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(', ');
const CREDS = { user: 'skiff', password: 'p4ss-w0rd' };

async function getManifest(base: string, repo: string, ref: string, headers: Record<string, string> = {}) {
  return httpRequest(`${base}/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT, ...headers } });
}

describe('test support: registry, fixtures, auth', function () {
  this.timeout(20_000);
  const cleanups: Array<() => Promise<void>> = [];
  let reg: TestRegistry;
  let images: StandardImages;

  before(async () => {
    reg = await startRegistry();
    cleanups.push(() => reg.stop());
    images = await pushStandardImages(reg.url);
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  });

  it('serves both tags of busybox as one OCI manifest with the pushed digest', async () => {
    expect(images.busybox.refs).to.deep.equal([`${reg.host}/skiff-test/busybox:1.0`, `${reg.host}/skiff-test/busybox:latest`]);
    for (const tag of ['1.0', 'latest']) {
      const res = await getManifest(reg.url, 'skiff-test/busybox', tag);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal(OCI_MANIFEST);
      expect(res.headers['docker-content-digest']).to.equal(images.busybox.manifestDigest);
      expect(sha256(res.body)).to.equal(images.busybox.manifestDigest);
    }
  });

  it('serves config and layer blobs whose bytes hash to their digests', async () => {
    const manifest = JSON.parse((await getManifest(reg.url, 'skiff-test/busybox', '1.0')).body.toString()) as {
      config: { digest: string };
      layers: Array<{ digest: string; size: number; mediaType: string }>;
    };
    expect(manifest.layers).to.have.length(3);
    expect(manifest.layers.map((l) => l.mediaType)).to.deep.equal([OCI_LAYER_GZIP, OCI_LAYER_GZIP, OCI_LAYER_GZIP]);
    const config = await httpRequest(`${reg.url}/v2/skiff-test/busybox/blobs/${manifest.config.digest}`);
    expect(sha256(config.body)).to.equal(images.busybox.configDigest);
    const cfg = JSON.parse(config.body.toString()) as {
      architecture: string; os: string; config: { User: string; Cmd: string[] }; rootfs: { diff_ids: string[] };
    };
    expect(cfg).to.include({ architecture: hostPlatform().architecture, os: 'linux' });
    expect(cfg.config.User).to.equal('1000');
    expect(cfg.config.Cmd).to.deep.equal(['/bin/sh']);
    expect(cfg.rootfs.diff_ids).to.deep.equal(images.busybox.diffIds);
    for (const l of manifest.layers) {
      const blob = await httpRequest(`${reg.url}/v2/skiff-test/busybox/blobs/${l.digest}`);
      expect(blob.status).to.equal(200);
      expect(blob.body.length).to.equal(l.size);
      expect(sha256(blob.body)).to.equal(l.digest);
    }
  });

  it('serves the Docker and uncompressed variants with their media types', async () => {
    const docker = await getManifest(reg.url, 'skiff-test/busybox-docker', '1.0');
    expect(docker.headers['content-type']).to.equal(DOCKER_MANIFEST);
    expect(docker.headers['docker-content-digest']).to.equal(images.busyboxDocker.manifestDigest);
    const dm = JSON.parse(docker.body.toString()) as { layers: Array<{ mediaType: string }> };
    expect(dm.layers.every((l) => l.mediaType === DOCKER_LAYER_GZIP)).to.equal(true);
    const plain = await getManifest(reg.url, 'skiff-test/busybox-uncompressed', '1.0');
    const pm = JSON.parse(plain.body.toString()) as { layers: Array<{ mediaType: string; digest: string }> };
    expect(pm.layers.every((l) => l.mediaType === OCI_LAYER_TAR)).to.equal(true);
    // Uncompressed: the blob digest is the diff id.
    expect(pm.layers.map((l) => l.digest)).to.deep.equal(images.busybox.diffIds);
  });

  it('serves the multi-arch index and every platform manifest by digest', async () => {
    for (const [idx, type] of [[images.multiarch, OCI_INDEX], [images.multiarchDocker, DOCKER_MANIFEST_LIST]] as const) {
      const res = await getManifest(reg.url, idx.repo, idx.tag);
      expect(res.headers['content-type']).to.equal(type);
      expect(res.headers['docker-content-digest']).to.equal(idx.digest);
      const body = JSON.parse(res.body.toString()) as {
        manifests: Array<{ digest: string; platform: { architecture: string } }>;
      };
      expect(body.manifests.map((m) => m.platform.architecture)).to.deep.equal([
        hostPlatform().architecture,
        images.foreignArch,
      ]);
      for (const m of body.manifests) {
        const child = await getManifest(reg.url, idx.repo, m.digest);
        expect(child.status).to.equal(200);
        expect(sha256(child.body)).to.equal(m.digest);
      }
    }
  });

  it('pushes chunked uploads, big random layers and hostile layers', async () => {
    const layer = await tarLayer([{ path: '/f', type: 'file', content: 'x'.repeat(5000) }], { gzip: false });
    const pushed = await pushImage(reg.url, 'skiff-test/chunked', '1.0', buildImage({ layers: [layer] }), undefined, {
      chunkSize: 1024,
    });
    const blob = await httpRequest(`${reg.url}/v2/skiff-test/chunked/blobs/${pushed.layerDigests[0]}`);
    expect(blob.body.equals(layer.blob)).to.equal(true);

    const big = await pushBigImage(reg.url, 2, { layers: 2 });
    cleanups.push(() => big.cleanup());
    expect(big.pushed.refs).to.deep.equal([`${reg.host}/skiff-bench/big:1.0`]);
    expect(big.totalSize).to.be.greaterThan(2 * 1024 * 1024);
    const bigBlob = await httpRequest(`${reg.url}/v2/skiff-bench/big/blobs/${big.pushed.layerDigests[1]}`);
    expect(sha256(bigBlob.body)).to.equal(big.pushed.layerDigests[1]);

    const hostile = await hostileLayers();
    const hostileImages = await pushHostileImages(reg.url, hostile);
    expect(Object.keys(hostileImages)).to.have.members(hostile.layers.map((l) => l.kind));
    const traversal = hostile.layers.find((l) => l.kind === 'traversal')!;
    const names: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (h, s, next) => {
      names.push(h.name);
      s.on('end', () => next());
      s.resume();
    });
    await new Promise((resolve, reject) => {
      extract.on('finish', () => resolve(undefined)).on('error', reject);
      extract.end(traversal.layer.tar);
    });
    expect(names).to.include(`../../escape-${hostile.token}`);
  });

  it('htpasswd registry refuses anonymous access and accepts the credentials', async () => {
    const secure = await startRegistry({ htpasswd: CREDS });
    cleanups.push(() => secure.stop());
    const anon = await httpRequest(`${secure.url}/v2/`);
    expect(anon.status).to.equal(401);
    expect(anon.headers['www-authenticate']).to.match(/^Basic realm="skiff-test"/);
    const wrong = await httpRequest(`${secure.url}/v2/`, {
      headers: { authorization: basicAuthHeader({ ...CREDS, password: 'nope' }) },
    });
    expect(wrong.status).to.equal(401);
    const auth = { authorization: basicAuthHeader(CREDS) };
    expect((await httpRequest(`${secure.url}/v2/`, { headers: auth })).status).to.equal(200);

    const layer = await tarLayer([{ path: 'hello', type: 'file', content: 'hi\n' }], { gzip: true });
    const pushed = await pushImage(secure.url, 'skiff-test/private', '1.0', buildImage({ layers: [layer] }), CREDS);
    expect((await getManifest(secure.url, 'skiff-test/private', '1.0')).status).to.equal(401);
    const ok = await getManifest(secure.url, 'skiff-test/private', '1.0', auth);
    expect(ok.status).to.equal(200);
    expect(ok.headers['docker-content-digest']).to.equal(pushed.manifestDigest);
  });

  it('token proxy challenges, issues a token, then serves the manifest', async () => {
    const proxy: TokenProxy = await startTokenProxy(reg.url, CREDS);
    cleanups.push(() => proxy.stop());
    const repo = 'skiff-test/busybox';
    const anon = await getManifest(proxy.url, repo, '1.0');
    expect(anon.status).to.equal(401);
    expect(anon.headers['www-authenticate']).to.equal(
      `Bearer realm="${proxy.url}/token",service="skiff-test",scope="repository:${repo}:pull"`,
    );
    const tokenUrl = `${proxy.url}/token?service=skiff-test&scope=repository:${repo}:pull`;
    expect((await httpRequest(tokenUrl)).status).to.equal(401);
    const tokenRes = await httpRequest(tokenUrl, { headers: { authorization: basicAuthHeader(CREDS) } });
    expect(tokenRes.status).to.equal(200);
    const body = JSON.parse(tokenRes.body.toString()) as { token: string; access_token: string; expires_in: number };
    expect(body.access_token).to.equal(body.token);
    expect(body.expires_in).to.equal(300);
    expect(proxy.tokenRequests).to.equal(2);

    const bearer = { authorization: `Bearer ${body.token}` };
    const res = await getManifest(proxy.url, repo, '1.0', bearer);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal(OCI_MANIFEST);
    expect(res.headers['docker-content-digest']).to.equal(images.busybox.manifestDigest);
    const head = await httpRequest(`${proxy.url}/v2/${repo}/blobs/${images.busybox.configDigest}`, {
      method: 'HEAD',
      headers: bearer,
    });
    expect(head.status).to.equal(200);
    expect(head.headers['docker-content-digest']).to.equal(images.busybox.configDigest);
    expect((await getManifest(proxy.url, repo, '1.0', { authorization: 'Bearer forged' })).status).to.equal(401);
  });
});
