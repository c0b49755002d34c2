// Host processes seen from the test, for checks that something a container ran is gone.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Host processes whose command line contains `needle` (zombies have none, so they never match). */
export function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ').includes(needle)) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** Host processes whose command line is exactly `cmdline` (its arguments joined by spaces). */
export function processesRunning(cmdline: string): number[] {
  return processesWith(cmdline).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ') === cmdline;
    } catch {
      return false;
    }
  });
}

/** Peak and current resident set of a process, in KiB; the peak can be reset with resetPeakRss. */
export function rssKiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: field('VmRSS'), peak: field('VmHWM') };
}

/** Sets the process's peak RSS (VmHWM) back to its current RSS (proc(5), clear_refs value 5). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
