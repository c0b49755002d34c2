// Runs Skiff's C helpers: argv arrays, never a shell. A helper answers on stdout and reports
// failures as "[skiff-<name>:e] …" lines on stderr; those lines become the error message the
// caller (and in the end kubelet) sees, instead of a bare exit status.
import { spawn } from 'node:child_process';
import { countSpawn } from './spawn-count.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { internal, SkiffError, unavailable } from '../core/errors.js';
import type { OpContext } from '../core/context.js';

/** Where `make -C native-helpers` puts the binaries, relative to this file in dist/src/runtime/. */
export const DEFAULT_HELPER_DIR = fileURLToPath(new URL('../../../native-helpers/build', import.meta.url));

export interface HelperResult {
  readonly stdout: string;
  /** stderr lines that are not error reports (warnings, "[skiff-x:w] …"). */
  readonly warnings: string[];
}

const EXIT_USAGE = 2;

export class HelperRunner {
  constructor(readonly dir: string = DEFAULT_HELPER_DIR) {}

  path(name: string): string {
    return join(this.dir, `skiff-${name}`);
  }

  run(ctx: OpContext, name: string, args: readonly string[], opts: { input?: string } = {}): Promise<HelperResult> {
    const bin = this.path(name);
    return new Promise((resolve, reject) => {
      countSpawn();
      const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: ctx.signal });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (e.name === 'AbortError') reject(new SkiffError('Cancelled', `skiff-${name}: cancelled`, { cause: e }));
        else if (e.code === 'ENOENT') reject(unavailable(`helper ${bin} is missing: run "npm run build"`, e));
        else reject(internal(`starting ${bin}: ${e.message}`, e));
      });
      child.on('close', (code, signal) => {
        const lines = Buffer.concat(err).toString('utf8').split('\n').filter(Boolean);
        const errors = lines.filter((l) => l.startsWith(`[skiff-${name}:e] `)).map((l) => l.slice(name.length + 11));
        const warnings = lines.filter((l) => !l.startsWith(`[skiff-${name}:e] `));
        if (code === 0) {
          resolve({ stdout: Buffer.concat(out).toString('utf8'), warnings });
          return;
        }
        const how = signal ? `killed by ${signal}` : `exit status ${code}`;
        const why = errors.length ? errors.join('; ') : lines.join('; ') || 'no message';
        ctx.log.debug('helper failed', { helper: name, args, status: how, stderr: lines });
        reject(new SkiffError(code === EXIT_USAGE ? 'InvalidArgument' : 'Internal', `skiff-${name}: ${why} (${how})`));
      });
      // A helper that exits before reading its input reports through its exit status; EPIPE adds nothing.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input ?? '');
    });
  }

  /** Runs a helper that answers with one JSON object, checked by `guard`. */
  async runJson<T>(
    ctx: OpContext,
    name: string,
    args: readonly string[],
    guard: (x: unknown) => x is T,
  ): Promise<T> {
    const { stdout } = await this.run(ctx, name, args);
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw internal(`skiff-${name}: answer is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
    }
    if (!guard(parsed)) throw internal(`skiff-${name}: answer has an unexpected shape: ${stdout.slice(0, 200)}`);
    return parsed;
  }
}
