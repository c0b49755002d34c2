// The worker side of isolated.ts: runs the named targets one after the other and copies each input
// into shared memory before running it, so that the parent can name the input if the worker never
// comes back (a synchronous endless loop cannot be interrupted from inside the thread).
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz } from './engine.js';
import { findTarget } from '../targets/index.js';
import type { WorkerJob, WorkerMessage } from './isolated.js';
import { useScratch } from './scratch.js';

const job = workerData as WorkerJob;
useScratch(job.scratch);
const header = new Int32Array(job.shared, 0, 2);
const bytes = new Uint8Array(job.shared, 8);
const send = (m: WorkerMessage) => parentPort!.postMessage(m);

function publish(input: Buffer): void {
  const n = Math.min(input.length, bytes.length);
  bytes.set(input.subarray(0, n));
  Atomics.store(header, 1, n);
  Atomics.add(header, 0, 1);
}

for (const name of job.targets) {
  const target = findTarget(name);
  send({ type: 'start', target: name });
  const report = await fuzz(target, {
    seed: job.seed,
    runs: job.runs === 'smoke' ? target.smokeRuns : job.runs,
    timeMs: job.timeMs,
    path: job.path,
    keepGoing: job.keepGoing,
    onInput: publish,
    log: (line) => send({ type: 'log', line }),
  });
  send({ type: 'report', report });
}
