// The pod's pid-namespace init as the daemon sees it: a pid plus the start time skiff-pinns
// reported (util/proc-stat.ts).
import { hasErrno, toSkiffError } from '../core/errors.js';
import { readProcStat } from '../util/proc-stat.js';

export { readProcStat, type ProcStat } from '../util/proc-stat.js';

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
