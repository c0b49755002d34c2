// A pod's namespaces without a pause process: skiff-pinns creates them and bind-mounts each ns file
// under the pod's dir (one spawn per pod); unpinning is in-process (umount2, unlink, rmdir, and a
// SIGKILL for the pid-namespace init), so stopping a pod spawns nothing.
import { rmdirSync, unlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { abortError, type OpContext } from '../core/context.js';
import { hasErrno, internal, SkiffError, toSkiffError } from '../core/errors.js';
import type { HelperRunner } from '../runtime/helper-exec.js';
import { SyscallError } from '../sys/errno.js';
import { MNT_DETACH, UMOUNT_NOFOLLOW, umount2 } from '../sys/mount-calls.js';
import { INIT_MOUNT_NS_FD } from './init-mount-ns.js';
import { killInit } from './pid-init.js';
import { normalizeSysctlName, validatePodSysctls } from './sysctls.js';

export interface PinOptions {
  /** The pod's own dir, e.g. <nsDir>/<sandboxId>; created (with parents) by skiff-pinns. */
  readonly dir: string;
  readonly net: boolean;
  readonly ipc: boolean;
  readonly uts: boolean;
  /** A pid namespace shared by the pod's containers, with a tiny init as its pid 1. */
  readonly pid: boolean;
  /** Set inside the new UTS namespace; ignored without `uts` (a host-UTS pod keeps the host's). */
  readonly hostname?: string;
  /** Keys with '.' or '/' separators; only namespaced sysctls (see sysctls.ts). */
  readonly sysctls: Readonly<Record<string, string>>;
  /**
   * With `pid`: an fd of the empty mount namespace the init joins (init-mount-ns.ts); without it
   * the init makes such a namespace of its own, which costs more.
   */
  readonly initMountNs?: number;
}

/** What a pod record keeps to enter and later remove its namespaces. Paths are bind-mounted ns files. */
export interface PinnedNamespaces {
  readonly dir: string;
  readonly net?: string;
  readonly ipc?: string;
  readonly uts?: string;
  readonly pid?: string;
  /** The pid-namespace init as the host sees it, and its /proc/<pid>/stat start time. */
  readonly initPid?: number;
  readonly initStartTime?: number;
}

interface PinAnswer {
  readonly pid?: number;
  readonly startTime?: number;
}

function isPinAnswer(x: unknown): x is PinAnswer {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const a = x as Record<string, unknown>;
  const keys = Object.keys(a);
  if (keys.length === 0) return true;
  return (
    keys.length === 2 &&
    typeof a.pid === 'number' &&
    Number.isSafeInteger(a.pid) &&
    a.pid > 1 &&
    typeof a.startTime === 'number' &&
    Number.isSafeInteger(a.startTime) &&
    a.startTime >= 0
  );
}

/** skiff-pinns' argv for these options (README.md, "skiff-pinns"). */
export function pinHelperArgs(opts: PinOptions): string[] {
  const args = ['--dir', opts.dir];
  if (opts.net) args.push('--net');
  if (opts.ipc) args.push('--ipc');
  if (opts.uts) args.push('--uts');
  if (opts.uts && opts.hostname !== undefined && opts.hostname !== '') args.push('--hostname', opts.hostname);
  for (const [key, value] of Object.entries(opts.sysctls)) {
    args.push('--sysctl', `${normalizeSysctlName(key)}=${value}`);
  }
  if (opts.pid) args.push('--pid-init');
  if (opts.pid && opts.initMountNs !== undefined) args.push('--init-mount-ns', String(INIT_MOUNT_NS_FD));
  return args;
}


/**
 * Creates, configures and pins the pod's namespaces with one run of skiff-pinns. Sysctls are
 * checked first (InvalidArgument naming the key), before anything exists. On failure nothing is
 * left behind: skiff-pinns undoes its own work, and what it made before a cancellation is unpinned.
 */
export async function pinPodNamespaces(
  ctx: OpContext,
  helpers: HelperRunner,
  opts: PinOptions,
): Promise<PinnedNamespaces> {
  if (!isAbsolute(opts.dir)) throw internal(`namespace pin dir is not absolute: ${opts.dir}`);
  validatePodSysctls(opts.sysctls, { hostNetwork: !opts.net, hostIpc: !opts.ipc });
  if (ctx.signal.aborted) throw abortError(ctx.signal, 'pinning pod namespaces');

  // The helper runs about a millisecond. Killing it midway could orphan a pin or the pid init that
  // nobody would know of, so it always runs to the end; the caller's signal is honoured after.
  const uninterrupted: OpContext = { log: ctx.log, signal: new AbortController().signal, deadline: ctx.deadline };
  const inherit = opts.pid && opts.initMountNs !== undefined ? [{ fd: opts.initMountNs, as: INIT_MOUNT_NS_FD }] : undefined;
  const { stdout } = await helpers.run(uninterrupted, 'pinns', pinHelperArgs(opts), inherit ? { inherit } : {});
  const paths: PinnedNamespaces = {
    dir: opts.dir,
    ...(opts.net && { net: join(opts.dir, 'net') }),
    ...(opts.ipc && { ipc: join(opts.dir, 'ipc') }),
    ...(opts.uts && { uts: join(opts.dir, 'uts') }),
    ...(opts.pid && { pid: join(opts.dir, 'pid') }),
  };

  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    answer = undefined;
  }
  if (!isPinAnswer(answer) || opts.pid !== (answer.pid !== undefined)) {
    // Succeeded, but the pid init (if any) is unknown: unpin what we can name.
    await unpinPodNamespaces(ctx, paths);
    throw internal(`skiff-pinns: unexpected answer ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const pinned: PinnedNamespaces =
    answer.pid === undefined ? paths : { ...paths, initPid: answer.pid, initStartTime: answer.startTime };
  if (ctx.signal.aborted) {
    await unpinPodNamespaces(ctx, pinned);
    throw abortError(ctx.signal, 'pinning pod namespaces');
  }
  ctx.log.debug('pinned pod namespaces', { dir: opts.dir, initPid: pinned.initPid });
  return pinned;
}

/** Unmounts one pin; true when it was mounted. Already unmounted (EINVAL) or gone (ENOENT) is fine. */
function unmountPin(path: string): boolean {
  try {
    umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
    return true;
  } catch (e) {
    if (e instanceof SyscallError && (e.code === 'EINVAL' || e.code === 'ENOENT')) return false;
    throw e;
  }
}

function removeIfPresent(path: string, remove: (p: string) => void): void {
  try {
    remove(path);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
  }
}

/**
 * Idempotent: kills the pid init (only if its start time still matches), unmounts each pin with
 * MNT_DETACH (a process still inside keeps its namespace; the pin no longer does), removes the
 * files and the dir. Every step runs even when one fails; the first failure is thrown.
 * Synchronous inside: a handful of syscalls on a tmpfs, cheaper than thread-pool round trips.
 */
export async function unpinPodNamespaces(ctx: OpContext, pinned: PinnedNamespaces): Promise<void> {
  let first: SkiffError | undefined;
  const step = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      const err = toSkiffError(e, what);
      ctx.log.warn('unpinning pod namespaces: step failed', { dir: pinned.dir, step: what, error: err.message });
      first ??= err;
    }
  };

  const { initPid, initStartTime } = pinned;
  if (initPid !== undefined && initStartTime !== undefined) {
    step(`killing pod init ${initPid}`, () => killInit(initPid, initStartTime));
  }
  for (const path of [pinned.pid, pinned.uts, pinned.ipc, pinned.net]) {
    if (path === undefined) continue;
    step(`unmounting ${path}`, () => {
      unmountPin(path);
      removeIfPresent(path, unlinkSync);
    });
  }
  step(`removing ${pinned.dir}`, () => removeIfPresent(pinned.dir, rmdirSync));
  if (first) throw first;
  ctx.log.debug('unpinned pod namespaces', { dir: pinned.dir });
}
