// A process's state and start time from /proc/<pid>/stat: a pid plus its start time names one
// process for good, so a pid the kernel has since given to someone else is never mistaken for it.
// Synchronous on purpose: procfs answers from memory, and a thread-pool round trip would cost more.
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

/** Whether `pid` is (still) the process that started at `startTime`; any process when it is not given. */
export function isSameProcess(pid: number, startTime: number | undefined): boolean {
  const st = readProcStat(pid);
  return st !== undefined && (startTime === undefined || st.startTime === startTime);
}
