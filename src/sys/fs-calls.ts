// File-system calls Node does not offer: device nodes, extended attributes that must not follow
// symlinks, and syncfs. Layer unpacking needs them (whiteouts are 0/0 char devices, opaque dirs and
// file capabilities are xattrs); one syncfs makes a whole unpacked layer durable without an fsync
// per file.
import koffi from 'koffi';
import { check, fn } from './libc.js';
import { SyscallError } from './errno.js';

const ENODATA = 61;
const ERANGE = 34;

/** dev_t as glibc's gnu_dev_makedev builds it; bigint because dev_t is 64 bits wide. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permission bits; umask applies. */
export function mknod(path: string, mode: number, dev: bigint): void {
  const f = fn('int mknod(const char *path, uint32_t mode, uint64_t dev)', 'mknod');
  check('mknod', f(path, mode, dev) as number, path);
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  const f = fn(
    'int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)',
    'lsetxattr',
  );
  check('lsetxattr', f(path, name, value, value.length, 0) as number, `${path} ${name}`);
}

/** The attribute's value, or undefined when the file does not have it. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const f = fn('long lgetxattr(const char *path, const char *name, void *value, size_t size)', 'lgetxattr');
  // The value can change between asking its size and reading it: ERANGE means ask again.
  for (;;) {
    const size = f(path, name, null, 0) as number;
    if (size === -1) {
      if (koffi.errno() === ENODATA) return undefined;
      check('lgetxattr', size, `${path} ${name}`);
    }
    const buf = Buffer.alloc(size);
    if (size === 0) return buf;
    const n = f(path, name, buf, size) as number;
    if (n === -1) {
      const errno = koffi.errno();
      if (errno === ERANGE) continue;
      if (errno === ENODATA) return undefined;
      throw new SyscallError('lgetxattr', errno, `${path} ${name}`);
    }
    return buf.subarray(0, n);
  }
}

export function llistxattr(path: string): string[] {
  const f = fn('long llistxattr(const char *path, void *list, size_t size)', 'llistxattr');
  for (;;) {
    const size = check('llistxattr', f(path, null, 0) as number, path);
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const n = f(path, buf, size) as number;
    if (n === -1) {
      const errno = koffi.errno();
      if (errno === ERANGE) continue;
      throw new SyscallError('llistxattr', errno, path);
    }
    return buf
      .subarray(0, n)
      .toString('utf8')
      .split('\0')
      .filter((s) => s !== '');
  }
}

/**
 * Flushes the whole file system holding fd. Runs on koffi's worker thread: a flush can take seconds
 * and must not stall the event loop.
 */
export function syncfs(fd: number): Promise<void> {
  const f = fn('int syncfs(int fd)', 'syncfs');
  return new Promise((resolve, reject) => {
    f.async(fd, (err: unknown, ret: number) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else if (ret === -1) reject(new SyscallError('syncfs', koffi.errno()));
      else resolve();
    });
  });
}
