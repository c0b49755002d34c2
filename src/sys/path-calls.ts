// Path lookups Node does not offer, for trees an image controls: openat2(2) with RESOLVE_* flags
// (glibc 2.36 has no wrapper: syscall(2)) and readlinkat(2) of an O_PATH fd. Paths are bytes:
// a name or link target in an image need not be UTF-8. Synchronous: callers ask for one path
// component or one link at a time (the kernel does a bounded amount of work per call), and bound
// how many they ask for.
import { check, fn } from './libc.js';

/** The same number on every architecture (the syscall table was unified before openat2). */
const SYS_OPENAT2 = 437;
export const AT_FDCWD = -100;

export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** Longer link targets do not exist (PATH_MAX includes the NUL). */
const PATH_MAX = 4096;

function cString(path: Buffer | string): Buffer {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  return Buffer.concat([bytes, Buffer.alloc(1)]);
}

/**
 * openat2(dirfd, path, {flags | O_CLOEXEC, resolve}): the new fd, or a SyscallError (ENOENT,
 * ELOOP, ENOTDIR, EXDEV, EAGAIN when the kernel asks for a retry, …).
 */
export function openat2(dirfd: number, path: Buffer | string, flags: number, resolve: number): number {
  // A fixed prototype for the variadic syscall(2): with integer and pointer arguments both
  // calling conventions agree on x86_64 and arm64. `path` as bytes, never re-encoded.
  const f = fn('long syscall(long nr, int dirfd, const void *path, const void *how, size_t size)', 'syscall:openat2:bytes');
  const how = Buffer.alloc(24); // struct open_how { u64 flags; u64 mode; u64 resolve; }
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  return check('openat2', f(SYS_OPENAT2, dirfd, cString(path), how, how.length) as number, String(path));
}

/** The target of the symlink that `fd` (O_PATH | O_NOFOLLOW) is, as bytes. */
export function readlinkFd(fd: number): Buffer {
  const f = fn('long readlinkat(int dirfd, const char *path, void *buf, size_t size)', 'readlinkat');
  const buf = Buffer.alloc(PATH_MAX);
  const n = check('readlinkat', f(fd, '', buf, buf.length) as number, `fd ${fd}`);
  return buf.subarray(0, n);
}
