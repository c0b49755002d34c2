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

/** Fields of /proc/<pid>/stat from field 3 on (index 0 = state), or undefined once it is gone. */
export function statFields(pid: number): string[] | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return t.slice(t.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export const deadOrZombie = (pid: number): boolean => {
  const f = statFields(pid);
  return f === undefined || f[0] === 'Z';
};

/** The direct children of a process (its main thread's), or [] once it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls `cond` every 10 ms; rejects naming `what` after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
