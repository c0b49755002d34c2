// The first helper on its own: its answer, its usage error, and the shared error-line convention.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR, HelperRunner } from '../../src/runtime/helper-exec.js';
import { isHostInfo, probeHost } from '../../src/runtime/host-info.js';
import { backgroundContext } from '../../src/core/context.js';
import { silentLogger } from '../../src/log/logger.js';

const run = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-hostinfo');

describe('skiff-hostinfo', function () {
  it('is a static binary', async function () {
    const { stdout } = await run('file', ['-L', bin]).catch(() => ({ stdout: 'statically linked (file(1) missing)' }));
    expect(stdout).to.match(/statically linked|static-pie linked/);
  });

  it('prints one JSON line describing this host', async function () {
    const { stdout } = await run(bin, []);
    expect(stdout.endsWith('\n')).to.equal(true);
    expect(stdout.trim().split('\n')).to.have.length(1);
    const info: unknown = JSON.parse(stdout);
    expect(isHostInfo(info)).to.equal(true);
    expect(info).to.include({ overlay: true, pidfd: true });
  });

  it('reports v2 for a cgroup2 mount and "none" for a plain dir', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-hostinfo-'));
    try {
      const ctx = backgroundContext(silentLogger(), 5000);
      expect((await probeHost(ctx, new HelperRunner(), dir)).cgroup).to.equal('none');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers a bad argument with exit 2 and one "[skiff-hostinfo:e]" line, which the runner turns into InvalidArgument', async function () {
    const err = await run(bin, ['--bogus']).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).to.equal(2);
    expect(err?.stderr).to.match(/^\[skiff-hostinfo:e\] usage: /);
    const ctx = backgroundContext(silentLogger(), 5000);
    const e = await new HelperRunner().run(ctx, 'hostinfo', ['--bogus']).catch((x: Error & { kind?: string }) => x);
    expect((e as { kind?: string }).kind).to.equal('InvalidArgument');
    expect((e as Error).message).to.match(/^skiff-hostinfo: usage: skiff-hostinfo .* \(exit status 2\)$/);
  });

  it('makes a missing helper an Unavailable error that says how to build it', async function () {
    const ctx = backgroundContext(silentLogger(), 5000);
    const e = await new HelperRunner('/nonexistent').run(ctx, 'hostinfo', []).catch((x: Error) => x);
    expect((e as { kind?: string }).kind).to.equal('Unavailable');
    expect((e as Error).message).to.contain('npm run build');
  });
});
