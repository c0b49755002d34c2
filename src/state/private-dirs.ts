// Modes of the directories Skiff keeps things in. Containers' files live below them (writable
// layers, rootfs mount points, pod /dev/shm), and a container's root can plant a setuid-root
// binary or a device node there: a host user who can reach one by path owns the node
// (containerd CVE-2021-41103, moby CVE-2021-41091). So every directory that leads to container
// files is 0700, root only. The state dir alone is 0711: the CRI socket (0660) is in it, and
// 0711 lets a client allowed by the socket's own mode reach it without listing the dir. Made at
// start-up, and tightened when an earlier version (or an admin) left them looser.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { failedPrecondition, hasErrno } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import type { Paths } from './paths.js';

export interface DirMode {
  readonly path: string;
  readonly mode: number;
}

/** 0711: traversal only, for the socket; see the top of the file. */
export const STATE_DIR_MODE = 0o711;
export const PRIVATE_DIR_MODE = 0o700;

/** The roots and every top-level dir under them, in creation order (parents first). */
export function privateDirs(paths: Paths): DirMode[] {
  const priv = (path: string): DirMode => ({ path, mode: PRIVATE_DIR_MODE });
  return [
    priv(paths.roots.root),
    { path: paths.roots.state, mode: STATE_DIR_MODE },
    ...[paths.contentDir, paths.layersDir, paths.imagesDir, paths.ipamDir, paths.writableDir, paths.runtimeRecords].map(priv),
    ...[dirname(paths.sandboxRecords), paths.nsDir, paths.sandboxesDir, paths.containersDir, paths.exitsDir, paths.attachDir].map(priv),
  ];
}

/**
 * Creates each dir with its mode, or sets the mode of one that exists (a symlinked root, as an
 * admin may make /var/lib/skiff, is followed: its target gets the mode).
 */
export async function securePrivateDirs(dirs: readonly DirMode[], log?: Logger): Promise<void> {
  for (const { path, mode } of dirs) {
    await mkdir(path, { recursive: true, mode }).catch((e: unknown) => {
      if (!hasErrno(e, 'EEXIST')) throw e;
    });
    const st = await stat(path);
    if (!st.isDirectory()) throw failedPrecondition(`${path} is not a directory`);
    const had = st.mode & 0o7777;
    if (had === mode) continue;
    await chmod(path, mode);
    // mkdir's mode passes through the umask: only a dir that existed is news.
    if ((had & ~mode) !== 0) log?.info('tightened the mode of a Skiff directory', { path, from: had.toString(8), to: mode.toString(8) });
  }
}
