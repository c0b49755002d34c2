// `npm run fuzz [-- options]`: the long fuzz run. Every target (the TypeScript ones in a worker
// with a hang watchdog, the C JSON parser under libFuzzer) for a time or a number of inputs each;
// prints each target's inputs, typed refusals and findings, saves each finding's input, and
// exits 1 when there is one.
//
//   --time S        seconds per target (default 30)        --runs N      inputs per target instead
//   --target a,b    only these (default: all)              --seed N      start seed (default: random)
//   --findings DIR  where failing inputs go (default ./fuzz-findings)
//   --replay FILE   run one saved input through --target and say what happens
//   --path P        with --seed and --target: replay fast-check's counterexample path P
//   --list          list the targets
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { replay, type TargetReport } from './harness/engine.js';
import { fuzzIsolated } from './harness/isolated.js';
import { describeError } from './harness/target.js';
import { buildJsonFuzzer, JSON_TARGET_NAME, runJsonFuzzer, type NativeReport } from './native/libfuzzer.js';
import { findTarget, TARGETS } from './targets/index.js';

const { values } = parseArgs({
  options: {
    time: { type: 'string' },
    runs: { type: 'string' },
    target: { type: 'string' },
    seed: { type: 'string' },
    findings: { type: 'string', default: 'fuzz-findings' },
    replay: { type: 'string' },
    path: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
});

const ALL = [...TARGETS.map((t) => t.name), JSON_TARGET_NAME];

async function main(): Promise<number> {
  if (values.list) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(18)} ${t.about}`);
    console.log(`${JSON_TARGET_NAME.padEnd(18)} native-helpers/init/json.c under libFuzzer (clang, ASan + UBSan)`);
    return 0;
  }
  const names = values.target ? values.target.split(',') : ALL;
  for (const n of names) if (!ALL.includes(n)) throw new Error(`no fuzz target ${n} (have: ${ALL.join(', ')})`);

  if (values.replay !== undefined) {
    if (names.length !== 1 || names[0] === JSON_TARGET_NAME) throw new Error('--replay needs one TypeScript --target (replay json-c inputs by passing the file to native-helpers/build/fuzz/json-fuzz)');
    try {
      console.log(`${names[0]}: ${await replay(findTarget(names[0]!), readFileSync(values.replay))}`);
      return 0;
    } catch (e) {
      console.log(`${names[0]}: FINDING: ${describeError(e)}`);
      return 1;
    }
  }

  const seed = values.seed !== undefined ? Number(values.seed) : (Date.now() % 2 ** 31) | 0;
  const runs = values.runs !== undefined ? Number(values.runs) : undefined;
  const timeMs = runs === undefined ? Number(values.time ?? 30) * 1000 : undefined;
  const findingsDir = resolve(values.findings!);
  console.log(`fuzz: seed ${seed}, ${runs !== undefined ? `${runs} inputs` : `${timeMs! / 1000} s`} per target; replay a target with --target NAME --seed ${seed}`);

  const ts = names.filter((n) => n !== JSON_TARGET_NAME);
  const reports: (TargetReport | NativeReport)[] = [];
  if (ts.length) {
    reports.push(...(await fuzzIsolated(ts, { seed, runs, timeMs, path: values.path, keepGoing: values.path === undefined, log: (l) => console.log(`  ${l}`) })));
  }
  if (names.includes(JSON_TARGET_NAME)) {
    buildJsonFuzzer();
    mkdirSync(findingsDir, { recursive: true });
    reports.push(await runJsonFuzzer({ seed, runs, timeSec: timeMs === undefined ? undefined : timeMs / 1000, artifacts: findingsDir }));
  }

  let total = 0;
  console.log(`\n${'target'.padEnd(18)} ${'inputs'.padStart(9)} ${'refused'.padStart(9)} ${'time'.padStart(7)}  findings`);
  for (const r of reports) {
    const refused = 'refused' in r ? String(r.refused) : '-';
    console.log(`${r.target.padEnd(18)} ${String(r.runs).padStart(9)} ${refused.padStart(9)} ${`${(r.ms / 1000).toFixed(1)}s`.padStart(7)}  ${r.findings.length}`);
    for (const f of r.findings) {
      total++;
      if ('input' in f) {
        mkdirSync(findingsDir, { recursive: true });
        const file = join(findingsDir, `${r.target}-${f.seed}-${total}.bin`);
        writeFileSync(file, f.input);
        console.log(`    ${f.problem}\n      input: ${file} (${f.input.length} bytes); replay: npm run fuzz -- --target ${r.target} --replay ${file}` +
          (f.path ? `  (or --seed ${f.seed} --path ${f.path})` : ''));
      } else {
        console.log(`    ${f.problem}\n      input: ${f.file}; replay: ${buildHint(f.file)}`);
      }
    }
  }
  console.log(`\nfuzz: ${total} finding(s)`);
  return total ? 1 : 0;
}

const buildHint = (file: string) => `native-helpers/build/fuzz/json-fuzz ${file}`;

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
