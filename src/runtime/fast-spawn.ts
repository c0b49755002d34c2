// Runs a short-lived helper with posix_spawn (sys/spawn-calls.ts) and collects its output. Exits
// are learnt from SIGCHLD (no polling): every SIGCHLD reaps whichever of our children are done.
import { createWriteStream } from 'node:fs';
import { constants } from 'node:os';
import { abortError, type OpContext } from '../core/context.js';
import { SkiffError } from '../core/errors.js';
import { spawnPiped, tryReap } from '../sys/spawn-calls.js';
import { OutputPipes } from './output-pipes.js';
import { countSpawn } from './spawn-count.js';

export interface Captured {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** Either stream went past maxOutputBytes and was cut (the rest was read and dropped). */
  readonly truncated: boolean;
}

export interface CaptureOptions {
  /** Written to the child's stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string | Buffer;
  /** Ends the child (see endSignal) and rejects with DeadlineExceeded after this long. */
  readonly timeoutMs?: number;
  /** Per stream. Default: unlimited. */
  readonly maxOutputBytes?: number;
  /** Both streams together. Default: unlimited. */
  readonly maxTotalOutputBytes?: number;
  /**
   * Once the child has exited, how long its output may still take: something it started can
   * hold the pipes open for ever. Past this the pipes are closed and what was read is returned,
   * and `timeoutMs` no longer applies. Default: until they close, within `timeoutMs` and `ctx`.
   */
  readonly drainMs?: number;
  /**
   * How a timeout or abort ends the child: this signal to the child alone, and SIGKILL to its
   * process group only if it is still there KILL_GRACE_MS later (skiff-init exec ends the
   * command and all it started on SIGTERM). Default: SIGKILL to the group at once.
   */
  readonly endSignal?: NodeJS.Signals;
  /** Our fds the child gets as its fd `as` (3 and up). */
  readonly inherit?: readonly { readonly fd: number; readonly as: number }[];
  /** The child's argv[0] when `file` is not its name (a sealed helper's /proc/self/fd/N). */
  readonly argv0?: string;
}

const KILL_GRACE_MS = 1000;

type Exit = { code: number | null; signal: number | null };
const waiting = new Map<number, (e: Exit) => void>();
let listening = false;
/**
 * While children are pending: signal listeners do not keep Node's event loop alive, so without a
 * ref'd handle a daemon waiting only for a child's exit would simply end (seen: exit 0, no output).
 * The timer also re-checks now and then, in case a SIGCHLD was coalesced away.
 */
let keepAlive: NodeJS.Timeout | undefined;
const SAFETY_NET_MS = 250;

function reapAll(): void {
  for (const [pid, done] of waiting) {
    const e = tryReap(pid);
    if (e) {
      waiting.delete(pid);
      done(e);
    }
  }
  if (waiting.size === 0 && listening) {
    process.off('SIGCHLD', reapAll);
    listening = false;
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

function exitOf(pid: number): Promise<Exit> {
  return new Promise((resolve) => {
    waiting.set(pid, resolve);
    if (!listening) {
      process.on('SIGCHLD', reapAll);
      keepAlive = setInterval(reapAll, SAFETY_NET_MS);
      listening = true;
    }
    // It may have exited before we listened.
    reapAll();
  });
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** Waits for the end of the pipes (or their stop), but not past `ms` when given. */
function untilClosed(pipes: OutputPipes, ms: number | undefined): Promise<void> {
  if (ms === undefined) return pipes.closed;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void pipes.closed.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function feed(fd: number, input: string | Buffer): void {
  // A child that exits before reading its input says why through its status; EPIPE adds nothing.
  createWriteStream('', { fd, autoClose: true }).on('error', () => {}).end(input);
}

/**
 * Runs `file` (a bare name is looked up in PATH) with exactly `env`, and collects its output;
 * its argv[0] is `opts.argv0`, or `file`.
 * Aborting `ctx` or passing `timeoutMs` ends the child (its process group: a program's own
 * children too, unless `endSignal` says otherwise); the result then rejects with the abort reason
 * or DeadlineExceeded.
 */
export async function runCaptured(
  ctx: OpContext,
  file: string,
  args: readonly string[],
  env: readonly string[],
  opts: CaptureOptions = {},
): Promise<Captured> {
  const name = opts.argv0 ?? file;
  if (ctx.signal.aborted) throw abortError(ctx.signal, name);
  countSpawn();
  const child = spawnPiped(file, [name, ...args], env, {
    stdin: opts.input !== undefined,
    ...(opts.inherit ? { inherit: opts.inherit } : {}),
  });
  if (child.stdin !== undefined) feed(child.stdin, opts.input ?? '');
  const pipes = new OutputPipes(child.stdout, child.stderr, {
    perStream: opts.maxOutputBytes ?? Number.MAX_SAFE_INTEGER,
    total: opts.maxTotalOutputBytes ?? Number.MAX_SAFE_INTEGER,
  });
  let exited = false;
  let failure: SkiffError | undefined;
  let grace: NodeJS.Timeout | undefined;
  const signal = (target: number, sig: NodeJS.Signals) => {
    try {
      process.kill(target, sig);
    } catch {
      // Gone already.
    }
  };
  const end = (why: SkiffError) => {
    if (failure) return;
    failure = why;
    // Reaped already, only its output is awaited: stop reading. No signal: the child's pid, and
    // so its group's id once the group is empty, may belong to someone else by now.
    if (exited) return pipes.stop();
    if (!opts.endSignal) return signal(-child.pid, 'SIGKILL');
    signal(child.pid, opts.endSignal);
    grace = setTimeout(() => signal(-child.pid, 'SIGKILL'), KILL_GRACE_MS);
  };
  const onAbort = () => end(abortError(ctx.signal, name));
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // setTimeout takes at most 2^31 - 1 ms (24.8 days) and fires at once past it.
  const ms = opts.timeoutMs !== undefined && opts.timeoutMs <= 0x7fffffff ? opts.timeoutMs : undefined;
  const timer = ms === undefined ? undefined : setTimeout(() => end(new SkiffError('DeadlineExceeded', `${name}: no answer after ${ms} ms, killed`)), ms);
  try {
    const exit = await exitOf(child.pid);
    exited = true;
    clearTimeout(grace);
    // With a drain bound, the exit is the answer and the timeout has done its job.
    if (opts.drainMs !== undefined) clearTimeout(timer);
    // Ended by us, the output goes unread: nothing waits for what may still hold it.
    if (!failure) await untilClosed(pipes, opts.drainMs);
    if (failure) throw failure;
    const out = pipes.result();
    return {
      code: exit.code,
      signal: exit.signal === null ? null : (SIGNAL_NAMES.get(exit.signal) ?? null),
      ...out,
    };
  } finally {
    pipes.stop();
    clearTimeout(timer);
    clearTimeout(grace);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
