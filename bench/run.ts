// `npm run bench`: every benchmark, medians and ratios against a peer measured in the same run.
// Select some with `npm run bench -- pull`.
import { benchPull } from './pull.js';
import { benchSandbox } from './sandbox.js';
import { benchContainer } from './container.js';
import { benchMetrics } from './metrics.js';
import { benchStreaming } from './streaming.js';

const benches: Record<string, () => Promise<void>> = {
  pull: () => benchPull(),
  sandbox: () => benchSandbox(),
  container: () => benchContainer(),
  metrics: () => benchMetrics(),
  streaming: () => benchStreaming(),
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length && !wanted.includes(name)) continue;
  await run();
}
