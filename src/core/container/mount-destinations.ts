// Where the container's mounts land in the image, checked at CreateContainer so that an image
// that would redirect one is refused (InvalidArgument, naming the mount) before anything runs:
// - a bind whose destination the image's symlinks send into /proc (runc's checkProcMount), as
//   skiff-init's openat2(RESOLVE_IN_ROOT) will follow them;
// - a new filesystem (proc, sysfs, tmpfs…) whose destination has a symlink on its path or is
//   not a directory: skiff-init (and runc) mount those only on an ordinary directory; an image
//   with /proc -> /somewhere would otherwise get the kernel's proc wherever it likes.
// Only the image's own files are read (storage/rootfs-path.ts: bounded, through fds); skiff-init
// checks again where each path really leads at the start.
import { closeSync } from 'node:fs';
import { checkProcDestination } from '../../oci/mounts.js';
import type { OciMount } from '../../oci/types.js';
import { openRoot, plainPathIn, resolveInRoot } from '../../storage/rootfs-path.js';
import { invalidArgument } from '../errors.js';

/** The container path `path` resolves to in the rootfs at `rootfs` (see resolveInRoot). */
export function resolveInRootfs(rootfs: string, path: string): string {
  const rootfd = openRoot(rootfs);
  try {
    return resolveInRoot(rootfd, path);
  } finally {
    closeSync(rootfd);
  }
}

/** A new filesystem's destination: ordinary directory (or missing) in the image, or refused. */
function checkFilesystemDestination(rootfd: number, m: OciMount): void {
  const found = plainPathIn(rootfd, m.destination);
  if (found === 'directory' || found === 'missing') return;
  const why = found === 'symlink on the path' ? 'has a symlink on that path' : 'has no directory there';
  throw invalidArgument(`mount ${m.destination} (${m.type}): the image ${why}, and ${m.type} is mounted only on an ordinary directory`);
}

/**
 * InvalidArgument for a mount the image would redirect: a bind its symlinks send into /proc, a
 * new filesystem whose destination is not an ordinary directory. A destination under an earlier
 * mount (/dev/pts under /dev) lies in that mount at the start, not in the image: not looked at.
 */
export function checkMountDestinations(rootfs: string, mounts: readonly OciMount[]): void {
  const rootfd = openRoot(rootfs);
  try {
    mounts.forEach((m, i) => {
      if (m.type === 'bind') {
        checkProcDestination(resolveInRoot(rootfd, m.destination), m.destination);
        return;
      }
      if (mounts.slice(0, i).some((earlier) => m.destination.startsWith(`${earlier.destination}/`))) return;
      checkFilesystemDestination(rootfd, m);
    });
  } finally {
    closeSync(rootfd);
  }
}
