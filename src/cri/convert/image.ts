// Images between the CRI's messages and the core's records.
import type { AuthConfig, FilesystemUsage, Image, ImageSpec } from '../../generated/runtime/v1/api.js';
import { invalidArgument } from '../../core/errors.js';
import type { FsUsage, ImageView, PullAuth } from '../../core/image/types.js';

/** The image a request names; an empty name is the caller's mistake. */
export function requireImageName(spec: ImageSpec | undefined, field = 'image.image'): string {
  const name = spec?.image?.trim() ?? '';
  if (name === '') throw invalidArgument(`${field} is empty: name an image by reference or id`);
  return name;
}

/** An ImageSpec naming `image`, its other fields empty. */
export function toImageSpec(image: string): ImageSpec {
  return { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' };
}

export function toImage(v: ImageView): Image {
  const { record, user } = v;
  return {
    id: record.id,
    repoTags: [...record.repoTags],
    repoDigests: [...record.repoDigests],
    size: BigInt(record.size),
    uid: user.uid === undefined ? undefined : { value: user.uid },
    username: user.username ?? '',
    spec: toImageSpec(record.id),
    pinned: v.pinned,
  };
}

/** Empty strings mean "not given" in proto3: keep only what the caller set. */
export function toPullAuth(auth: AuthConfig | undefined): PullAuth | undefined {
  if (!auth) return undefined;
  const a: PullAuth = {
    username: auth.username || undefined,
    password: auth.password || undefined,
    auth: auth.auth || undefined,
    serverAddress: auth.serverAddress || undefined,
    identityToken: auth.identityToken || undefined,
    registryToken: auth.registryToken || undefined,
  };
  return Object.values(a).some((x) => x !== undefined) ? a : undefined;
}

export function toFilesystemUsage(u: FsUsage): FilesystemUsage {
  return {
    timestamp: u.timestampNs,
    fsId: { mountpoint: u.mountpoint },
    usedBytes: { value: u.usedBytes },
    inodesUsed: { value: u.inodesUsed },
  };
}
