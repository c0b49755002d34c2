// Runs Skiff's C helpers: argv arrays, never a shell. A helper answers on stdout and reports
// failures as "[skiff-<name>:e] …" lines on stderr; those lines become the error message the
// caller (and in the end kubelet) sees, instead of a bare exit status.
//
// The daemon runs every helper from a sealed in-memory copy (helper-images.ts), never from the
// file on disk: a helper that enters a container is visible there, and a container that opened its
// /proc/<pid>/exe could otherwise write the host's binary once it exits (runc CVE-2019-5736).
import { runCaptured } from './fast-spawn.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { hasErrno, internal, SkiffError, unavailable, type ErrorKind } from '../core/errors.js';
import type { OpContext } from '../core/context.js';
import { sealHelpers } from './helper-images.js';

/** Where `make -C native-helpers` puts the binaries, relative to this file in dist/src/runtime/. */
export const DEFAULT_HELPER_DIR = fileURLToPath(new URL('../../../native-helpers/build', import.meta.url));

/** The helpers the daemon runs. */
export const HELPER_NAMES = ['hostinfo', 'pinns', 'monitor', 'init'] as const;

/** How to start one helper. */
export interface HelperProgram {
  /** What to execute: the sealed copy as /proc/self/fd/N, or the file itself. */
  readonly file: string;
  /** argv[0]: the bare name `skiff-<name>` for a sealed copy (no host path to read), else the file. */
  readonly argv0: string;
  /** The sealed copy's fd, for a process that starts the helper itself (skiff-monitor's --executor-fd). */
  readonly fd?: number;
}

export interface HelperResult {
  readonly stdout: string;
  /** stderr lines that are not error reports (warnings, "[skiff-x:w] …"). */
  readonly warnings: string[];
}

const EXIT_USAGE = 2;
/** A helper's rules refused what it was asked to do (native-helpers/README.md, "Conventions"). */
const EXIT_REFUSED = 3;
const KIND_BY_STATUS: Readonly<Record<number, ErrorKind>> = { [EXIT_USAGE]: 'InvalidArgument', [EXIT_REFUSED]: 'FailedPrecondition' };

export class HelperRunner {
  /**
   * Runs the helpers from the files in `dir` as they are: for tests and tools. The daemon, which
   * runs containers, uses HelperRunner.sealed.
   */
  constructor(
    readonly dir: string = DEFAULT_HELPER_DIR,
    /** name → fd of its sealed copy; when given, no helper ever runs from `dir`. */
    private readonly images?: ReadonlyMap<string, number>,
  ) {}

  /**
   * Copies each helper into a sealed memfd now, once, and runs every later start from that copy.
   * Unavailable when a helper is missing; the copies live as long as the daemon (and each process
   * started from one keeps its copy alive).
   */
  static sealed(dir: string = DEFAULT_HELPER_DIR, names: readonly string[] = HELPER_NAMES): HelperRunner {
    return new HelperRunner(dir, sealHelpers(dir, names));
  }

  program(name: string): HelperProgram {
    if (!this.images) {
      const path = join(this.dir, `skiff-${name}`);
      return { file: path, argv0: path };
    }
    const fd = this.images.get(name);
    if (fd === undefined) throw internal(`helper skiff-${name} was not sealed at start-up`);
    return { file: `/proc/self/fd/${fd}`, argv0: `skiff-${name}`, fd };
  }

  /** Helpers read no input: stdin is /dev/null. Spawned with posix_spawn (see fast-spawn.ts). */
  async run(ctx: OpContext, name: string, args: readonly string[]): Promise<HelperResult> {
    const { file, argv0: bin } = this.program(name);
    let r;
    try {
      r = await runCaptured(ctx, file, args, [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`], { argv0: bin });
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
    throw new SkiffError((r.code !== null && KIND_BY_STATUS[r.code]) || 'Internal', `skiff-${name}: ${why} (${how})`);
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
