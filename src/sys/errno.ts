// errno numbers → names and error kinds, so a failed syscall reads like a Node system error.
import { constants } from 'node:os';
import { SkiffError, type ErrorKind } from '../core/errors.js';

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export function errnoName(n: number): string {
  return NAMES.get(n) ?? `errno ${n}`;
}

const KINDS: Readonly<Record<string, ErrorKind>> = {
  ENOENT: 'NotFound',
  EEXIST: 'AlreadyExists',
  EPERM: 'PermissionDenied',
  EACCES: 'PermissionDenied',
  EINVAL: 'InvalidArgument',
  EBUSY: 'Unavailable',
  EAGAIN: 'Unavailable',
  EWOULDBLOCK: 'Unavailable',
  ENOSPC: 'ResourceExhausted',
  ENOMEM: 'ResourceExhausted',
};

/** A SkiffError that also looks like a Node system error (`code`, `errno`, `syscall`). */
export class SyscallError extends SkiffError {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    super(KINDS[code] ?? 'Internal', `${syscall}${detail ? ` ${detail}` : ''}: ${code}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}
