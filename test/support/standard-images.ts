// The fixture set most integration tests pull. Layer contents are chosen so one unpack exercises
// multi-layer ordering, whiteouts and opaque dirs; digests are stable across runs because every
// timestamp is fixed (they change only when Debian's busybox-static does).
import { buildImage, type BuiltImage, type ImageConfigInput, type MediaTypes } from './oci-image.js';
import { pushImage, pushIndex, type PushedImage, type PushedIndex, type RegistryCredentials } from './registry-push.js';
import { busyboxLayer, tarLayer, type LayerEntry, type TarLayer } from './tar-layer.js';

export const STANDARD_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'SKIFF_TEST=1',
];

/** The config of busybox-root and the multiarch images: no User, so root. */
export const ROOT_CONFIG: ImageConfigInput = {
  Env: STANDARD_ENV,
  Cmd: ['/bin/sh'],
  WorkingDir: '/data',
  Labels: { 'io.skiff.test': 'busybox' },
};

export const STANDARD_CONFIG: ImageConfigInput = { ...ROOT_CONFIG, User: '1000' };

/** Layer 2: content that layer 3 then partly hides. */
export const DATA_LAYER_ENTRIES: LayerEntry[] = [
  { path: 'data', type: 'dir', uid: 1000, gid: 1000 },
  { path: 'data/a', type: 'file', content: 'a\n' },
  { path: 'data/b', type: 'file', content: 'b\n' },
  { path: 'data/dir', type: 'dir' },
  { path: 'data/dir/x', type: 'file', content: 'x\n', mode: 0o600, uid: 1000, gid: 1000 },
  { path: 'opaque', type: 'dir' },
  { path: 'opaque/old1', type: 'file', content: 'old1\n' },
  { path: 'opaque/old2', type: 'file', content: 'old2\n' },
  { path: 'opaque/sub', type: 'dir' },
  { path: 'opaque/sub/deep', type: 'file', content: 'deep\n' },
];

/** Layer 3: whiteout /data/a, make /opaque opaque and give it one new file. */
export const WHITEOUT_LAYER_ENTRIES: LayerEntry[] = [
  { path: 'data', type: 'dir', uid: 1000, gid: 1000 },
  { path: 'data/a', type: 'whiteout' },
  { path: 'opaque', type: 'dir' },
  { path: 'opaque', type: 'opaque' },
  { path: 'opaque/new', type: 'file', content: 'new\n' },
];

/** What the merged rootfs of the standard image holds beyond the busybox base. */
export const STANDARD_EXPECTED = {
  present: { '/data/b': 'b\n', '/data/dir/x': 'x\n', '/opaque/new': 'new\n' },
  absent: ['/data/a', '/data/.wh.a', '/opaque/old1', '/opaque/old2', '/opaque/sub', '/opaque/.wh..wh..opq'],
};

export interface StandardLayers {
  base: TarLayer;
  data: TarLayer;
  whiteout: TarLayer;
}

export async function standardLayers(gzip = true): Promise<StandardLayers> {
  const [base, data, whiteout] = await Promise.all([
    busyboxLayer({ gzip }),
    tarLayer(DATA_LAYER_ENTRIES, { gzip }),
    tarLayer(WHITEOUT_LAYER_ENTRIES, { gzip }),
  ]);
  return { base, data, whiteout };
}

function standardImage(l: StandardLayers, config: ImageConfigInput, mediaTypes: MediaTypes): BuiltImage {
  return buildImage({
    layers: [l.base, l.data, l.whiteout],
    config,
    mediaTypes,
    createdBy: ['busybox-static base', 'add /data and /opaque', 'whiteout /data/a, opaque /opaque'],
  });
}

/** A small image for a platform this node is not, so platform selection has something to skip. */
async function foreignImage(arch: string, mediaTypes: MediaTypes): Promise<BuiltImage> {
  const layer = await tarLayer([{ path: 'README', type: 'file', content: `not for this node: ${arch}\n` }], {
    gzip: true,
  });
  return buildImage({ layers: [layer], config: { Cmd: ['/README'] }, mediaTypes, arch });
}

export interface StandardImages {
  /** skiff-test/busybox:1.0 and :latest, one image, User "1000". */
  busybox: PushedImage;
  /** skiff-test/busybox-user:1.0, User "skiffuser". */
  busyboxUser: PushedImage;
  /** skiff-test/busybox-root:1.0, no User (runs as root). */
  busyboxRoot: PushedImage;
  /** skiff-test/busybox-docker:1.0, Docker schema 2 media types, same layers as busybox. */
  busyboxDocker: PushedImage;
  /** skiff-test/busybox-uncompressed:1.0, OCI with plain tar layers. */
  busyboxUncompressed: PushedImage;
  /** skiff-test/multiarch:1.0, OCI index: this node's arch (busybox-root config) + linux/s390x. */
  multiarch: PushedIndex;
  /** skiff-test/multiarch-docker:1.0, the same as a Docker manifest list. */
  multiarchDocker: PushedIndex;
  /** The arch of the dummy entry in the indexes. */
  foreignArch: string;
}

export async function pushStandardImages(
  registryUrl: string,
  auth?: RegistryCredentials,
): Promise<StandardImages> {
  const [gz, plain] = await Promise.all([standardLayers(true), standardLayers(false)]);
  const foreignArch = process.arch === 's390x' ? 'ppc64le' : 's390x';
  const [foreignOci, foreignDocker] = await Promise.all([
    foreignImage(foreignArch, 'oci'),
    foreignImage(foreignArch, 'docker'),
  ]);

  const [busybox, busyboxUser, busyboxRoot, busyboxDocker, busyboxUncompressed, multiarch, multiarchDocker] =
    await Promise.all([
      pushImage(registryUrl, 'skiff-test/busybox', ['1.0', 'latest'], standardImage(gz, STANDARD_CONFIG, 'oci'), auth),
      pushImage(
        registryUrl,
        'skiff-test/busybox-user',
        '1.0',
        standardImage(gz, { ...STANDARD_CONFIG, User: 'skiffuser' }, 'oci'),
        auth,
      ),
      pushImage(registryUrl, 'skiff-test/busybox-root', '1.0', standardImage(gz, ROOT_CONFIG, 'oci'), auth),
      pushImage(registryUrl, 'skiff-test/busybox-docker', '1.0', standardImage(gz, STANDARD_CONFIG, 'docker'), auth),
      pushImage(
        registryUrl,
        'skiff-test/busybox-uncompressed',
        '1.0',
        standardImage(plain, STANDARD_CONFIG, 'oci'),
        auth,
      ),
      pushIndex(registryUrl, 'skiff-test/multiarch', '1.0', [standardImage(gz, ROOT_CONFIG, 'oci'), foreignOci], auth),
      pushIndex(
        registryUrl,
        'skiff-test/multiarch-docker',
        '1.0',
        [standardImage(gz, ROOT_CONFIG, 'docker'), foreignDocker],
        auth,
      ),
    ]);
  return {
    busybox,
    busyboxUser,
    busyboxRoot,
    busyboxDocker,
    busyboxUncompressed,
    multiarch,
    multiarchDocker,
    foreignArch,
  };
}
