// `skiffd images import`: air-gapped nodes load images from archives, through the running daemon
// or, with none running, straight into its store.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageStatusResponse } from '../../src/generated/runtime/v1/api.js';
import { imageSpec } from '../support/grpc.js';
import { call, runSkiffd, TestDaemon } from '../support/daemon.js';
import { buildImage } from '../support/oci-image.js';
import { STANDARD_CONFIG, standardLayers } from '../support/standard-images.js';
import { entryFor, imageBlobs, indexJson, OCI_LAYOUT, packArchive } from '../support/archive-builder.js';


async function ociArchive(path: string, name: string, user: string) {
  const l = await standardLayers();
  const img = buildImage({ layers: [l.base, l.data, l.whiteout], config: { ...STANDARD_CONFIG, User: user } });
  const body = await packArchive([
    OCI_LAYOUT,
    ...imageBlobs(img),
    indexJson([entryFor(img, { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': '1.0' })]),
  ]);
  await writeFile(path, body);
  return img;
}

describe('skiffd images import', function () {
  this.timeout(60_000);
  let d: TestDaemon;
  before(async function () {
    d = await TestDaemon.create();
  });
  after(async function () {
    await d.cleanup();
  });

  it('imports into the store directly when no daemon runs, and the daemon then lists the image', async function () {
    const file = join(d.dir, 'offline.tar');
    const img = await ociArchive(file, 'registry.k8s.io/skiff-offline:1.0', '1000');
    const r = await runSkiffd(['images', 'import', file, ...d.args()], 60_000);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(`${img.configDigest} registry.k8s.io/skiff-offline:1.0`);
    await d.start();
    const s = await call<object, ImageStatusResponse>(d.images, 'imageStatus', { image: imageSpec('registry.k8s.io/skiff-offline:1.0') });
    expect(s.image?.id).to.equal(img.configDigest);
    expect(s.image?.repoDigests).to.deep.equal([`registry.k8s.io/skiff-offline@${img.manifestDigest}`]);
  });

  it('hands the archive to the running daemon, which serves the image at once', async function () {
    const file = join(d.dir, 'online.tar');
    const img = await ociArchive(file, 'docker.io/library/skiff-online:1.0', 'skiffuser');
    const r = await runSkiffd(['images', 'import', file, '--socket', d.socket, '--state', d.state, '--root', d.root], 60_000);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(img.configDigest);
    const s = await call<object, ImageStatusResponse>(d.images, 'imageStatus', { image: imageSpec('skiff-online:1.0') });
    expect(s.image?.id).to.equal(img.configDigest);
    expect(s.image?.username).to.equal('skiffuser');
  });

  it('fails with one clear line for a file that is not an image archive', async function () {
    const file = join(d.dir, 'junk.tar');
    await writeFile(file, 'not a tar at all');
    const r = await runSkiffd(['images', 'import', file, '--socket', d.socket, '--state', d.state, '--root', d.root]);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/^skiffd: .*junk\.tar/);
  });

  it('answers a wrong command line with exit 2 and its usage', async function () {
    const r = await runSkiffd(['images', 'export', 'x']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('usage: skiffd images import FILE');
  });
});
