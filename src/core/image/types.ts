// What the image service hands up to the CRI edge.
import type { ImageRecord } from '../../storage/images/image-store.js';

export type { ImageRecord } from '../../storage/images/image-store.js';

/** Credentials from the CRI AuthConfig; only the fields the caller set. */
export interface PullAuth {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** base64 "user:password". */
  readonly auth?: string | undefined;
  readonly serverAddress?: string | undefined;
  readonly identityToken?: string | undefined;
  readonly registryToken?: string | undefined;
}

export interface ImageView {
  readonly record: ImageRecord;
  readonly pinned: boolean;
  readonly user: { readonly uid?: bigint; readonly username?: string };
}

export interface FsUsage {
  readonly timestampNs: bigint;
  readonly mountpoint: string;
  readonly usedBytes: bigint;
  readonly inodesUsed: bigint;
}
