// Where a bind mount's destination lands in the image: the path with the image's symlinks followed
// inside the rootfs, absolute ones and ".." clamped at its root (as skiff-init's
// openat2(RESOLVE_IN_ROOT) will follow them), so CreateContainer can refuse a volume that a symlink
// routes into /proc before anything runs. Only the image's own files are read (storage/
// rootfs-path.ts: bounded, through fds); skiff-init checks again where the path really resolves at
// start.
import { closeSync } from 'node:fs';
import { checkProcDestination } from '../../oci/mounts.js';
import type { OciMount } from '../../oci/types.js';
import { openRoot, resolveInRoot } from '../../storage/rootfs-path.js';

/** The container path `path` resolves to in the rootfs at `rootfs` (see resolveInRoot). */
export function resolveInRootfs(rootfs: string, path: string): string {
  const rootfd = openRoot(rootfs);
  try {
    return resolveInRoot(rootfd, path);
  } finally {
    closeSync(rootfd);
  }
}

/** InvalidArgument for a bind whose destination the image's symlinks send into /proc. */
export function checkBindDestinations(rootfs: string, mounts: readonly OciMount[]): void {
  const rootfd = openRoot(rootfs);
  try {
    for (const m of mounts) {
      if (m.type === 'bind') checkProcDestination(resolveInRoot(rootfd, m.destination), m.destination);
    }
  } finally {
    closeSync(rootfd);
  }
}
