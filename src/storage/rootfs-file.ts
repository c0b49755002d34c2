// Reading a file out of a container's root filesystem, which the image (and, once it ran, the
// container) controls. The file is data, never a hazard to the daemon:
// - the path resolves inside the rootfs (RESOLVE_IN_ROOT: a symlink to /etc/shadow means the
//   rootfs's /etc/shadow), through no magic link and across no mount;
// - it is first opened O_PATH and fstat'ed: only a regular file is ever really opened, so a FIFO
//   cannot block and a device node is never opened on the host (opening some has side effects);
// - every call runs off the event loop, and the whole read has a time limit;
// - at most `maxBytes` are read: a bigger file is refused from its size, before any read.
// runc reads /etc/passwd inside the container's own process, so a hostile file hurts only the
// container there; containerd reads it on the host scoped to the rootfs (symlinks) but with no
// size limit and no file-type check.
import { closeSync, fstat, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import {
  AT_FDCWD,
  O_DIRECTORY,
  O_NOCTTY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_XDEV,
  openat2,
} from '../sys/openat2-calls.js';

const fstatAsync = promisify(fstat);

/**
 * Passwd and group files of real images are kilobytes; LDAP-sized ones a few hundred. Parsing is
 * on the event loop (oci/user.ts), ~0.2 s for a hostile file of this size: keep it small.
 */
export const DEFAULT_MAX_BYTES = 1024 * 1024;
/** A local overlay answers in microseconds: this long means something is wrong below it. */
export const DEFAULT_TIMEOUT_MS = 5000;
const CHUNK = 64 * 1024;

export type RootfsFile =
  | { readonly state: 'read'; readonly text: string }
  | { readonly state: 'absent' }
  /** Present but not usable as data: the reason reads after the path ("is a FIFO, …"). */
  | { readonly state: 'unusable'; readonly reason: string };

export interface RootfsFileOptions {
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
}

function typeName(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

const errnoReason: Readonly<Record<string, string>> = {
  ELOOP: 'has too many levels of symbolic links',
  EXDEV: 'resolves across a mount',
  EAGAIN: 'could not be resolved safely (the kernel asked for a retry)',
};

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already: nothing to leak.
  }
}

/**
 * Reads `path` (relative to the rootfs, e.g. "etc/passwd") from the root filesystem mounted at
 * `rootfs`. Never throws for what the file is; throws only when the rootfs itself cannot be
 * opened (a daemon fault, not the image's).
 */
export async function readRootfsFile(rootfs: string, path: string, opts: RootfsFileOptions = {}): Promise<RootfsFile> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<RootfsFile>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'unusable', reason: `did not open and read within ${timeoutMs / 1000} s` }), timeoutMs);
  });
  // A read that loses the race still closes its fds when it finally ends (readBounded's finally).
  try {
    return await Promise.race([readBounded(rootfs, path, opts.maxBytes ?? DEFAULT_MAX_BYTES), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBounded(rootfs: string, path: string, maxBytes: number): Promise<RootfsFile> {
  const root = await openat2(AT_FDCWD, rootfs, O_PATH | O_DIRECTORY, 0);
  let pathFd: number | undefined;
  let fh: FileHandle | undefined;
  try {
    try {
      pathFd = await openat2(root, path, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent' };
      return { state: 'unusable', reason: errnoReason[code] ?? `cannot be opened (${code || String(e)})` };
    }
    const st = await fstatAsync(pathFd);
    if (!st.isFile()) return { state: 'unusable', reason: `is ${typeName(st)}, not a regular file` };
    if (st.size > maxBytes) return { state: 'unusable', reason: `is ${st.size} bytes, more than the ${maxBytes} Skiff reads` };
    // Reopening the O_PATH fd reaches exactly the inode checked above, whatever the tree does now.
    fh = await open(`/proc/self/fd/${pathFd}`, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    const again = await fh.stat();
    if (!again.isFile() || again.ino !== st.ino || again.dev !== st.dev) return { state: 'unusable', reason: 'changed while it was opened' };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      // It grew past the limit after the fstat.
      if (total > maxBytes) return { state: 'unusable', reason: `is more than the ${maxBytes} bytes Skiff reads` };
    }
    return { state: 'read', text: Buffer.concat(chunks, total).toString('utf8') };
  } finally {
    await fh?.close().catch(() => {});
    if (pathFd !== undefined) closeQuietly(pathFd);
    closeQuietly(root);
  }
}
