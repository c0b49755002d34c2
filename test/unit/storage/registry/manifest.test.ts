import { expect } from 'chai';
import { SkiffError } from '../../../../src/core/errors.js';
import { MEDIA_TYPES, parseManifest } from '../../../../src/storage/registry/manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const image = (layers: { mediaType: string }[], extra: Record<string, unknown> = {}) =>
  json({
    schemaVersion: 2,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: d('c'), size: 10 },
    layers: layers.map((l, i) => ({ ...l, digest: d(String(i)), size: 100 + i })),
    ...extra,
  });

function kindOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SkiffError) return `${e.kind}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

describe('storage/registry/manifest', function () {
  it('parses an image manifest and names each layer compression', function () {
    const p = parseManifest(
      image([
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar' },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' },
      ], { mediaType: MEDIA_TYPES.ociManifest }),
      'application/json',
      'x',
    );
    expect(p.kind).to.equal('manifest');
    if (p.kind !== 'manifest') return;
    expect(p.manifest.config.digest).to.equal(d('c'));
    expect(p.manifest.layers.map((l) => l.compression)).to.deep.equal(['gzip', 'gzip', 'none', 'zstd']);
    expect(p.manifest.layers[1]!.size).to.equal(101);
  });

  it('takes the media type from the body, then the header, then the shape', function () {
    const body = image([]);
    expect(parseManifest(body, MEDIA_TYPES.dockerManifest, 'x')).to.have.nested.property('manifest.mediaType', MEDIA_TYPES.dockerManifest);
    expect(parseManifest(body, undefined, 'x')).to.have.nested.property('manifest.mediaType', MEDIA_TYPES.ociManifest);
    const index = json({ schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d('a'), size: 5, platform: { os: 'linux', architecture: 'amd64' } }] });
    const p = parseManifest(index, 'application/json; charset=utf-8', 'x');
    expect(p.kind).to.equal('index');
    if (p.kind === 'index') expect(p.index.manifests[0]!.platform).to.deep.equal({ os: 'linux', architecture: 'amd64' });
  });

  it('refuses schema 1, artifacts and unknown layer types with FailedPrecondition', function () {
    expect(kindOf(() => parseManifest(json({ schemaVersion: 1, name: 'x', fsLayers: [] }), MEDIA_TYPES.dockerSchema1Signed, 'img'))).to.match(/^FailedPrecondition: img: Docker image manifest schema 1/);
    expect(kindOf(() => parseManifest(json({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: d('c'), size: 1 }, layers: [] }), undefined, 'img'))).to.match(/^FailedPrecondition: .*not a container image config/);
    expect(kindOf(() => parseManifest(image([{ mediaType: 'application/x-foo' }]), undefined, 'img'))).to.match(/^FailedPrecondition: .*unsupported media type/);
    expect(kindOf(() => parseManifest(json({ schemaVersion: 2, mediaType: 'application/x-other' }), undefined, 'img'))).to.match(/^FailedPrecondition/);
  });

  it('rejects malformed manifests with InvalidArgument', function () {
    expect(kindOf(() => parseManifest(Buffer.from('nope'), undefined, 'img'))).to.match(/^InvalidArgument: img: manifest is not JSON/);
    expect(kindOf(() => parseManifest(json({ schemaVersion: 3, config: {}, layers: [] }), undefined, 'img'))).to.match(/^InvalidArgument: .*schemaVersion/);
    const badDigest = json({ schemaVersion: 2, config: { mediaType: MEDIA_TYPES.ociConfig, digest: `sha512:${'a'.repeat(128)}`, size: 1 }, layers: [] });
    expect(kindOf(() => parseManifest(badDigest, undefined, 'img'))).to.match(/^InvalidArgument: .*config.digest/);
    const badSize = json({ schemaVersion: 2, config: { mediaType: MEDIA_TYPES.ociConfig, digest: d('c'), size: -1 }, layers: [] });
    expect(kindOf(() => parseManifest(badSize, undefined, 'img'))).to.match(/config.size/);
    expect(kindOf(() => parseManifest(json({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [{}] }), undefined, 'img'))).to.match(/manifests\[0\]/);
  });
});
