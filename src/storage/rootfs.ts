// A container's root filesystem: an overlay of the image's unpacked layers (read-only, shared)
// and a writable upper dir of its own. Layer paths are short (layers/<n>/fs) because overlay's
// mount data must fit in one page.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hasErrno, invalidArgument } from '../core/errors.js';
import { MNT_DETACH, mount, umount2 } from '../sys/mount-calls.js';
import { removeTree } from './remove-tree.js';

/** For a writable dir whose container is gone (left over after a reboot). */
export { removeTree };

const PAGE = 4096;

export interface RootfsDirs {
  /** Where the overlay is mounted (the bundle's rootfs). */
  readonly target: string;
  readonly upper: string;
  readonly work: string;
}

/** The writable dirs below `writable` (<root>/writable/<id>), mounted on the bundle's rootfs. */
export function rootfsDirs(writable: string, bundleRootfs: string): RootfsDirs {
  return { target: bundleRootfs, upper: join(writable, 'upper'), work: join(writable, 'work') };
}

/** `lowerDirs` top layer first, as overlayfs wants them. */
export function overlayData(lowerDirs: readonly string[], dirs: RootfsDirs): string {
  if (lowerDirs.length === 0) throw invalidArgument('an image with no layers has no root filesystem');
  for (const d of lowerDirs) if (/[,:\n]/.test(d)) throw invalidArgument(`layer path ${JSON.stringify(d)} cannot go into overlay options`);
  const data = `lowerdir=${lowerDirs.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  if (data.length >= PAGE) throw invalidArgument(`overlay options for ${lowerDirs.length} layers exceed one page (${data.length} bytes)`);
  return data;
}

export function mountRootfs(lowerDirs: readonly string[], dirs: RootfsDirs): void {
  const data = overlayData(lowerDirs, dirs);
  // The container's own dir is root's alone; upper keeps 0755, as it becomes the mode of "/".
  mkdirSync(dirname(dirs.upper), { recursive: true, mode: 0o700 });
  for (const d of [dirs.target, dirs.upper, dirs.work]) mkdirSync(d, { recursive: true, mode: 0o755 });
  mount('overlay', dirs.target, 'overlay', 0, data);
}

/**
 * Idempotent. The upper and work dirs go too (with their parent): a removed container's changes
 * are gone. The container shaped that tree: it is removed off the event loop, by fd, whatever its
 * size and depth (remove-tree.ts).
 */
export async function removeRootfs(dirs: RootfsDirs): Promise<void> {
  try {
    umount2(dirs.target, MNT_DETACH);
  } catch (e) {
    if (!hasErrno(e, 'EINVAL') && !hasErrno(e, 'ENOENT')) throw e;
  }
  await removeTree(dirname(dirs.upper));
}
