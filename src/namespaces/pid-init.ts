// The pod's pid-namespace init as the daemon sees it: a pid plus the start time skiff-pinns
// reported, so a pid the kernel has since given to someone else is never mistaken for it.
// /proc reads are synchronous on purpose: procfs answers from memory, and a thread-pool round trip
// would cost more than the read.
import { readFileSync } from 'node:fs';
import { hasErrno, toSkiffError } from '../core/errors.js';

export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie: dead, not yet reaped), … */
  readonly state: string;
  /** Field 22: clock ticks after boot. */
  readonly startTime: number;
}

/** Fields 3 and 22 of /proc/<pid>/stat, or undefined when no such process exists. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (e) {
    if (hasErrno(e, 'ENOENT') || hasErrno(e, 'ESRCH')) return undefined;
    throw toSkiffError(e, `reading /proc/${pid}/stat`);
  }
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isSafeInteger(startTime)) return undefined;
  return { state, startTime };
}

/** Whether the init that skiff-pinns started is still running (a zombie is not). */
export function isInitAlive(pid: number, startTime: number): boolean {
  const st = readProcStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== 'Z';
}

/**
 * SIGKILLs the init when it is still the process skiff-pinns started; its pid namespace's other
 * processes die with it. Returns whether a signal was sent. The start-time check and the kill are
 * two steps: a pid reused between them (microseconds, and only after the init died) is the
 * residual risk, which a pidfd would close.
 */
export function killInit(pid: number, startTime: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 1) return false;
  if (!isInitAlive(pid, startTime)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch (e) {
    if (hasErrno(e, 'ESRCH')) return false;
    throw toSkiffError(e, `killing pod init ${pid}`);
  }
}
