// Starts skiff-monitor (native-helpers/README.md, "skiff-monitor"), one per container, and reads
// what it leaves behind: the exit file in the exits directory, watched with inotify (fs.watch),
// never polled. The monitor outlives the daemon; the process spawned here exits as soon as the
// container runs, so a start costs one spawn.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { runCaptured } from './fast-spawn.js';
import type { HelperRunner } from './helper-exec.js';
import type { OpContext } from '../core/context.js';
import { SkiffError, failedPrecondition, hasErrno, internal, toSkiffError, unavailable } from '../core/errors.js';

export interface MonitorOptions {
  /** The container id; also the exit file's name when exitFile is `<exits dir>/<id>`. */
  readonly id: string;
  readonly exitFile: string;
  readonly logPath: string;
  readonly attachSocket?: string;
  /**
   * One end of a connected unix socket pair: the monitor takes it as an attach client from the
   * start (no output is missed) and waits for it rather than dropping it when it falls behind.
   */
  readonly attachFd?: number;
  /** Keep a pipe to the container's stdin (written through the attach socket). */
  readonly stdin?: boolean;
  readonly tty?: boolean;
  /** The container's memory cgroup dir (v1) or cgroup dir (v2), for oomKilled. */
  readonly oomCgroup?: string;
  /** Asks the monitor to set its own oom_score_adj; refused without CAP_SYS_RESOURCE (a warning). */
  readonly oomScoreAdj?: number;
  /**
   * The executor closes fd 3 at its final exec (skiff-init does): the monitor then answers only
   * when the container's program runs, and the executor's "[skiff-…:e]" lines become the error.
   */
  readonly execSync?: boolean;
  /** The executor's argv, e.g. [skiff-init, 'run', '--bundle', dir]. */
  readonly executor: readonly string[];
  /**
   * A sealed copy of the executor (HelperProgram.fd), made for this start alone: the monitor
   * execs that, and executor[0] only names it. Without it executor[0] is a path, or a name
   * looked up in PATH.
   */
  readonly executorFd?: number;
}

export interface MonitorStarted {
  /** The container's process (host pid namespace). */
  readonly pid: number;
  /** Its start time (field 22 of /proc/<pid>/stat): pid + startTime name it for good. */
  readonly startTime: number;
  readonly monitorPid: number;
}

/** The exit file, as the monitor writes it when the container's process has exited. */
export interface ExitStatus {
  /** The exit status, or 128 + signal when a signal ended the process. */
  readonly exitCode: number;
  /** 0 unless a signal ended the process. */
  readonly signal: number;
  /** RFC 3339 with nanoseconds, UTC. */
  readonly finishedAt: string;
  readonly oomKilled: boolean;
}

const RFC3339_NANO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const EXECUTOR_USAGE = 2;
/** skiff-init's policy refusal: the image, a volume or the spec asks for what its rules forbid. */
const EXECUTOR_REFUSED = 3;
/** Where the launcher finds the attach client handed over (opts.attachFd). */
const ATTACH_FD = 3;
/** Where it finds the executor's sealed image (opts.executorFd). */
const EXECUTOR_FD = 4;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isIntIn = (x: unknown, min: number, max: number): x is number =>
  Number.isInteger(x) && (x as number) >= min && (x as number) <= max;

export function isMonitorStarted(x: unknown): x is MonitorStarted {
  return isObject(x) && isIntIn(x.pid, 1, 2 ** 22) && isIntIn(x.startTime, 0, Number.MAX_SAFE_INTEGER) &&
    isIntIn(x.monitorPid, 1, 2 ** 22);
}

interface MonitorFailure {
  readonly error: string;
  readonly executorStatus?: number;
}

function isMonitorFailure(x: unknown): x is MonitorFailure {
  return isObject(x) && typeof x.error === 'string' &&
    (x.executorStatus === undefined || isIntIn(x.executorStatus, 0, 255));
}

export function isExitStatus(x: unknown): x is ExitStatus {
  return isObject(x) && isIntIn(x.exitCode, 0, 255) && isIntIn(x.signal, 0, 64) &&
    typeof x.finishedAt === 'string' && RFC3339_NANO.test(x.finishedAt) && typeof x.oomKilled === 'boolean';
}

