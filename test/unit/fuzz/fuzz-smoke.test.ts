// A short, deterministic run of every fuzz target (test/fuzz/targets/): a few hundred inputs
// each, in a worker thread whose watchdog catches synchronous hangs. The seed is fixed so the
// suite sees the same inputs every time; FUZZ_SEED=<n> picks others. `npm run fuzz` is the long run.
import { expect } from 'chai';
import type { Finding, TargetReport } from '../../fuzz/harness/engine.js';
import { fuzzIsolated } from '../../fuzz/harness/isolated.js';
import { TARGETS } from '../../fuzz/targets/index.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_251_208;

/** What a failure shows: the problem, how to replay it, and the input itself when it is small. */
function explain(f: Finding): string {
  const replay = f.path ? `npm run fuzz -- --target ${f.target} --seed ${f.seed} --path ${f.path}` : `the input below with --replay FILE`;
  const input = f.input.length <= 4096 ? f.input.toString('base64') : `${f.input.length} bytes (too long to show; replay with the seed)`;
  return `${f.problem}\n  replay: ${replay}\n  input (base64): ${input}`;
}

describe('fuzz: a short run of every target', function () {
  this.timeout(120_000);
  const reports = new Map<string, TargetReport>();

  before(async () => {
    console.log(`      fuzz seed ${SEED} (another: FUZZ_SEED=<n>; longer: npm run fuzz -- --seed ${SEED})`);
    for (const r of await fuzzIsolated(TARGETS.map((t) => t.name), { seed: SEED, runs: 'smoke', hangMs: 10_000 })) reports.set(r.target, r);
  });

  for (const t of TARGETS) {
    it(`${t.name}: ${t.smokeRuns} inputs, each a value or its typed refusal within ${t.timeBoundMs ?? 2000} ms`, () => {
      const r = reports.get(t.name);
      expect(r, `no report for ${t.name}`).to.not.equal(undefined);
      expect(r!.findings.map(explain), `${t.name} (seed ${SEED})`).to.deep.equal([]);
      expect(r!.runs).to.equal(t.smokeRuns);
    });
  }
});
