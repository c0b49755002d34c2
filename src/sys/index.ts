// What the rest of the daemon may ask of the kernel directly. Code above sys/ depends on this
// interface, so unit tests can hand in a fake that records calls and injects errors.
import * as libc from './libc.js';
import * as fsCalls from './fs-calls.js';

export { SyscallError, errnoName } from './errno.js';
export { makedev } from './fs-calls.js';

export interface Sys {
  /** Takes an exclusive, non-blocking flock on an open fd; throws EWOULDBLOCK if someone holds it. */
  lockExclusive(fd: number): void;
  /** Creates a device node or fifo; `mode` includes the S_IF* type bits, `dev` comes from makedev. */
  mknod(path: string, mode: number, dev: bigint): void;
  /** Sets an extended attribute on the path itself, never on a symlink's target. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** The attribute's value, or undefined when the path does not have it. */
  lgetxattr(path: string, name: string): Buffer | undefined;
  llistxattr(path: string): string[];
  /** Flushes the file system holding fd, off the event loop. */
  syncfs(fd: number): Promise<void>;
}

export function realSys(): Sys {
  return {
    lockExclusive: (fd) => libc.flock(fd, libc.LOCK_EX | libc.LOCK_NB),
    mknod: fsCalls.mknod,
    lsetxattr: fsCalls.lsetxattr,
    lgetxattr: fsCalls.lgetxattr,
    llistxattr: fsCalls.llistxattr,
    syncfs: fsCalls.syncfs,
  };
}