/** An RFC 3339 UTC timestamp as the monitor writes it, in nanoseconds since the epoch. */
export function rfc3339NanoToNs(text: string): bigint | undefined {
  const m = RFC3339_NANO.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

export function monitorArgs(opts: MonitorOptions): string[] {
  const args = ['--id', opts.id, '--exit-file', opts.exitFile, '--log-path', opts.logPath];
  if (opts.attachSocket !== undefined) args.push('--attach-socket', opts.attachSocket);
  if (opts.attachFd !== undefined) args.push('--attach-fd', String(ATTACH_FD));
  if (opts.executorFd !== undefined) args.push('--executor-fd', String(EXECUTOR_FD));
  if (opts.stdin) args.push('--stdin');
  if (opts.tty) args.push('--tty');
  if (opts.oomCgroup !== undefined) args.push('--oom-cgroup', opts.oomCgroup);
  if (opts.oomScoreAdj !== undefined) args.push('--oom-score-adj', String(opts.oomScoreAdj));
  if (opts.execSync) args.push('--exec-sync');
  args.push('--', ...opts.executor);
  return args;
}

/**
 * Turns the launcher's output into the start record or an error. An `{"error":…}` answer is
 * InvalidArgument when the executor exited with 2 (its usage status: the bundle or its options are
 * bad), FailedPrecondition with 3 (a policy refusal: what the image or a volume holds breaks a
 * rule, e.g. a /proc that is a symlink), else Internal; a usage error of the monitor itself
 * (exit 2) is InvalidArgument too.
 */
export function interpretMonitorOutput(
  id: string,
  stdout: string,
  stderr: string,
  code: number | null,
  signal: string | null,
): MonitorStarted {
  const lines = stderr.split('\n').filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('[skiff-monitor:e] ')).map((l) => l.slice(18));
  const what = `starting container ${id}`;
  let answer: unknown;
  try {
    answer = stdout.trim() === '' ? undefined : JSON.parse(stdout);
  } catch {
    throw internal(`${what}: skiff-monitor answered ${JSON.stringify(stdout.slice(0, 200))}, not JSON`);
  }
  if (code === 0 && isMonitorStarted(answer)) return answer;
  if (isMonitorFailure(answer)) {
    const kind =
      answer.executorStatus === EXECUTOR_USAGE ? 'InvalidArgument' : answer.executorStatus === EXECUTOR_REFUSED ? 'FailedPrecondition' : 'Internal';
    return failWith(new SkiffError(kind, `${what}: ${answer.error}`));
  }
  const how = signal ? `killed by ${signal}` : `exit status ${code}`;
  const why = errors.length
    ? errors.join('; ')
    : lines.join('; ') || (code === 0 ? 'the monitor exited without answering' : 'no message');
  return failWith(new SkiffError(code === 2 ? 'InvalidArgument' : 'Internal', `${what}: skiff-monitor: ${why} (${how})`));
}

function failWith(e: SkiffError): never {
  throw e;
}

/**
 * Spawns skiff-monitor for one container and resolves once the container's process runs and the
 * spawned launcher has exited (the monitor itself lives on, re-parented away from the daemon).
 * Warnings ("[skiff-monitor:w] …", e.g. oom_score_adj refused) are logged. Aborting `ctx` kills
 * the launcher; the monitor then kills the container, since nobody learnt its pid.
 */
export async function startMonitor(ctx: OpContext, helpers: HelperRunner, opts: MonitorOptions): Promise<MonitorStarted> {
  const program = helpers.open('monitor');
  const { file, argv0: bin } = program;
  const inherit = [
    ...(opts.attachFd !== undefined ? [{ fd: opts.attachFd, as: ATTACH_FD }] : []),
    ...(opts.executorFd !== undefined ? [{ fd: opts.executorFd, as: EXECUTOR_FD }] : []),
  ];
  let r;
  try {
    // posix_spawn (fast-spawn.ts): the executor inherits only PATH; the container's own
    // environment comes from its spec.
    r = await runCaptured(ctx, file, monitorArgs(opts), [`PATH=${process.env.PATH ?? DEFAULT_PATH}`], {
      argv0: bin,
      ...(inherit.length ? { inherit } : {}),
    });
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) throw unavailable(`helper ${bin} is missing: run "npm run build"`, e);
    throw toSkiffError(e, `starting container ${opts.id}`);
  } finally {
    program.close();
  }
  const stderr = r.stderr.toString('utf8');
  for (const line of stderr.split('\n')) {
    if (line.startsWith('[skiff-monitor:w] ')) ctx.log.warn(line.slice(18), { container: opts.id });
  }
  const started = interpretMonitorOutput(opts.id, r.stdout.toString('utf8'), stderr, r.code, r.signal);
  ctx.log.debug('monitor started', { container: opts.id, ...started });
  return started;
}

/** The exit file, or undefined while there is none (the container has not exited). */
export async function readExitFile(path: string): Promise<ExitStatus | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return undefined;
    throw toSkiffError(e, `reading exit file ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw internal(`exit file ${path} is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (!isExitStatus(parsed)) throw internal(`exit file ${path} has an unexpected shape: ${text.slice(0, 200)}`);
  return parsed;
}

