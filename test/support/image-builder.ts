// One import for tests and benchmarks that build or push images; the pieces live in their own
// files (layers, image JSON, the push client, and the fixture sets).
export {
  BUSYBOX_APPLETS, BUSYBOX_PATH, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, FIXED_TIME, GROUP, OCI_LAYER_GZIP,
  OCI_LAYER_TAR, PASSWD, busyboxEntries, busyboxLayer, sha256, tarLayer,
  type EntryType, type LayerBlob, type LayerEntry, type TarLayer,
} from './tar-layer.js';
export {
  DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, buildImage,
  buildIndex, hostPlatform, layerMediaType,
  type BuildImageOptions, type BuiltImage, type BuiltIndex, type ImageConfigInput, type MediaTypes, type Platform,
} from './oci-image.js';
export {
  RegistryClient, pushImage, pushIndex,
  type PushOptions, type PushedImage, type PushedIndex, type RegistryCredentials,
} from './registry-push.js';
export {
  DATA_LAYER_ENTRIES, ROOT_CONFIG, STANDARD_CONFIG, STANDARD_ENV, STANDARD_EXPECTED, WHITEOUT_LAYER_ENTRIES,
  pushStandardImages, standardLayers,
  type StandardImages, type StandardLayers,
} from './standard-images.js';
export { bigImage, pushBigImage, type BigImage, type BigImageOptions, type PushBigImageOptions } from './big-image.js';
export {
  hostViolations, hostileLayers, prepareHostSentinel, pushHostileImages, removeHostSentinel,
  type HostileKind, type HostileLayer, type HostileSet,
} from './hostile-images.js';
