// Emptying a cgroup of processes: StopPodSandbox's last word on anything left in the pod.
// v2 with cgroup.kill: one write kills the whole subtree atomically (no fork race), and
// cgroup.events tells us, through inotify, when the last process is gone. Elsewhere (v1, older v2
// kernels, signals other than SIGKILL): signal every listed pid, and list again with a short
// backoff, since v1 has no event for "cgroup became empty" short of a global release agent.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SkiffError, hasErrno, toSkiffError } from '../core/errors.js';
import type { OpContext } from '../core/context.js';

export const DEFAULT_KILL_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 50;

/** Epoch ms at which to give up: the timeout, or the caller's deadline when that is sooner. */
export function killDeadline(ctx: OpContext, timeoutMs = DEFAULT_KILL_TIMEOUT_MS): number {
  const own = Date.now() + timeoutMs;
  return ctx.deadline === undefined ? own : Math.min(own, ctx.deadline);
}

export function stillPopulated(path: string, pids: readonly number[]): SkiffError {
  const list = pids.length > 0 ? `: pids ${pids.slice(0, 20).join(' ')}${pids.length > 20 ? ' …' : ''}` : '';
  return new SkiffError('DeadlineExceeded', `processes remain in cgroup ${path} after killing${list}`);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  // Never ourselves: a daemon listed in a pod's cgroup is a bug to report, not to act on.
  if (pid <= 1 || pid === process.pid) return;
  try {
    process.kill(pid, signal);
  } catch (e) {
    if (!hasErrno(e, 'ESRCH')) throw toSkiffError(e, `sending ${signal} to pid ${pid}`);
  }
}

/**
 * Signals what `list` returns until it returns nothing. SIGKILL is resent each round (a pid
 * reused within the cgroup is still ours to kill); any other signal goes once per pid, so a
 * process that handles SIGTERM sees it once.
 */
export async function signalUntilEmpty(
  ctx: OpContext,
  path: string,
  list: () => number[],
  signal: NodeJS.Signals,
  deadline: number,
): Promise<void> {
  const signalled = new Set<number>();
  let delay = 1;
  for (;;) {
    const pids = list();
    if (pids.length === 0) return;
    for (const pid of pids) {
      if (signal !== 'SIGKILL' && signalled.has(pid)) continue;
      signalPid(pid, signal);
      signalled.add(pid);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw stillPopulated(path, pids);
    try {
      await sleep(Math.min(delay, left), undefined, { signal: ctx.signal });
    } catch (e) {
      throw toSkiffError(e, `killing the processes of cgroup ${path}`);
    }
    delay = Math.min(delay * 2, MAX_BACKOFF_MS);
  }
}

/** "populated 0" in a v2 cgroup.events; a vanished file means the cgroup is gone, so empty. */
function unpopulated(eventsFile: string): boolean {
  try {
    return /^populated 0$/m.test(readFileSync(eventsFile, 'utf8'));
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return true;
    throw toSkiffError(e, `reading ${eventsFile}`);
  }
}

/**
 * Resolves true once cgroup.events says "populated 0" (the kernel notifies inotify watchers of
 * that file on every change), false at the deadline; rejects when the context is aborted.
 */
export function waitUnpopulated(ctx: OpContext, eventsFile: string, deadline: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (err: unknown, value = false) => {
      if (settled) return;
      settled = true;
      watcher?.close();
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      if (err) reject(toSkiffError(err, `waiting for ${eventsFile}`));
      else resolve(value);
    };
    const check = () => {
      try {
        if (unpopulated(eventsFile)) finish(undefined, true);
      } catch (e) {
        finish(e);
      }
    };
    const onAbort = () => {
      // Shaped like Node's own AbortError so toSkiffError keeps a SkiffError reason's kind.
      const e = new Error('operation aborted', { cause: ctx.signal.reason });
      e.name = 'AbortError';
      finish(e);
    };
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Watch first, then look: a change between the two would otherwise go unnoticed.
      watcher = watch(eventsFile, { persistent: false }, check);
      watcher.on('error', (e) => finish(e));
    } catch (e) {
      if (!hasErrno(e, 'ENOENT')) return finish(e);
    }
    timer = setTimeout(() => finish(undefined, false), Math.max(0, deadline - Date.now()));
    check();
  });
}
