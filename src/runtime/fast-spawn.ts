// Runs a short-lived helper with posix_spawn (sys/spawn-calls.ts) and collects its output. Exits
// are learnt from SIGCHLD (no polling): every SIGCHLD reaps whichever of our children are done.
import { createReadStream } from 'node:fs';
import { constants } from 'node:os';
import type { OpContext } from '../core/context.js';
import { SkiffError } from '../core/errors.js';
import { spawnPiped, tryReap } from '../sys/spawn-calls.js';
import { countSpawn } from './spawn-count.js';

export interface Captured {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

type Exit = { code: number | null; signal: number | null };
const waiting = new Map<number, (e: Exit) => void>();
let listening = false;

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
  }
}

function exitOf(pid: number): Promise<Exit> {
  return new Promise((resolve) => {
    waiting.set(pid, resolve);
    if (!listening) {
      process.on('SIGCHLD', reapAll);
      listening = true;
    }
    // It may have exited before we listened.
    reapAll();
  });
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

function drain(fd: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    createReadStream('', { fd, autoClose: true })
      .on('data', (b) => parts.push(b as Buffer))
      .on('error', reject)
      .on('close', () => resolve(Buffer.concat(parts)));
  });
}

/** Aborting `ctx` kills the helper's process group; the result then rejects with the abort reason. */
export async function runCaptured(ctx: OpContext, file: string, args: readonly string[], env: readonly string[]): Promise<Captured> {
  countSpawn();
  const child = spawnPiped(file, [file, ...args], env);
  const onAbort = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const [stdout, stderr, exit] = await Promise.all([drain(child.stdout), drain(child.stderr), exitOf(child.pid)]);
    if (ctx.signal.aborted) {
      const reason: unknown = ctx.signal.reason;
      throw reason instanceof SkiffError ? reason : new SkiffError('Cancelled', `${file}: cancelled`, { cause: reason });
    }
    return { code: exit.code, signal: exit.signal === null ? null : (SIGNAL_NAMES.get(exit.signal) ?? null), stdout, stderr };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
