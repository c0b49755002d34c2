// Runs Skiff's C helpers: argv arrays, never a shell. A helper answers on stdout and reports
// failures as "[skiff-<name>:e] …" lines on stderr; those lines become the error message the
// caller (and in the end kubelet) sees, instead of a bare exit status.
import { runCaptured } from './fast-spawn.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { hasErrno, internal, SkiffError, unavailable } from '../core/errors.js';
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

  /** Helpers read no input: stdin is /dev/null. Spawned with posix_spawn (see fast-spawn.ts). */
  async run(ctx: OpContext, name: string, args: readonly string[]): Promise<HelperResult> {
    const bin = this.path(name);
    let r;
    try {
      r = await runCaptured(ctx, bin, args, [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`]);
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) throw unavailable(`helper ${bin} is missing: run "npm run build"`, e);
      if (e instanceof SkiffError) throw e;
      throw internal(`starting ${bin}: ${(e as Error).message}`, e);
    }
    const lines = r.stderr.toString('utf8').split('\n').filter(Boolean);
    const errors = lines.filter((l) => l.startsWith(`[skiff-${name}:e] `)).map((l) => l.slice(name.length + 11));
    const warnings = lines.filter((l) => !l.startsWith(`[skiff-${name}:e] `));
    if (r.code === 0) return { stdout: r.stdout.toString('utf8'), warnings };
    const how = r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
    const why = errors.length ? errors.join('; ') : lines.join('; ') || 'no message';
    ctx.log.debug('helper failed', { helper: name, args, status: how, stderr: lines });
    throw new SkiffError(r.code === EXIT_USAGE ? 'InvalidArgument' : 'Internal', `skiff-${name}: ${why} (${how})`);
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
