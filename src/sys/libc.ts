// The only koffi importer. Each binding is declared once, loaded on first use, and wrapped so that
// a -1 return becomes a SyscallError carrying errno. Everything here is synchronous by design:
// these calls are short and must not interleave with other JavaScript (see withNetns in DESIGN.md).
import koffi, { type LibraryHandle } from 'koffi';
import { SyscallError } from './errno.js';

type Fn = ReturnType<LibraryHandle['func']>;
let lib: LibraryHandle | undefined;
const fns = new Map<string, Fn>();

/** Binds a libc function once, by its C declaration; `name` is the cache key. */
export function fn(decl: string, name: string): Fn {
  let f = fns.get(name);
  if (!f) {
    lib ??= koffi.load('libc.so.6');
    f = lib.func(decl);
    fns.set(name, f);
  }
  return f;
}

/** Turns a -1 return into a SyscallError with errno. */
export function check(syscall: string, ret: number, detail?: string): number {
  if (ret === -1) throw new SyscallError(syscall, koffi.errno(), detail);
  return ret;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export function flock(fd: number, operation: number): void {
  check('flock', fn('int flock(int fd, int operation)', 'flock')(fd, operation) as number);
}
