// The C JSON parser's libFuzzer target: built by `make -C native-helpers fuzz` (clang with the
// fuzzer runtime), run with a seed, a corpus and a dictionary, its output read for the run count
// and for crashes, which libFuzzer saves as files (the input that crashed, ready to replay by
// passing it to the binary).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository: dist/test/fuzz/native → four levels up. */
const REPO = join(here, '..', '..', '..', '..');
export const JSON_FUZZER = join(REPO, 'native-helpers', 'build', 'fuzz', 'json-fuzz');
export const JSON_CORPUS = join(REPO, 'test', 'fuzz', 'native', 'json-corpus');
export const JSON_DICT = join(REPO, 'test', 'fuzz', 'native', 'json.dict');
export const JSON_TARGET_NAME = 'json-c';

/** Builds the fuzzer; throws with what to install when clang or its fuzzer runtime is missing. */
export function buildJsonFuzzer(): string {
  const r = spawnSync('make', ['-s', '-C', join(REPO, 'native-helpers'), 'fuzz'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `building the libFuzzer target failed (needs clang and libFuzzer: apt-get install clang-14 libclang-rt-14-dev, as scripts/test.sh does):\n${r.stderr}${r.stdout}`,
    );
  }
  return JSON_FUZZER;
}

export interface NativeReport {
  readonly target: string;
  readonly seed: number;
  runs: number;
  ms: number;
  readonly findings: { problem: string; file: string }[];
  /** libFuzzer's last lines, for the log. */
  tail: string;
}

/**
 * Runs libFuzzer: `runs` inputs or `timeSec` seconds, from `seed`. New corpus entries go to a temp
 * dir (the checked-in corpus is read, never written); crashes go to `artifacts`.
 */
export function runJsonFuzzer(opts: { seed: number; runs?: number; timeSec?: number; artifacts: string }): Promise<NativeReport> {
  const fresh = mkdtempSync(join(tmpdir(), 'skiff-json-corpus-'));
  const args = [
    `-seed=${opts.seed}`,
    `-dict=${JSON_DICT}`,
    `-artifact_prefix=${opts.artifacts.endsWith('/') ? opts.artifacts : `${opts.artifacts}/`}json-c-`,
    '-max_len=65536',
    '-timeout=2',
    '-rss_limit_mb=1024',
    '-print_final_stats=1',
    ...(opts.runs !== undefined ? [`-runs=${opts.runs}`] : []),
    ...(opts.timeSec !== undefined ? [`-max_total_time=${opts.timeSec}`] : []),
    fresh,
    JSON_CORPUS,
  ];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(JSON_FUZZER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(fresh, { recursive: true, force: true });
      const runs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(out)?.[1] ?? /Done (\d+) runs/.exec(out)?.[1] ?? 0);
      const findings: { problem: string; file: string }[] = [];
      if (code !== 0) {
        const problem = /==\d+==ERROR: (.*)/.exec(out)?.[1] ?? /json-fuzz: (contract broken: .*)/.exec(out)?.[1] ?? /(SUMMARY: .*)/.exec(out)?.[1] ?? `libFuzzer exited ${code}`;
        const file = /Test unit written to (\S+)/.exec(out)?.[1] ?? '';
        findings.push({ problem, file });
      }
      resolve({ target: JSON_TARGET_NAME, seed: opts.seed, runs, ms: Date.now() - started, findings, tail: out.split('\n').slice(-12).join('\n') });
    });
  });
}

/** Files libFuzzer left in `dir` (crash-, leak-, timeout-, oom- inputs). */
export function artifactsIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.startsWith('json-c-'));
  } catch {
    return [];
  }
}
