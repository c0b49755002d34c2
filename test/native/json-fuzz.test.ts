// skiff-init's JSON parser (native-helpers/init/json.c) under libFuzzer with ASan and UBSan for a
// short, seeded run: no memory error, no undefined behaviour, and the node tree, strings,
// json_get and json_int keep their promises (test/fuzz/native/json-fuzz.c). Needs clang with its
// fuzzer runtime (scripts/test.sh installs clang-14 and libclang-rt-14-dev).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJsonFuzzer, runJsonFuzzer } from '../fuzz/native/libfuzzer.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_251_208;
const RUNS = 20_000;

describe('native: skiff-init JSON parser under libFuzzer', function () {
  this.timeout(120_000);
  let artifacts: string;

  before(() => {
    buildJsonFuzzer();
    artifacts = mkdtempSync(join(tmpdir(), 'skiff-json-fuzz-'));
  });
  after(() => rmSync(artifacts, { recursive: true, force: true }));

  it(`runs ${RUNS} inputs from the corpus and dictionary without a crash or a broken promise`, async () => {
    console.log(`      libFuzzer seed ${SEED} (replay a crash: native-helpers/build/fuzz/json-fuzz FILE)`);
    const r = await runJsonFuzzer({ seed: SEED, runs: RUNS, artifacts });
    expect(r.findings, r.tail).to.deep.equal([]);
    expect(r.runs).to.be.at.least(RUNS);
  });
});
