// The committed proto types must be what `npm run generate` makes from proto/, and the proto must
// declare the whole CRI surface.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageServiceService, RuntimeServiceService } from '../../src/generated/runtime/v1/api.js';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('generated CRI code', function () {
  it('is up to date with the protos under proto/', function () {
    this.timeout(60_000);
    const out = mkdtempSync(join(tmpdir(), 'skiff-gen-'));
    try {
      execFileSync(process.execPath, [join(TOP, 'scripts/generate-proto.mjs'), '--out', out], { stdio: 'pipe' });
      for (const file of ['runtime/v1/api.ts', 'skiff/v1/admin.ts']) {
        const fresh = readFileSync(join(out, file), 'utf8');
        const committed = readFileSync(join(TOP, 'src/generated', file), 'utf8');
        expect(fresh === committed, `src/generated/${file} is stale: run \`npm run generate\``).to.equal(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('serves all 43 RPCs of runtime.v1 under their upstream paths', function () {
    const paths = [...Object.values(RuntimeServiceService), ...Object.values(ImageServiceService)].map((m) => m.path);
    expect(paths).to.have.length(43);
    expect(paths.filter((p) => p.startsWith('/runtime.v1.RuntimeService/'))).to.have.length(37);
    expect(paths.filter((p) => p.startsWith('/runtime.v1.ImageService/'))).to.have.length(6);
    const streaming = [...Object.values(RuntimeServiceService), ...Object.values(ImageServiceService)]
      .filter((m) => m.responseStream)
      .map((m) => m.path.split('/').pop());
    expect(streaming.sort()).to.deep.equal(
      [
        'GetContainerEvents',
        'StreamContainerStats',
        'StreamContainers',
        'StreamImages',
        'StreamPodSandboxMetrics',
        'StreamPodSandboxStats',
        'StreamPodSandboxes',
      ].sort(),
    );
  });
});
