// The built-in executor: skiff-init runs the bundle under skiff-monitor; ExecSync enters the
// container with `skiff-init exec`. Implements the core's ContainerExecutor.
import { constants } from 'node:os';
import type { OpContext } from '../core/context.js';
import { SkiffError } from '../core/errors.js';
import type { ExecRequest, ExecResult, ExecSessionRequest, StartRequest, Started } from './executor.js';
import type { HelperProgram, HelperRunner } from './helper-exec.js';
import { startMonitor } from './monitor.js';
import { MonitoredExecutor } from './monitored-executor.js';
import { runProcess } from './process.js';

const INIT_ERROR = '[skiff-init:e] ';

export class BuiltinExecutor extends MonitoredExecutor {
  constructor(helpers: HelperRunner) {
    super(helpers);
  }

  private cgroupArgs(files: readonly string[]): string[] {
    return files.flatMap((f) => ['--cgroup-procs', f]);
  }

  async start(ctx: OpContext, req: StartRequest): Promise<Started> {
    const init = this.helpers.open('init');
    try {
      return await startMonitor(ctx, this.helpers, {
        id: req.id,
        exitFile: req.exitFile,
        logPath: req.logPath,
        stdin: req.stdin,
        tty: req.tty,
        // The monitor answers once the container's program runs (not while skiff-init still sets
        // it up), with its real pid; an ExecSync right after StartContainer then finds it ready.
        execSync: true,
        ...(req.oomCgroup ? { oomCgroup: req.oomCgroup } : {}),
        ...(req.attachSocket ? { attachSocket: req.attachSocket } : {}),
        executor: [init.argv0, 'run', '--bundle', req.bundleDir, ...this.cgroupArgs(req.cgroupProcs)],
        // The monitor starts skiff-init from a sealed copy made for this start, never from the host's file.
        ...(init.fd !== undefined ? { executorFd: init.fd } : {}),
      });
    } finally {
      init.close();
    }
  }

  protected override execImage(): HelperProgram {
    return this.helpers.open('init');
  }

  /** skiff-init enters the container; with a terminal on stdin the command gets it as its own. */
  protected execArgv(req: ExecSessionRequest['target']): string[] {
    return [
      this.helpers.argv0('init'),
      'exec',
      '--pid',
      String(req.pid),
      '--start-time',
      String(req.pidStartTime),
      // The container's capabilities, rlimits, no_new_privs and seccomp hold the exec too.
      '--bundle',
      req.bundleDir,
      ...this.cgroupArgs(req.cgroupProcs),
      '--cwd',
      req.cwd,
      '--uid',
      String(req.uid),
      '--gid',
      String(req.gid),
      ...(req.groups.length ? ['--groups', req.groups.join(',')] : []),
      ...req.env.flatMap((e) => ['--env', e]),
      '--',
      ...req.argv,
    ];
  }

  async exec(ctx: OpContext, req: ExecRequest): Promise<ExecResult> {
    const init = this.helpers.open('init');
    let r;
    try {
      r = await runProcess(ctx, this.execArgv(req), {
        executable: init.file,
        ...(req.timeoutMs > 0 ? { timeoutMs: req.timeoutMs } : {}),
        maxOutputBytes: req.maxOutputBytes,
        maxTotalOutputBytes: req.maxOutputBytes,
        drainMs: req.drainMs,
        // skiff-init then kills the command and all it started, in whatever session (README).
        endSignal: 'SIGTERM',
      });
    } finally {
      init.close();
    }
    const stderr = r.stderr.toString('utf8');
    // skiff-init failed before exec (no such command, container gone): an error, not an exit code.
    if (r.code !== 0 && stderr.startsWith(INIT_ERROR)) {
      const msg = stderr.split('\n')[0]?.slice(INIT_ERROR.length) ?? stderr;
      throw new SkiffError(/not found|No such file/.test(msg) ? 'NotFound' : 'FailedPrecondition', `exec: ${msg}`);
    }
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? 128 + signalNumber(r.signal), truncated: r.truncated };
  }
}

function signalNumber(signal: string | null): number {
  return signal ? (constants.signals[signal as NodeJS.Signals] ?? 0) : 0;
}
