// Runs Skiff's C helpers: argv arrays, never a shell. A helper answers on stdout and reports
// failures as "[skiff-<name>:e] …" lines on stderr; those lines become the error message the
// caller (and in the end kubelet) sees, instead of a bare exit status.
//
// The daemon runs every helper from a sealed in-memory copy of its own (helper-images.ts), never
// from the file on disk: a helper that enters a container is visible there, and a container that
// opened its /proc/<pid>/exe could otherwise write the host's binary once it exits (runc
// CVE-2019-5736), or hold a copy every later start needs open for writing (ETXTBSY).
import { runCaptured } from './fast-spawn.js';
import { closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { hasErrno, internal, SkiffError, unavailable, type ErrorKind } from '../core/errors.js';
import type { OpContext } from '../core/context.js';
import { HelperImages } from './helper-images.js';

/** Where `make -C native-helpers` puts the binaries, relative to this file in dist/src/runtime/. */
export const DEFAULT_HELPER_DIR = fileURLToPath(new URL('../../../native-helpers/build', import.meta.url));

/** The helpers the daemon runs. */
export const HELPER_NAMES = ['hostinfo', 'pinns', 'monitor', 'init'] as const;

/** How to start one helper, once. */
export interface HelperProgram {
  /** What to execute: the sealed copy as /proc/self/fd/N, or the file itself. */
  readonly file: string;
  /** argv[0]: the bare name `skiff-<name>` for a sealed copy (no host path to read), else the file. */
  readonly argv0: string;
  /** The sealed copy's fd, for a process that starts the helper itself (skiff-monitor's --executor-fd). */
  readonly fd?: number;
  /** Lets go of the copy: once the helper has started (it keeps its own reference) or failed to. */
  close(): void;
}

export interface HelperResult {
  readonly stdout: string;
  /** stderr lines that are not error reports (warnings, "[skiff-x:w] …"). */
  readonly warnings: string[];
}

export interface HelperRunOptions {
  /** Our fds the helper gets as its fd `as` (3 and up). */
  readonly inherit?: readonly { readonly fd: number; readonly as: number }[];
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
    /** The helpers' bytes; when given, no helper ever runs from `dir`. */
    private readonly images?: HelperImages,
  ) {}

  /**
   * Reads each helper now, once; every later start runs a sealed copy of those bytes made for it
   * alone. Unavailable when a helper is missing.
   */
  static sealed(dir: string = DEFAULT_HELPER_DIR, names: readonly string[] = HELPER_NAMES): HelperRunner {
    return new HelperRunner(dir, HelperImages.load(dir, names));
  }

  /** The name a start of this helper shows as argv[0] (see HelperProgram.argv0). */
  argv0(name: string): string {
    return this.images ? `skiff-${name}` : join(this.dir, `skiff-${name}`);
  }

  /**
   * A program for one start of the helper: with sealed images a new sealed copy, which the
   * caller closes once the helper has started (or failed to); else the file on disk.
   */
  open(name: string): HelperProgram {
    if (!this.images) {
      const path = join(this.dir, `skiff-${name}`);
      return { file: path, argv0: path, close: () => {} };
    }
    if (!this.images.has(name)) throw internal(`helper skiff-${name} was not sealed at start-up`);
    const fd = this.images.copy(name);
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return { file: `/proc/self/fd/${fd}`, argv0: `skiff-${name}`, fd, close };
  }

  /** Helpers read no input: stdin is /dev/null. Spawned with posix_spawn (see fast-spawn.ts). */
  async run(ctx: OpContext, name: string, args: readonly string[], opts: HelperRunOptions = {}): Promise<HelperResult> {
    const program = this.open(name);
    const bin = program.argv0;
    let r;
    try {
      r = await runCaptured(ctx, program.file, args, [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`], {
        argv0: bin,
        ...(opts.inherit ? { inherit: opts.inherit } : {}),
      });
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) throw unavailable(`helper ${bin} is missing: run "npm run build"`, e);
      if (e instanceof SkiffError) throw e;
      throw internal(`starting ${bin}: ${(e as Error).message}`, e);
    } finally {
      program.close();
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
