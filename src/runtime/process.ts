// Runs an external program (iptables-restore, CNI plugins): argv arrays, never a shell. The exit
// status is the caller's to judge; this file only guarantees that the child cannot outlive the
// caller's deadline and cannot make the daemon buffer unbounded output.
import { hasErrno, SkiffError, internal, unavailable } from '../core/errors.js';
import { runCaptured } from './fast-spawn.js';
import type { OpContext } from '../core/context.js';

export interface RunOptions {
  readonly stdin?: string | Buffer;
  /** The child's whole environment; the daemon's own is not inherited when this is given. */
  readonly env?: Record<string, string>;
  /** Kills the child (SIGKILL) and rejects with DeadlineExceeded after this long. */
  readonly timeoutMs?: number;
  /** Per stream; bytes past it are read and dropped so the child never blocks on a full pipe. */
  readonly maxOutputBytes?: number;
  /** The file to execute when argv[0] only names the program (a sealed helper's /proc/self/fd/N). */
  readonly executable?: string;
  /** Both streams together, likewise. */
  readonly maxTotalOutputBytes?: number;
  /** After the exit, how long to wait for output still held open by something it started. */
  readonly drainMs?: number;
  /** Sent to the child alone on a timeout or abort, SIGKILL to its group a second later (see CaptureOptions). */
  readonly endSignal?: NodeJS.Signals;
}

export interface RunResult {
  /** null when the child was ended by a signal. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** True when output went past maxOutputBytes or maxTotalOutputBytes and was cut. */
  readonly truncated: boolean;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 4 << 20;

/**
 * Resolves when the child has exited and its output pipes are closed (or `drainMs` passed),
 * whatever the exit status. Rejects when it cannot be started (Unavailable for a missing
 * program), when `ctx` is aborted, or when `timeoutMs` passes; in the last two cases the child's
 * process group is killed first (or asked with `endSignal`).
 * Spawned with posix_spawn (fast-spawn.ts), in a process group of its own so a kill also reaches
 * what the program started (a CNI plugin running iptables).
 */
export async function runProcess(ctx: OpContext, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') throw internal('runProcess: empty argv');
  const env = Object.entries(opts.env ?? process.env)
    .filter((kv): kv is [string, string] => kv[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  try {
    return await runCaptured(ctx, opts.executable ?? file, args, env, {
      ...(opts.executable !== undefined ? { argv0: file } : {}),
      ...(opts.stdin !== undefined ? { input: opts.stdin } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      ...(opts.maxTotalOutputBytes !== undefined ? { maxTotalOutputBytes: opts.maxTotalOutputBytes } : {}),
      ...(opts.drainMs !== undefined ? { drainMs: opts.drainMs } : {}),
      ...(opts.endSignal !== undefined ? { endSignal: opts.endSignal } : {}),
    });
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) throw unavailable(`${file}: program not found`, e);
    if (hasErrno(e, 'EACCES')) throw new SkiffError('PermissionDenied', `${file}: not executable`, { cause: e });
    throw e;
  }
}

/** The first lines of a program's stderr (or stdout), for an error message a person reads. */
export function outputExcerpt(b: Buffer, maxChars = 500): string {
  const text = b.toString('utf8').trim();
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}
