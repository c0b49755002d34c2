// Building the image side of the daemon from the config: shared by the daemon (main.ts) and by
// `skiffd images import` when no daemon is running.
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import type { Sys } from './sys/index.js';
import type { Paths } from './state/paths.js';
import { ImageService } from './core/image/image-service.js';
import { ContentStore } from './storage/content/store.js';
import { LayerStore } from './storage/layers/layer-store.js';
import { ImageStore } from './storage/images/image-store.js';
import { RegistryClient } from './storage/registry/client.js';

export async function openImageService(
  config: Config,
  paths: Paths,
  log: Logger,
  sys: Sys,
): Promise<{ images: ImageService; layers: LayerStore }> {
  const content = new ContentStore(paths.contentDir);
  const layers = new LayerStore(paths.layersDir, sys);
  const images = new ImageStore(paths.imagesDir);
  // Both remove what an interrupted pull left: temp blobs, half-unpacked layers.
  await Promise.all([content.init(), layers.init()]);
  for (const bad of await images.load()) log.warn('image record ignored', bad);
  const service = new ImageService({
    registryConfig: config.registry,
    limits: config.images,
    registry: new RegistryClient(config.registry, log),
    content,
    layers,
    images,
    sys,
    fsMountpoint: paths.layersDir,
  });
  return { images: service, layers };
}
