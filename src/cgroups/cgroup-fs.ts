// File operations on cgroupfs shared by both drivers. Synchronous on purpose: a cgroupfs read,
// write, mkdir or rmdir is an in-kernel operation of a few microseconds with no disk behind it,
// and a hop through libuv's thread pool would cost more than the call (DESIGN.md: cgroup setup
// 0.2 ms). Only the waits (EBUSY backoff, processes exiting) are asynchronous.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition, hasErrno, toSkiffError } from '../core/errors.js';
import type { OpContext } from '../core/context.js';

/**
 * Writes one control file. Flag 'w' (O_CREAT) so a fake tree in a temp dir, where mkdir creates
 * no files, gets the file; on cgroupfs the file exists and O_CREAT is a no-op.
 */
export function writeControl(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value, { flag: 'w' });
  } catch (e) {
    throw toSkiffError(e, `writing ${JSON.stringify(value)} to ${join(dir, file)}`);
  }
}

/** A control file's content, or undefined when it does not exist. */
export function readControl(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return undefined;
    throw toSkiffError(e, `reading ${join(dir, file)}`);
  }
}

export function exists(dir: string, file?: string): boolean {
  return existsSync(file === undefined ? dir : join(dir, file));
}

/** Whitespace-separated tokens of a file ("cpu memory pids"), "+"/"-" prefixes dropped. */
export function tokens(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(/\s+/)
    .filter((t) => t !== '')
    .map((t) => t.replace(/^[+-]/, ''));
}

/** Creates `dir` only (its parent must exist); true when this call created it. */
export function mkdirOne(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return true;
  } catch (e) {
    if (hasErrno(e, 'EEXIST')) return false;
    throw toSkiffError(e, `creating cgroup ${dir}`);
  }
}

/**
 * Creates root/a/b/… and whatever of its parents is missing; returns the directories this call
 * created, parents first. The leaf goes first: its parents usually exist (kubelet made them),
 * and a failed mkdir costs a thrown error per level.
 */
export function mkdirChain(root: string, components: readonly string[]): string[] {
  if (components.length === 0) return [];
  const dir = join(root, ...components);
  try {
    mkdirSync(dir, { mode: 0o755 });
    return [dir];
  } catch (e) {
    if (hasErrno(e, 'EEXIST')) return [];
    if (!hasErrno(e, 'ENOENT')) throw toSkiffError(e, `creating cgroup ${dir}`);
  }
  const created = mkdirChain(root, components.slice(0, -1));
  if (mkdirOne(dir)) created.push(dir);
  return created;
}

/** Best effort, deepest first: undoing a failed ensure must not hide the error that caused it. */
export function rmdirQuietly(ctx: OpContext, dirs: readonly string[]): void {
  for (const dir of [...dirs].reverse()) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if (!hasErrno(e, 'ENOENT')) ctx.log.warn('could not remove cgroup after a failed create', { dir, err: e });
    }
  }
}

/** Pids in one cgroup.procs file; [] when the cgroup does not exist. */
export function readPids(dir: string): number[] {
  const text = readControl(dir, 'cgroup.procs');
  if (!text) return [];
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const n = Number(line);
    if (line !== '' && Number.isSafeInteger(n) && n > 0) out.push(n);
  }
  return out;
}

/** The directories of the cgroups below `dir`, deepest first (the order rmdir needs). */
export function descendants(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return [];
    throw toSkiffError(e, `listing ${dir}`);
  }
  const out: string[] = [];
  for (const ent of entries) {
    if (!ent.isDirectory()) continue;
    const child = join(dir, ent.name);
    out.push(...descendants(child), child);
  }
  return out;
}

export function readPidsTree(dir: string, recursive: boolean): number[] {
  const pids = readPids(dir);
  if (recursive) for (const d of descendants(dir)) pids.push(...readPids(d));
  return pids;
}

/** Backoff for rmdir on EBUSY: a process that was just killed leaves its cgroup within ms. */
const RMDIR_BACKOFF_MS = [1, 2, 5, 10, 20, 40];

/**
 * rmdir of one cgroup in each of `dirs` (the same cgroup in every v1 hierarchy, or the one v2
 * dir). Missing is success. EBUSY (a process still exiting, a child cgroup) is retried with a short
 * backoff, then FailedPrecondition naming `path`.
 */
export async function rmdirRetry(ctx: OpContext, path: string, dirs: readonly string[]): Promise<void> {
  let pending = [...dirs];
  let lastErr: unknown;
  for (let attempt = 0; ; attempt++) {
    const busy: string[] = [];
    for (const dir of pending) {
      try {
        rmdirSync(dir);
      } catch (e) {
        if (hasErrno(e, 'ENOENT')) continue;
        if (!hasErrno(e, 'EBUSY') && !hasErrno(e, 'ENOTEMPTY')) throw toSkiffError(e, `removing cgroup ${dir}`);
        lastErr = e;
        busy.push(dir);
      }
    }
    pending = busy;
    if (pending.length === 0) return;
    const delay = RMDIR_BACKOFF_MS[attempt];
    if (delay === undefined) break;
    try {
      await sleep(delay, undefined, { signal: ctx.signal });
    } catch (e) {
      throw toSkiffError(e, `removing cgroup ${path}`);
    }
  }
  throw failedPrecondition(
    `cgroup ${path} is still in use (processes or child cgroups remain) in ${pending.join(', ')}`,
    lastErr,
  );
}
