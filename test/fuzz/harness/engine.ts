// Runs one fuzz target with fast-check: every input checked against the target's contract, a time
// bound per input, a memory ceiling, and errors that escape the call (uncaught exceptions,
// unhandled rejections) charged to the input that was running. A failing input is shrunk and
// reported with the seed and path that replay it.
import fc from 'fast-check';
import { setImmediate as tick } from 'node:timers/promises';
import { DEFAULT_TIME_BOUND_MS, describeError, type FuzzTarget } from './target.js';

export interface Finding {
  readonly target: string;
  readonly seed: number;
  /** fast-check's counterexample path: with the seed, replays the shrunk input. */
  readonly path: string | undefined;
  readonly problem: string;
  /** The smallest failing input found. */
  readonly input: Buffer;
}

export interface TargetReport {
  readonly target: string;
  readonly seed: number;
  /** Inputs run (shrinking not counted). */
  runs: number;
  /** Inputs the parser refused with its typed error. */
  refused: number;
  ms: number;
  readonly findings: Finding[];
}

export interface EngineOptions {
  readonly seed: number;
  /** Stop after this many inputs... */
  readonly runs?: number;
  /** ...or after this long (the first limit reached wins). */
  readonly timeMs?: number;
  /** Replays one input of a seed (a counterexample path). */
  readonly path?: string;
  /** Called before each input runs (the worker copies it where the watchdog can see it). */
  readonly onInput?: (input: Buffer) => void;
  /** After a finding, go on with the next seed until the time is up (the long run does). */
  readonly keepGoing?: boolean;
  readonly log?: (line: string) => void;
}

/** The whole process (worker threads share it); far above what any one parser call needs. */
const MEMORY_CEILING = 1536 * 1024 * 1024;
/** Shrinking steps tried on a failing input. */
const MAX_SHRINKS = 400;

class TimeBoundExceeded extends Error {
  override name = 'TimeBoundExceeded';
}

/** Errors thrown outside the call (a stream's 'error' nobody listens to, a stray rejection). */
const strays: unknown[] = [];
const onStray = (e: unknown) => void strays.push(e);

/** Catches strays while `fn` runs inputs, and only then: the harness's own errors stay loud. */
async function catchingStrays<T>(fn: () => Promise<T>): Promise<T> {
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
  try {
    return await fn();
  } finally {
    process.off('uncaughtException', onStray);
    process.off('unhandledRejection', onStray);
  }
}

async function runOne(target: FuzzTarget, input: Buffer, boundMs: number): Promise<'ok' | 'refused'> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let outcome: 'ok' | 'refused' = 'ok';
  try {
    const result = target.run(input);
    if (result instanceof Promise) {
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeBoundExceeded(`no answer within ${boundMs} ms`)), boundMs);
      });
      await Promise.race([result, limit]);
    }
  } catch (e) {
    if (e instanceof TimeBoundExceeded || !target.accepts(e)) throw e;
    outcome = 'refused';
  } finally {
    if (timer) clearTimeout(timer);
  }
  const took = performance.now() - started;
  if (took > boundMs) throw new TimeBoundExceeded(`took ${Math.round(took)} ms, over the ${boundMs} ms bound`);
  // Let rejections and 'error' events the call left behind surface now, while it is to blame.
  await tick();
  if (strays.length) {
    const e = strays.splice(0)[0];
    throw new Error(`escaped the call: ${describeError(e)}`, { cause: e });
  }
  const rss = process.memoryUsage.rss();
  if (rss > MEMORY_CEILING) throw new Error(`process memory reached ${Math.round(rss / 2 ** 20)} MiB after this input`);
  return outcome;
}

function problemOf(e: unknown): string {
  const text = describeError(e);
  return e instanceof Error && e.cause !== undefined && !text.includes('escaped') ? `${text} (cause: ${describeError(e.cause)})` : text;
}

/** Findings that differ only in numbers, paths and quoted names are one problem. */
function signature(problem: string): string {
  return problem
    .replace(/Received .*/g, 'Received X')
    .replace(/"[^"]*"|'[^']*'/g, '""')
    .replace(/\/\S*/g, '/P')
    .replace(/[-\d._e+]*\d[-\d._e+]*/g, 'N');
}

export async function fuzz(target: FuzzTarget, opts: EngineOptions): Promise<TargetReport> {
  const log = opts.log ?? (() => {});
  const boundMs = target.timeBoundMs ?? DEFAULT_TIME_BOUND_MS;
  const arbitrary = fc.limitShrink(await target.inputs(), MAX_SHRINKS);
  const report: TargetReport = { target: target.name, seed: opts.seed, runs: 0, refused: 0, ms: 0, findings: [] };
  const seen = new Set<string>();
  const started = Date.now();
  await target.setup?.();
  try {
    for (let round = 0; ; round++) {
      const seed = (opts.seed + round) | 0;
      let failed = false;
      let runs = 0;
      let refused = 0;
      const property = fc.asyncProperty(arbitrary, async (input) => {
        opts.onInput?.(input);
        if (!failed) runs++;
        try {
          const outcome = await runOne(target, input, boundMs);
          if (!failed && outcome === 'refused') refused++;
        } catch (e) {
          failed = true;
          throw e;
        }
      });
      const left = opts.timeMs === undefined ? undefined : opts.timeMs - (Date.now() - started);
      if (left !== undefined && left <= 0) break;
      const details = await catchingStrays(() => fc.check(property, {
        seed,
        numRuns: opts.path !== undefined ? 1 : (opts.runs ?? 1_000_000_000),
        ...(opts.path !== undefined ? { path: opts.path } : {}),
        ...(left !== undefined ? { interruptAfterTimeLimit: left } : {}),
        endOnFailure: false,
      }));
      report.runs += runs;
      report.refused += refused;
      if (details.failed && details.counterexample !== null) {
        const problem = problemOf(details.errorInstance);
        const sig = signature(problem);
        if (!seen.has(sig)) {
          seen.add(sig);
          const input = Buffer.from(details.counterexample[0]);
          report.findings.push({ target: target.name, seed, path: details.counterexamplePath ?? undefined, problem, input });
          log(`${target.name}: finding (seed ${seed}, path ${details.counterexamplePath}): ${problem}`);
        }
      }
      if (!opts.keepGoing || opts.path !== undefined || opts.timeMs === undefined) break;
      if (!details.failed) break; // the time ran out (or the runs did) without a failure
    }
  } finally {
    await target.teardown?.();
  }
  report.ms = Date.now() - started;
  return report;
}

/** Runs one given input (a saved finding) and says what happened. */
export async function replay(target: FuzzTarget, input: Buffer): Promise<string> {
  await target.setup?.();
  try {
    const outcome = await catchingStrays(() => runOne(target, input, target.timeBoundMs ?? DEFAULT_TIME_BOUND_MS));
    return outcome === 'ok' ? 'accepted' : 'refused with a typed error (as the contract allows)';
  } finally {
    await target.teardown?.();
  }
}
