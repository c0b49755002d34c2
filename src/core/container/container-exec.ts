// Running commands in running containers: ExecSync (output collected) and the streamed exec of
// CRI Exec (a session under a monitor of its own). Both enter the container with its
// confinement, its environment and working dir, which are kept from create so an exec reads no
// file (after a daemon restart they are read back from the bundle once).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerExecutor, ExecResult, ExecSession, ExecSessionRequest } from '../../runtime/executor.js';
import type { OpContext } from '../context.js';
import { failedPrecondition, invalidArgument, isKind, SkiffError } from '../errors.js';
import type { ContainerRecord } from './types.js';

/**
 * ExecSync's output, stdout and stderr together. kubelet takes CRI messages of at most 16 MiB
 * (k8s.io/cri-client, maxMsgSize), and the answer's protobuf framing adds at most 21 bytes:
 * output past this is cut, and the answer still arrives. (containerd keeps 16 MiB per stream,
 * so its answer then goes past the limit and fails as RESOURCE_EXHAUSTED.)
 */
export const MAX_EXEC_OUTPUT = 16 * 1024 * 1024 - 64;
/**
 * After the command exits, how long output still held open by its background children is
 * awaited before ExecSync answers with what it has (containerd's drain_exec_sync_io_timeout,
 * which it leaves unbounded by default).
 */
export const EXEC_DRAIN_MS = 1000;

export interface ExecHost {
  get(idOrPrefix: string): ContainerRecord;
  executorFor(handler: string | undefined): ContainerExecutor;
  /** The cgroup.procs files the command joins. */
  cgroupProcs(r: ContainerRecord): string[];
  /** Where session exit files go (hidden names: they are not containers). */
  readonly exitsDir: string;
}

export class ContainerExec {
  private readonly processes = new Map<string, { env: string[]; cwd: string }>();

  constructor(private readonly host: ExecHost) {}

  /** The container's process settings, at create. */
  remember(id: string, env: string[], cwd: string): void {
    this.processes.set(id, { env, cwd });
  }

  forget(id: string): void {
    this.processes.delete(id);
  }

  /** What an exec needs (a running container, a command), checked before a streaming URL is handed out. */
  check(id: string, argv: readonly string[]): ContainerRecord {
    const r = this.host.get(id);
    if (argv.length === 0) throw invalidArgument('cmd is empty');
    if (r.state !== 'running' || r.pid === undefined) throw failedPrecondition(`container ${r.id} is not running`);
    return r;
  }

  /**
   * Runs the command to its end; a timeout (DeadlineExceeded, as kubelet expects) or the caller's
   * cancellation kills it and everything it started.
   */
  async execSync(ctx: OpContext, id: string, argv: readonly string[], timeoutSeconds: number): Promise<ExecResult> {
    const r = this.check(id, argv);
    let res: ExecResult;
    try {
      res = await this.host.executorFor(r.runtimeHandler).exec(ctx, {
        ...this.target(r, argv),
        timeoutMs: timeoutSeconds * 1000,
        maxOutputBytes: MAX_EXEC_OUTPUT,
        drainMs: EXEC_DRAIN_MS,
      });
    } catch (e) {
      if (isKind(e, 'DeadlineExceeded') && !ctx.signal.aborted) {
        const what = `${argv[0]} timed out after ${timeoutSeconds}s and was killed, with everything it started`;
        throw new SkiffError('DeadlineExceeded', `exec in container ${r.id}: ${what}`, { cause: e });
      }
      throw e;
    }
    if (res.truncated) ctx.log.warn('exec output cut', { container: r.id, keptBytes: res.stdout.length + res.stderr.length });
    return res;
  }

  /** A streamed exec (CRI Exec): the command runs under a monitor of its own. */
  async session(ctx: OpContext, id: string, argv: readonly string[], opts: { tty: boolean; stdin: boolean; sessionId: string }): Promise<ExecSession> {
    const r = this.check(id, argv);
    return this.host.executorFor(r.runtimeHandler).execSession(ctx, {
      sessionId: opts.sessionId,
      exitFile: join(this.host.exitsDir, `.exec-${opts.sessionId}`),
      target: this.target(r, argv),
      tty: opts.tty,
      stdin: opts.stdin,
    });
  }

  private target(r: ContainerRecord, argv: readonly string[]): ExecSessionRequest['target'] {
    if (r.pid === undefined) throw failedPrecondition(`container ${r.id} is not running`);
    // Without it the helper could not tell the container's process from a later owner of its pid.
    if (r.pidStartTime === undefined) throw failedPrecondition(`container ${r.id}: the start time of its process was not recorded`);
    const proc = this.processOf(r);
    return {
      id: r.id,
      pid: r.pid,
      pidStartTime: r.pidStartTime,
      bundleDir: join(r.dir, 'bundle'),
      cgroupProcs: this.host.cgroupProcs(r),
      cwd: proc.cwd,
      uid: r.user.uid,
      gid: r.user.gid,
      groups: r.user.groups,
      env: proc.env,
      argv,
    };
  }

  private processOf(r: ContainerRecord): { env: string[]; cwd: string } {
    let p = this.processes.get(r.id);
    if (!p) {
      const spec = readSpec(r);
      if (!spec?.process?.env || !spec.process.cwd) throw failedPrecondition(`container ${r.id}: its bundle cannot be read`);
      p = { env: spec.process.env, cwd: spec.process.cwd };
      this.processes.set(r.id, p);
    }
    return p;
  }
}

type SpecProcess = { process?: { env?: string[]; cwd?: string } };

function readSpec(r: ContainerRecord): SpecProcess | undefined {
  try {
    return JSON.parse(readFileSync(join(r.dir, 'bundle', 'config.json'), 'utf8')) as SpecProcess;
  } catch {
    // The caller reports it: the exec cannot go on without it.
    return undefined;
  }
}
