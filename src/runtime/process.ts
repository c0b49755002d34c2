// Runs an external program (iptables-restore, CNI plugins): argv arrays, never a shell. The exit
// status is the caller's to judge; this file only guarantees that the child cannot outlive the
// caller's deadline and cannot make the daemon buffer unbounded output.
import { spawn } from 'node:child_process';
import { countSpawn } from './spawn-count.js';
import { SkiffError, internal, unavailable } from '../core/errors.js';
import type { OpContext } from '../core/context.js';

export interface RunOptions {
  readonly stdin?: string | Buffer;
  /** The child's whole environment; the daemon's own is not inherited when this is given. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Kills the child (SIGKILL) and rejects with DeadlineExceeded after this long. */
  readonly timeoutMs?: number;
  /** Per stream; bytes past it are read and dropped so the child never blocks on a full pipe. */
  readonly maxOutputBytes?: number;
}

export interface RunResult {
  /** null when the child was ended by a signal. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** True when either stream went past maxOutputBytes and was cut. */
  readonly truncated: boolean;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 4 << 20;

class Capped {
  private readonly parts: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  push(b: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = b.length > room ? b.subarray(0, room) : b;
    if (part.length < b.length) this.truncated = true;
    this.parts.push(part);
    this.size += part.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

function abortError(ctx: OpContext, what: string): SkiffError {
  const reason: unknown = ctx.signal.reason;
  if (reason instanceof SkiffError) return reason.wrap(what);
  return new SkiffError('Cancelled', `${what}: cancelled`, { cause: reason });
}

/**
 * Resolves when the child has exited and its output pipes are closed, whatever the exit status.
 * Rejects when it cannot be started (Unavailable for a missing program), when `ctx` is aborted,
 * or when `timeoutMs` passes; in the last two cases the child's process group is killed first.
 */
export function runProcess(ctx: OpContext, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') return Promise.reject(internal('runProcess: empty argv'));
  if (ctx.signal.aborted) return Promise.reject(abortError(ctx, file));
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;

  return new Promise<RunResult>((resolve, reject) => {
    // A process group of its own, so a kill also reaches what the program started (a CNI plugin
    // running iptables): killing only the direct child would leave those running.
    countSpawn();
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env,
      cwd: opts.cwd,
      detached: true,
    });
    const out = new Capped(max);
    const err = new Capped(max);
    let failure: SkiffError | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const kill = (why: SkiffError) => {
      if (failure) return;
      failure = why;
      const pid = child.pid;
      try {
        if (pid !== undefined) process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is gone already, or never formed: the direct child is all there is.
        child.kill('SIGKILL');
      }
    };
    const onAbort = () => kill(abortError(ctx, file));
    // 'error' (spawn failed) and 'close' can both fire for one child: the first one decides.
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      return true;
    };

    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) {
      const ms = opts.timeoutMs;
      timer = setTimeout(() => kill(new SkiffError('DeadlineExceeded', `${file}: no answer after ${ms} ms, killed`)), ms);
    }

    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (!done()) return;
      if (e.code === 'ENOENT') reject(unavailable(`${file}: program not found`, e));
      else if (e.code === 'EACCES') reject(new SkiffError('PermissionDenied', `${file}: not executable`, { cause: e }));
      else reject(internal(`starting ${file}: ${e.message}`, e));
    });
    child.on('close', (code, signal) => {
      if (!done()) return;
      if (failure) {
        reject(failure);
        return;
      }
      resolve({
        code,
        signal,
        stdout: out.bytes(),
        stderr: err.bytes(),
        truncated: out.truncated || err.truncated,
      });
    });
    // A program that exits before reading its input says why through its status; EPIPE adds nothing.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The first lines of a program's stderr (or stdout), for an error message a person reads. */
export function outputExcerpt(b: Buffer, maxChars = 500): string {
  const text = b.toString('utf8').trim();
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}
