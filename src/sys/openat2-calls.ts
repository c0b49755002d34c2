// openat2(2), for paths a container or an image controls: RESOLVE_IN_ROOT makes every symlink
// (absolute or "..") resolve inside the given root, as it would inside the container, so no
// link planted by an image can reach a host file. glibc 2.36 has no wrapper: it goes through
// syscall(2). `openat2` runs on koffi's worker thread, since a lookup on a slow or hung file
// system must never stall the event loop; `openat2Sync` (with readlinkat of an O_PATH fd) is for
// callers that walk one path component or one link at a time, a bounded amount of kernel work per
// call. Paths are bytes: a name or link target in an image need not be UTF-8.
import koffi from 'koffi';
import { check, fn } from './libc.js';
import { SyscallError } from './errno.js';

/** The same number on every architecture (the syscall table was unified before openat2). */
const SYS_OPENAT2 = 437;
export const AT_FDCWD = -100;

export const O_RDONLY = 0;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
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

/** struct open_how { u64 flags; u64 mode; u64 resolve; } */
function openHow(flags: number, resolve: number): Buffer {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags), 0);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  return how;
}

// syscall(2) is variadic in C, but koffi runs only fixed prototypes on its worker thread. With
// integer and pointer arguments the two calling conventions agree on x86_64 and arm64 Linux
// (glibc's syscall is a register shuffle in assembly that never reads %al). The path goes as
// bytes (NUL-terminated here), so a name that is not UTF-8 reaches the kernel unchanged.
const decl = 'long syscall(long nr, int dirfd, const void *path, const void *how, size_t size)';

function cString(path: Buffer | string): Buffer {
  return Buffer.concat([typeof path === 'string' ? Buffer.from(path, 'utf8') : path, Buffer.alloc(1)]);
}

/**
 * Opens `path` relative to `dirfd` (AT_FDCWD or an open directory) with `flags` (O_CLOEXEC is
 * always added) and `resolve` (RESOLVE_*). Resolves with the new fd; rejects with a SyscallError
 * (ENOENT, ELOOP, EXDEV, EAGAIN when the kernel asks for a retry, …).
 */
export function openat2(dirfd: number, path: Buffer | string, flags: number, resolve: number): Promise<number> {
  const f = fn(decl, 'syscall:openat2:async');
  const how = openHow(flags | O_CLOEXEC, resolve);
  const cPath = cString(path);
  // koffi hands the worker thread raw pointers into these buffers and holds no reference to
  // them: they stay reachable from here until the callback has run, or the GC could free them
  // while the kernel still reads them.
  const keepAlive: Buffer[] = [cPath, how];
  return new Promise((done, fail) => {
    f.async(SYS_OPENAT2, dirfd, cPath, how, how.length, (err: unknown, ret: number) => {
      keepAlive.length = 0;
      if (err) fail(err instanceof Error ? err : new Error(String(err)));
      // koffi restores the worker thread's errno around this callback.
      else if (ret === -1) fail(new SyscallError('openat2', koffi.errno(), String(path)));
      else done(ret);
    });
  });
}

/** openat2 on the calling thread: the new fd, or a SyscallError as for `openat2`. */
export function openat2Sync(dirfd: number, path: Buffer | string, flags: number, resolve: number): number {
  const f = fn(decl, 'syscall:openat2:sync');
  const how = openHow(flags | O_CLOEXEC, resolve);
  return check('openat2', f(SYS_OPENAT2, dirfd, cString(path), how, how.length) as number, String(path));
}

/** The target of the symlink that `fd` (O_PATH | O_NOFOLLOW) is, as bytes. */
export function readlinkFd(fd: number): Buffer {
  const f = fn('long readlinkat(int dirfd, const char *path, void *buf, size_t size)', 'readlinkat');
  const buf = Buffer.alloc(PATH_MAX);
  const n = check('readlinkat', f(fd, '', buf, buf.length) as number, `fd ${fd}`);
  return buf.subarray(0, n);
}
