// The built-in executor: skiff-init runs the bundle under skiff-monitor; ExecSync enters the
// container with `skiff-init exec`. Implements the core's ContainerExecutor.
import type { OpContext } from '../core/context.js';
import { SkiffError } from '../core/errors.js';
import type { ContainerExecutor, ExecRequest, ExecResult, ExitStatus, StartRequest, Started } from './executor.js';
import type { HelperRunner } from './helper-exec.js';
import { readExitFile, reopenLog, startMonitor, watchExits } from './monitor.js';
import { runProcess } from './process.js';

const INIT_ERROR = '[skiff-init:e] ';

export class BuiltinExecutor implements ContainerExecutor {
  constructor(private readonly helpers: HelperRunner) {}

  private cgroupArgs(files: readonly string[]): string[] {
    return files.flatMap((f) => ['--cgroup-procs', f]);
  }

  start(ctx: OpContext, req: StartRequest): Promise<Started> {
    return startMonitor(ctx, this.helpers, {
      id: req.id,
      exitFile: req.exitFile,
      logPath: req.logPath,
      stdin: req.stdin,
      tty: req.tty,
      // The monitor answers once the container's program runs (not while skiff-init still sets
      // it up), with its real pid; an ExecSync right after StartContainer then finds it ready.
      execSync: true,
      ...(req.oomCgroup ? { oomCgroup: req.oomCgroup } : {}),
      executor: [this.helpers.path('init'), 'run', '--bundle', req.bundleDir, ...this.cgroupArgs(req.cgroupProcs)],
    });
  }

  async exec(ctx: OpContext, req: ExecRequest): Promise<ExecResult> {
    const argv = [
      this.helpers.path('init'),
      'exec',
      '--pid',
      String(req.pid),
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
    const r = await runProcess(ctx, argv, {
      ...(req.timeoutMs > 0 ? { timeoutMs: req.timeoutMs } : {}),
      maxOutputBytes: req.maxOutputBytes,
    });
    const stderr = r.stderr.toString('utf8');
    // skiff-init failed before exec (no such command, container gone): an error, not an exit code.
    if (r.code !== 0 && stderr.startsWith(INIT_ERROR)) {
      const msg = stderr.split('\n')[0]?.slice(INIT_ERROR.length) ?? stderr;
      throw new SkiffError(/not found|No such file/.test(msg) ? 'NotFound' : 'FailedPrecondition', `exec: ${msg}`);
    }
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? 128 + signalNumber(r.signal) };
  }

  readExit(exitFile: string): Promise<ExitStatus | undefined> {
    return readExitFile(exitFile);
  }

  watchExits(exitsDir: string, onExit: (id: string) => void): { close(): void } {
    return watchExits(exitsDir, onExit);
  }

  reopenLog(monitorPid: number): void {
    reopenLog(monitorPid);
  }
}

function signalNumber(signal: string | null): number {
  const map: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGQUIT: 3, SIGABRT: 6, SIGSEGV: 11 };
  return signal ? (map[signal] ?? 0) : 0;
}
