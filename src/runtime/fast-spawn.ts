// Runs a short-lived helper with posix_spawn (sys/spawn-calls.ts) and collects its output. Exits
// are learnt from SIGCHLD (no polling): every SIGCHLD reaps whichever of our children are done.
import { createReadStream, createWriteStream } from 'node:fs';
import { constants } from 'node:os';
import { abortError, type OpContext } from '../core/context.js';
import { SkiffError } from '../core/errors.js';
import { spawnPiped, tryReap } from '../sys/spawn-calls.js';
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
  /** Kills the child's process group and rejects with DeadlineExceeded after this long. */
  readonly timeoutMs?: number;
  /** Per stream. Default: unlimited. */
  readonly maxOutputBytes?: number;
  /** Our fds the child gets as its fd `as` (3 and up). */
  readonly inherit?: readonly { readonly fd: number; readonly as: number }[];
  /** The child's argv[0] when `file` is not its name (a sealed helper's /proc/self/fd/N). */
  readonly argv0?: string;
}

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

/** Reads the pipe to its end; keeps at most `max` bytes so a chatty child cannot fill memory. */
function drain(fd: number, max: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let truncated = false;
    createReadStream('', { fd, autoClose: true })
      .on('data', (chunk) => {
        const b = chunk as Buffer;
        const room = max - size;
        if (b.length > room) truncated = true;
        if (room > 0) {
          const part = b.length > room ? b.subarray(0, room) : b;
          parts.push(part);
          size += part.length;
        }
      })
      .on('error', reject)
      .on('close', () => resolve({ bytes: Buffer.concat(parts, size), truncated }));
  });
}

function feed(fd: number, input: string | Buffer): void {
  // A child that exits before reading its input says why through its status; EPIPE adds nothing.
  createWriteStream('', { fd, autoClose: true }).on('error', () => {}).end(input);
}

/**
 * Runs `file` (a bare name is looked up in PATH) with exactly `env`, and collects its output;
 * its argv[0] is `opts.argv0`, or `file`.
 * Aborting `ctx` or passing `timeoutMs` kills the child's process group (a program's own children
 * too); the result then rejects with the abort reason or DeadlineExceeded.
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
  let failure: SkiffError | undefined;
  const kill = (why: SkiffError) => {
    failure ??= why;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  };
  const onAbort = () => kill(abortError(ctx.signal, name));
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const ms = opts.timeoutMs;
  const timer = ms === undefined ? undefined : setTimeout(() => kill(new SkiffError('DeadlineExceeded', `${name}: no answer after ${ms} ms, killed`)), ms);
  const max = opts.maxOutputBytes ?? Number.MAX_SAFE_INTEGER;
  try {
    const [out, err, exit] = await Promise.all([drain(child.stdout, max), drain(child.stderr, max), exitOf(child.pid)]);
    if (failure) throw failure;
    return {
      code: exit.code,
      signal: exit.signal === null ? null : (SIGNAL_NAMES.get(exit.signal) ?? null),
      stdout: out.bytes,
      stderr: err.bytes,
      truncated: out.truncated || err.truncated,
    };
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
