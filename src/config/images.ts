// The `images:` section: hard limits on what one pull or `skiffd images import` may unpack. A layer
// or an image past them is refused with ResourceExhausted and leaves nothing behind. The defaults
// are far above real images: they are there to stop decompression bombs, not to budget disk.
import { knownKeys, mapping, number } from './checks.js';

export interface ImagesConfig {
  /** Uncompressed bytes of one layer (its tar stream); also the largest member of an image archive. */
  readonly maxLayerBytes: number;
  /** Uncompressed bytes of all the layers of one image (present ones too); also of one archive. */
  readonly maxImageBytes: number;
  /** Files, directories and links one layer may create; also the members of one archive. */
  readonly maxLayerEntries: number;
}

const GiB = 1024 * 1024 * 1024;

export const DEFAULT_IMAGES_CONFIG: ImagesConfig = Object.freeze({
  maxLayerBytes: 32 * GiB,
  maxImageBytes: 32 * GiB,
  maxLayerEntries: 1_000_000,
});

const MIN_BYTES = 1024 * 1024;
const MAX_BYTES = 2 ** 50;

export function parseImagesConfig(raw: unknown): ImagesConfig {
  if (raw === undefined || raw === null) return DEFAULT_IMAGES_CONFIG;
  const r = mapping('images', raw);
  const d = DEFAULT_IMAGES_CONFIG;
  knownKeys('images.', r, Object.keys(d));
  return Object.freeze({
    maxLayerBytes: number('images.maxLayerBytes', r.maxLayerBytes ?? d.maxLayerBytes, MIN_BYTES, MAX_BYTES),
    maxImageBytes: number('images.maxImageBytes', r.maxImageBytes ?? d.maxImageBytes, MIN_BYTES, MAX_BYTES),
    maxLayerEntries: number('images.maxLayerEntries', r.maxLayerEntries ?? d.maxLayerEntries, 1, 100_000_000),
  });
}
