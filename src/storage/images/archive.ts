// Image archives, for nodes that load images without a registry (`skiffd images import FILE`): an
// OCI image layout (ctr export, buildx, skopeo, docker 25+) or a docker-save tarball, either one
// possibly gzipped. This reads one into the content store in one streaming pass and says which
// images it holds; the image records are the caller's business.
import type { ImagesConfig } from '../../config/images.js';
import type { OpContext } from '../../core/context.js';
import type { Digest } from '../../core/ids.js';
import type { ContentStore } from '../content/store.js';
import type { Compression } from '../registry/manifest.js';
import { dockerTagsByConfig, readDockerSave } from './archive-docker.js';
import { readOciLayout } from './archive-oci.js';
import { archiveError, scanArchive } from './archive-scan.js';

export interface ArchiveLayer {
  digest: Digest;
  size: number;
  mediaType: string;
  compression: Compression;
}

export interface ArchiveImage {
  /** Normalised tags ("docker.io/library/busybox:1.0") found in the archive for this image; may be empty. */
  tags: string[];
  /**
   * Digest of the image manifest: the archive's own (OCI layout), or for docker-save archives one
   * synthesised here (an OCI image manifest, stored in the content store too).
   */
  manifestDigest: Digest;
  manifestBytes: Buffer;
  configDigest: Digest;
  configBytes: Buffer;
  /** Base layer first. */
  layers: ArchiveLayer[];
}

export interface ArchiveOptions {
  /** The registry of names without one ("busybox:1.0"), as for pulls. */
  readonly defaultRegistry: string;
  /** What one member, and the archive as a whole, may hold. */
  readonly limits: ImagesConfig;
}

/**
 * Stores every blob of the archive `file` in `content` (digests verified) and returns its images,
 * this node's platform only for multi-platform ones. InvalidArgument, naming the member, for an
 * archive that is damaged, refers to blobs it lacks, or has member paths that leave it.
 */
export async function readImageArchive(
  ctx: OpContext,
  file: string,
  content: ContentStore,
  opts: ArchiveOptions,
): Promise<ArchiveImage[]> {
  const scan = await scanArchive(ctx, file, content, opts.limits);
  let images: ArchiveImage[];
  if (scan.small.has('index.json')) {
    images = await readOciLayout(ctx, scan, content, opts);
    // docker 25+ writes both; its RepoTags may name what index.json does not.
    if (scan.small.has('manifest.json')) {
      const byConfig = dockerTagsByConfig(ctx, scan, opts);
      for (const image of images) {
        for (const t of byConfig.get(image.configDigest) ?? []) if (!image.tags.includes(t)) image.tags.push(t);
      }
    }
  } else if (scan.small.has('manifest.json')) {
    images = await readDockerSave(ctx, scan, content, opts);
  } else {
    throw archiveError(file, 'neither index.json (OCI image layout) nor manifest.json (docker save) in it: not an image archive');
  }
  ctx.log.debug('image archive read', { file, images: images.map((i) => ({ manifest: i.manifestDigest, tags: i.tags })) });
  return images;
}
