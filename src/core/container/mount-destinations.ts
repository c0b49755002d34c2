// Where a bind mount's destination lands in the image: the path with the image's symlinks followed
// inside the rootfs, absolute ones and ".." clamped at its root (as skiff-init's
// openat2(RESOLVE_IN_ROOT) will follow them), so CreateContainer can refuse a volume that a symlink
// routes into /proc before anything runs. Only the image's own files are read (nothing runs in
// the rootfs yet); skiff-init checks again where the path really resolves at start.
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkProcDestination } from '../../oci/mounts.js';
import type { OciMount } from '../../oci/types.js';
import { invalidArgument } from '../errors.js';

/** As many symlinks as the kernel follows in one lookup. */
const MAX_LINKS = 40;

/**
 * The container path `path` resolves to under `rootfs`. Components that do not exist (skiff-init
 * makes them) are taken as they are; InvalidArgument after MAX_LINKS symlinks.
 */
export function resolveInRootfs(rootfs: string, path: string): string {
  const resolved: string[] = [];
  const rest = path.split('/');
  let links = 0;
  let missing = false;
  while (rest.length > 0) {
    const part = rest.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    if (!missing) {
      const host = join(rootfs, ...resolved, part);
      let link: string | undefined;
      try {
        link = lstatSync(host).isSymbolicLink() ? readlinkSync(host) : undefined;
      } catch {
        // Missing, or below a file: what follows is made by skiff-init (or refused there).
        missing = true;
      }
      if (link !== undefined) {
        if (++links > MAX_LINKS) throw invalidArgument(`mount path ${path}: too many levels of symbolic links in the image`);
        if (link.startsWith('/')) resolved.length = 0;
        rest.unshift(...link.split('/'));
        continue;
      }
    }
    resolved.push(part);
  }
  return `/${resolved.join('/')}`;
}

/** InvalidArgument for a bind whose destination the image's symlinks send into /proc. */
export function checkBindDestinations(rootfs: string, mounts: readonly OciMount[]): void {
  for (const m of mounts) {
    if (m.type === 'bind') checkProcDestination(resolveInRootfs(rootfs, m.destination), m.destination);
  }
}
