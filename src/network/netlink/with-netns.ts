// The daemon's one in-process namespace switch (DESIGN.md): enter a network namespace on the
// calling thread, run fn, come back. fn must be synchronous: an await inside would let other
// JavaScript run on this thread while it sits in the pod's namespace. Typical use is to open a
// netlink socket there, which stays bound to that netns after we leave:
//   const sock = withNetns(path, () => NetlinkSocket.open());
import { closeSync, openSync } from 'node:fs';
import { internal, toSkiffError } from '../../core/errors.js';
import { CLONE_NEWNET, setns } from '../../sys/netlink-calls.js';

/** The calling thread's own netns; /proc/self would name the main thread's, not ours. */
const THREAD_NETNS = '/proc/thread-self/ns/net';

/** Refuses a function returning a promise at compile time; the runtime check backs it up. */
type Sync<T> = T extends PromiseLike<unknown> ? never : T;

function openNs(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw toSkiffError(e, `opening network namespace ${path}`);
  }
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Returning to the daemon's namespace failed: this thread (the event loop's) would run everything
 * from here on inside a pod's netns. No way to continue safely.
 */
function restoreOrAbort(savedFd: number, target: string): void {
  try {
    setns(savedFd, CLONE_NEWNET, THREAD_NETNS);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`[skiffd] fatal: cannot return from network namespace ${target}: ${msg}\n`);
    process.abort();
  }
}

/** Runs fn inside the netns that nsFd refers to (an open /run/skiff/ns/… or /proc/<pid>/ns/net). */
export function withNetnsFd<T>(nsFd: number, fn: () => Sync<T>, label = `fd ${nsFd}`): T {
  const saved = openNs(THREAD_NETNS);
  try {
    // If entering fails we never left: nothing to restore.
    setns(nsFd, CLONE_NEWNET, label);
    let result: T;
    try {
      result = fn() as T;
    } finally {
      restoreOrAbort(saved, label);
    }
    if (isThenable(result)) {
      throw internal(`withNetns(${label}): the callback returned a promise; it must be synchronous`);
    }
    return result;
  } finally {
    closeSync(saved);
  }
}

/** Runs fn inside the netns pinned at nsPath. */
export function withNetns<T>(nsPath: string, fn: () => Sync<T>): T {
  const fd = openNs(nsPath);
  try {
    return withNetnsFd(fd, fn, nsPath);
  } finally {
    closeSync(fd);
  }
}
