// Runs fuzz targets in a worker thread with a watchdog. Inside the worker, an asynchronous input
// that takes too long fails on its own (engine.ts); a synchronous one that never returns cannot,
// so the watchdog here ends the worker when no new input has started for `hangMs` and reports the
// input it was on. A worker that runs out of its heap is reported the same way. The remaining
// targets go on in a fresh worker.
import { Worker } from 'node:worker_threads';
import type { Finding, TargetReport } from './engine.js';
import { makeScratch, removeScratch } from './scratch.js';

export interface WorkerJob {
  readonly targets: readonly string[];
  readonly seed: number;
  readonly runs: number | 'smoke' | undefined;
  readonly timeMs: number | undefined;
  readonly path: string | undefined;
  readonly keepGoing: boolean;
  readonly shared: SharedArrayBuffer;
  readonly scratch: string;
}

export type WorkerMessage =
  | { readonly type: 'start'; readonly target: string }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'report'; readonly report: TargetReport };

export interface IsolatedOptions {
  readonly seed: number;
  /** Inputs per target: a number, or each target's own smoke count. */
  readonly runs?: number | 'smoke';
  readonly timeMs?: number;
  readonly path?: string;
  readonly keepGoing?: boolean;
  /** No new input for this long is a hang. */
  readonly hangMs?: number;
  /** The worker's V8 heap; past it the input is a finding. */
  readonly heapMb?: number;
  readonly log?: (line: string) => void;
}

/** Large enough for every input the targets generate (they cap theirs at a few MiB). */
const SHARED_BYTES = 8 * 1024 * 1024;
const WATCH_MS = 250;

export async function fuzzIsolated(names: readonly string[], opts: IsolatedOptions): Promise<TargetReport[]> {
  const reports: TargetReport[] = [];
  let left = [...names];
  const dir = makeScratch();
  try {
    while (left.length > 0) {
      const { done, failed } = await runWorker(left, opts, dir);
      reports.push(...done);
      const finished = new Set(done.map((r) => r.target));
      if (failed) {
        reports.push(failed);
        finished.add(failed.target);
      }
      left = left.filter((n) => !finished.has(n));
      if (!failed && left.length > 0) throw new Error(`fuzz worker stopped before ${left.join(', ')}`);
    }
  } finally {
    removeScratch(dir);
  }
  return reports;
}

function runWorker(names: readonly string[], opts: IsolatedOptions, scratch: string): Promise<{ done: TargetReport[]; failed?: TargetReport }> {
  const shared = new SharedArrayBuffer(8 + SHARED_BYTES);
  const header = new Int32Array(shared, 0, 2);
  const job: WorkerJob = {
    targets: names,
    seed: opts.seed,
    runs: opts.runs,
    timeMs: opts.timeMs,
    path: opts.path,
    keepGoing: opts.keepGoing ?? false,
    shared,
    scratch,
  };
  const worker = new Worker(new URL('./worker-main.js', import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: opts.heapMb ?? 1024 },
  });
  const done: TargetReport[] = [];
  let current: { name: string; started: number } | undefined;
  let lastSeq = -1;
  let lastChange = Date.now();

  const currentInput = (): Buffer => Buffer.from(new Uint8Array(shared, 8, Atomics.load(header, 1)));
  const failure = (problem: string): TargetReport => {
    const name = current?.name ?? names[0]!;
    const finding: Finding = { target: name, seed: opts.seed, path: undefined, problem, input: currentInput() };
    opts.log?.(`${name}: finding: ${problem}`);
    return { target: name, seed: opts.seed, runs: 0, refused: 0, ms: Date.now() - (current?.started ?? Date.now()), findings: [finding] };
  };

  return new Promise((resolve) => {
    let settled = false;
    const finish = (failed?: TargetReport) => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      void worker.terminate();
      resolve(failed ? { done, failed } : { done });
    };
    const watch = setInterval(() => {
      const seq = Atomics.load(header, 0);
      if (seq !== lastSeq) {
        lastSeq = seq;
        lastChange = Date.now();
        return;
      }
      const hangMs = opts.hangMs ?? 10_000;
      if (current && Date.now() - lastChange > hangMs) {
        finish(failure(`hang: the input did not finish within ${hangMs} ms (a synchronous loop; the worker was ended)`));
      }
    }, WATCH_MS);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'start') {
        current = { name: m.target, started: Date.now() };
        lastChange = Date.now();
      } else if (m.type === 'log') {
        opts.log?.(m.line);
      } else {
        // Buffers arrive as plain Uint8Arrays.
        for (const f of m.report.findings) (f as { input: Buffer }).input = Buffer.from(f.input);
        done.push(m.report);
        current = undefined;
      }
    });
    worker.on('error', (e: Error & { code?: string }) => {
      const what = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `out of memory: the input took more than the worker's ${opts.heapMb ?? 1024} MiB heap` : `the worker died: ${e.message}`;
      finish(failure(what));
    });
    worker.on('exit', () => finish());
  });
}
