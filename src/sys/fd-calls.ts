// The daemon's own fd table. Whoever started skiffd (a service manager, a shell, a test) may have
// left fds open without close-on-exec; every helper would inherit them, and a helper that enters a
// container (skiff-init for an ExecSync) would carry them into the container's pid namespace
// until its last execve, where a process of the container with CAP_SYS_PTRACE can open them.
import { check, fn } from './libc.js';

const CLOSE_RANGE_CLOEXEC = 1 << 2;

/** Marks every fd from `first` on close-on-exec (Linux ≥ 5.11); the fds stay open. */
export function markCloseOnExec(first: number): void {
  const f = fn('int close_range(unsigned int first, unsigned int last, int flags)', 'close_range');
  check('close_range', f(first, 0xffffffff, CLOSE_RANGE_CLOEXEC) as number, `${first}.. CLOSE_RANGE_CLOEXEC`);
}
