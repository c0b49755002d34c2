// RuntimeClass handlers backed by an OCI runtime binary (runc, crun): the same bundle the built-in
// executor reads, run through the OCI runtime CLI under skiff-monitor. The runtime stays the
// container's parent (it forwards signals and reports the exit), so the monitor watches it.
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { OpContext } from '../core/context.js';
import { SkiffError } from '../core/errors.js';
import type { ExecRequest, ExecResult, ExecSessionRequest, StartRequest, Started } from './executor.js';
import type { HelperRunner } from './helper-exec.js';
import { startMonitor } from './monitor.js';
import { MonitoredExecutor } from './monitored-executor.js';
import { runProcess } from './process.js';
import { readProcStat } from '../util/proc-stat.js';

export class OciCliExecutor extends MonitoredExecutor {
  constructor(
    helpers: HelperRunner,
    /** The runtime binary, e.g. /usr/sbin/runc. */
    private readonly runtimePath: string,
    /** The runtime's own state dir (--root), one per handler. */
    private readonly stateRoot: string,
  ) {
    super(helpers);
  }

  private base(): string[] {
    return [this.runtimePath, '--root', this.stateRoot];
  }

  /**
   * Resolves once the container exists (the runtime wrote its pid file), so an ExecSync right
   * after finds it; the pid reported is the container's, not the runtime's.
   */
  async start(ctx: OpContext, req: StartRequest): Promise<Started> {
    if (req.tty) throw new SkiffError('FailedPrecondition', `tty containers need the built-in executor; ${this.runtimePath} would need a console socket`);
    const pidFile = join(dirname(req.bundleDir), 'runtime.pid');
    const appeared = firstOf(dirname(req.bundleDir), ['runtime.pid'], dirname(req.exitFile), [basename(req.exitFile)], ctx.signal);
    // The runtime creates and joins spec.linux.cgroupsPath itself: no --cgroup-procs here.
    let monitor: Started;
    try {
      monitor = await startMonitor(ctx, this.helpers, {
        id: req.id,
        exitFile: req.exitFile,
        logPath: req.logPath,
        stdin: req.stdin,
        tty: false,
        ...(req.attachSocket ? { attachSocket: req.attachSocket } : {}),
        ...(req.oomCgroup ? { oomCgroup: req.oomCgroup } : {}),
        executor: [...this.base(), 'run', '--bundle', req.bundleDir, '--pid-file', pidFile, '--no-new-keyring', req.id],
      });
    } catch (e) {
      appeared.cancel();
      throw e;
    }
    const which = await appeared.promise;
    if (which !== 'runtime.pid') {
      throw new SkiffError('Internal', `${this.runtimePath} did not start container ${req.id}: ${logTail(req.logPath)}`);
    }
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return { pid, startTime: readProcStat(pid)?.startTime ?? 0, monitorPid: monitor.monitorPid };
  }

  protected execArgv(req: ExecSessionRequest['target'], tty: boolean): string[] {
    if (tty) throw new SkiffError('FailedPrecondition', `a tty exec needs the built-in executor; ${this.runtimePath} would need a console socket`);
    return [
      ...this.base(),
      'exec',
      '--cwd',
      req.cwd,
      '--user',
      `${req.uid}:${req.gid}`,
      ...req.env.flatMap((e) => ['--env', e]),
      req.id,
      ...req.argv,
    ];
  }

  async exec(ctx: OpContext, req: ExecRequest): Promise<ExecResult> {
    const r = await runProcess(ctx, this.execArgv(req, false), {
      ...(req.timeoutMs > 0 ? { timeoutMs: req.timeoutMs } : {}),
      maxOutputBytes: req.maxOutputBytes,
      maxTotalOutputBytes: req.maxOutputBytes,
      drainMs: req.drainMs,
    });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? 137, truncated: r.truncated };
  }

  /** Drops the runtime's record of the container (it keeps one after the exit). Idempotent. */
  async cleanup(ctx: OpContext, id: string): Promise<void> {
    await runProcess(ctx, [...this.base(), 'delete', '--force', id], { timeoutMs: 30_000 });
  }
}

/**
 * Resolves with the name of whichever of the files appears first (fs.watch, no polling); files
 * already there count at once. `cancel()` stops watching.
 */
function firstOf(
  dirA: string,
  namesA: readonly string[],
  dirB: string,
  namesB: readonly string[],
  signal: AbortSignal,
): { promise: Promise<string>; cancel(): void } {
  const watchers: FSWatcher[] = [];
  let finish!: (name: string) => void;
  const promise = new Promise<string>((resolve, reject) => {
    finish = (name) => {
      for (const w of watchers) w.close();
      resolve(name);
    };
    signal.addEventListener('abort', () => {
      for (const w of watchers) w.close();
      reject(new SkiffError('Cancelled', 'starting the container: cancelled'));
    }, { once: true });
  });
  for (const [dir, names] of [[dirA, namesA], [dirB, namesB]] as const) {
    watchers.push(
      watch(dir, (_event, file) => {
        if (file && names.includes(file) && existsSync(join(dir, file))) finish(file);
      }),
    );
    for (const n of names) if (existsSync(join(dir, n))) finish(n);
  }
  return { promise, cancel: () => watchers.forEach((w) => w.close()) };
}

/** The runtime's own error lines, which the monitor wrote into the container log. */
function logTail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n').slice(-3);
    const text = lines.map((l) => l.split(' ').slice(3).join(' ')).join('; ');
    return text || `no message (see ${path})`;
  } catch {
    return `no message (see ${path})`;
  }
}
