// Where a path leads in an image's root filesystem, for checks at CreateContainer, the way
// skiff-init will resolve it at the start: the image's symlinks followed inside the root
// (absolute ones and ".." clamped at it, as openat2(RESOLVE_IN_ROOT) does), components that do
// not exist taken as they are (skiff-init makes them). The image is hostile data: the walk goes
// one component at a time through fds (the kernel never walks more than one name per call, and
// no host path is looked up), link targets are bytes (a name need not be UTF-8), and the whole
// walk is bounded: MAX_LINKS symlinks and MAX_COMPONENTS components, so a chain of 4 KiB links
// costs at most a few hundred small system calls, not tens of thousands.
import { closeSync, fstatSync } from 'node:fs';
import { invalidArgument } from '../core/errors.js';
import {
  AT_FDCWD,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_SYMLINKS,
  openat2Sync,
  readlinkFd,
} from '../sys/openat2-calls.js';
import { SyscallError } from '../sys/errno.js';

/** As many symlinks as the kernel follows in one lookup. */
export const MAX_LINKS = 40;
/**
 * Path components walked for one path, link targets included. A real image needs a few dozen;
 * 40 links of 4 KiB hold tens of thousands.
 */
export const MAX_COMPONENTS = 256;

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
const SLASH = 0x2f;

/** The root filesystem at `dir` (a path of the daemon's), opened for lookups under it. */
export function openRoot(dir: string): number {
  return openat2Sync(AT_FDCWD, dir, O_PATH | O_DIRECTORY, 0);
}

function split(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      if (i > start) parts.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

const isErrno = (e: unknown, ...codes: string[]): boolean => e instanceof SyscallError && codes.includes(e.code);

/**
 * The container path `path` resolves to in the root at `rootfd` ("/proc/sys" for "/etc/sysctl"
 * when /etc/sysctl -> /proc/sys). Invalid bytes read as U+FFFD: the result is for comparisons
 * and messages, never looked up again. InvalidArgument past the bounds.
 */
export function resolveInRoot(rootfd: number, path: string): string {
  const resolved: { name: Buffer; fd: number }[] = [];
  const rest = split(Buffer.from(path, 'utf8'));
  let links = 0;
  let steps = 0;
  let missing = false;
  const closeFrom = (n: number) => {
    for (const r of resolved.splice(n)) if (r.fd >= 0) closeSync(r.fd);
  };
  // Every component still to walk will be walked: refuse as soon as their count is too high.
  const bounded = () => {
    if (steps + rest.length > MAX_COMPONENTS) {
      throw invalidArgument(`mount path ${path}: more than ${MAX_COMPONENTS} path components to walk in the image (symlinks included)`);
    }
  };
  try {
    bounded();
    while (rest.length > 0) {
      const part = rest.shift() as Buffer;
      steps++;
      if (part.equals(DOT)) continue;
      if (part.equals(DOTDOT)) {
        closeFrom(Math.max(0, resolved.length - 1));
        continue;
      }
      if (missing) {
        resolved.push({ name: part, fd: -1 });
        continue;
      }
      const dir = resolved.at(-1)?.fd ?? rootfd;
      let fd: number;
      try {
        // One name, never followed: a symlink comes back as itself.
        fd = openat2Sync(dir, part, O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
      } catch (e) {
        // Missing, below a file, or a name no file system has: skiff-init makes it (or fails).
        if (!isErrno(e, 'ENOENT', 'ENOTDIR', 'ENAMETOOLONG')) throw e;
        missing = true;
        resolved.push({ name: part, fd: -1 });
        continue;
      }
      if (!fstatSync(fd).isSymbolicLink()) {
        resolved.push({ name: part, fd });
        continue;
      }
      let target: Buffer;
      try {
        target = readlinkFd(fd);
      } finally {
        closeSync(fd);
      }
      if (++links > MAX_LINKS) throw invalidArgument(`mount path ${path}: too many levels of symbolic links in the image`);
      if (target[0] === SLASH) closeFrom(0);
      rest.unshift(...split(target));
      bounded();
    }
    return `/${resolved.map((r) => r.name.toString('utf8')).join('/')}`;
  } finally {
    closeFrom(0);
  }
}

/** What the image has at a path when it is looked up through no symlink at all. */
export type PlainPath = 'directory' | 'missing' | 'symlink on the path' | 'not a directory';

/**
 * Whether `path` in the root at `rootfd` is an ordinary directory reached through no symlink,
 * as skiff-init requires of a new filesystem's destination. One lookup; 'missing' when a
 * component does not exist (no symlink before it: skiff-init makes the rest).
 */
export function plainPathIn(rootfd: number, path: string): PlainPath {
  let fd: number;
  try {
    fd = openat2Sync(rootfd, path.replace(/^\/+/, '') || '.', O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 'missing';
    if (isErrno(e, 'ELOOP')) return 'symlink on the path';
    if (isErrno(e, 'ENOTDIR')) return 'not a directory';
    throw e;
  }
  try {
    return fstatSync(fd).isDirectory() ? 'directory' : 'not a directory';
  } finally {
    closeSync(fd);
  }
}