/**
 * Calls `onExit(id)` once for each exit file in `dir` (the file's name is the container id): for
 * those already there when the watch starts, and for each one a monitor renames into place later.
 * Hidden names (the monitors' temporary files) are ignored. A file that is removed and written
 * again is reported again. Watching uses inotify, no polling. Errors of the watch (the directory
 * removed) go to `onError`.
 */
export function watchExits(
  dir: string,
  onExit: (id: string) => void,
  onError: (e: SkiffError) => void = () => {},
): { close(): void } {
  const seen = new Set<string>();
  let closed = false;

  const check = (name: string): void => {
    if (name.startsWith('.') || name.includes('/')) return;
    lstat(`${dir}/${name}`).then(
      (st) => {
        if (closed || !st.isFile() || seen.has(name)) return;
        seen.add(name);
        onExit(name);
      },
      (e: unknown) => {
        if (hasErrno(e, 'ENOENT')) seen.delete(name);
        else if (!closed) onError(toSkiffError(e, `checking exit file ${name}`));
      },
    );
  };
  const scan = (): void => {
    readdir(dir).then(
      (names) => names.forEach(check),
      (e: unknown) => {
        if (!closed) onError(toSkiffError(e, `listing exits dir ${dir}`));
      },
    );
  };

  let watcher: FSWatcher;
  try {
    // Not persistent: the watch alone does not keep the daemon (or a test) running.
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (closed) return;
      if (name === null) scan();
      else check(name);
    });
  } catch (e) {
    throw toSkiffError(e, `watching exits dir ${dir}`);
  }
  watcher.on('error', (e) => {
    if (!closed) onError(toSkiffError(e, `watching exits dir ${dir}`));
  });
  // After the watch is in place: an exit between the two is seen by one or the other.
  scan();
  return {
    close() {
      closed = true;
      watcher.close();
    },
  };
}

function isMonitorProcess(pid: number, id: string | undefined): boolean {
  let argv: string[];
  try {
    // A small /proc read (its size shows as 0, so it is read whole): no need for async here.
    argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
  } catch {
    return false;
  }
  if (basename(argv[0] ?? '') !== 'skiff-monitor') return false;
  if (id === undefined) return true;
  const i = argv.indexOf('--id');
  return i >= 0 && argv[i + 1] === id;
}

/**
 * Makes the container's monitor reopen its log file (ReopenContainerLog: kubelet renamed the file
 * away and wants a new one at the same path). Synchronous: one check and one signal. The pid is
 * checked to be a skiff-monitor (of container `id` when given) before it is signalled, since
 * SIGUSR1 would end most other processes; FailedPrecondition when it is not running.
 */
export function reopenLog(monitorPid: number, id?: string): void {
  if (!isMonitorProcess(monitorPid, id)) {
    throw failedPrecondition(`the log of ${id ?? `monitor ${monitorPid}`} cannot be reopened: its monitor is not running`);
  }
  try {
    process.kill(monitorPid, 'SIGUSR1');
  } catch (e) {
    if (hasErrno(e, 'ESRCH')) throw failedPrecondition(`monitor ${monitorPid} is not running`, e);
    throw toSkiffError(e, `signalling monitor ${monitorPid}`);
  }
}

/**
 * reopenLog, then waits until `logPath` exists again (the monitor creates it at once; a rename
 * that happened before is what makes the wait meaningful). DeadlineExceeded after `timeoutMs`.
 */
export async function reopenLogAndWait(
  monitorPid: number,
  opts: { id?: string; logPath: string; timeoutMs?: number },
): Promise<void> {
  const waiting = waitForFile(opts.logPath, opts.timeoutMs ?? 2000);
  try {
    reopenLog(monitorPid, opts.id);
  } catch (e) {
    waiting.cancel();
    throw e;
  }
  await waiting.done;
}

/** Resolves when `path` exists; watches its directory (no polling). */
function waitForFile(path: string, timeoutMs: number): { done: Promise<void>; cancel(): void } {
  let finish: (e?: SkiffError) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const name = basename(path);
    let watcher: FSWatcher | undefined;
    const timer = setTimeout(
      () => finish(new SkiffError('DeadlineExceeded', `${path} did not reappear within ${timeoutMs} ms`)),
      timeoutMs,
    );
    finish = (e) => {
      clearTimeout(timer);
      watcher?.close();
      if (e) reject(e);
      else resolve();
    };
    const check = () => {
      lstat(path).then(
        () => finish(),
        () => {},
      );
    };
    try {
      watcher = watch(dirname(path), { persistent: false }, (_ev, n) => {
        if (n === null || n === name) check();
      });
    } catch (e) {
      finish(toSkiffError(e, `watching ${dirname(path)}`));
      return;
    }
    check();
  });
  return {
    done,
    cancel: () => {
      finish();
    },
  };
}
