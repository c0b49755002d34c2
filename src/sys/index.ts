// What the rest of the daemon may ask of the kernel directly. Code above sys/ depends on this
// interface, so unit tests can hand in a fake that records calls and injects errors.
import * as libc from './libc.js';

export { SyscallError, errnoName } from './errno.js';

export interface Sys {
  /** Takes an exclusive, non-blocking flock on an open fd; throws EWOULDBLOCK if someone holds it. */
  lockExclusive(fd: number): void;
}

export function realSys(): Sys {
  return {
    lockExclusive: (fd) => libc.flock(fd, libc.LOCK_EX | libc.LOCK_NB),
  };
}
