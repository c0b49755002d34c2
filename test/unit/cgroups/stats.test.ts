// The stats readers against fake v1 and v2 trees whose files hold known numbers.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind } from '../../../src/core/errors.js';
import { CgroupV1Driver } from '../../../src/cgroups/v1-driver.js';
import { CgroupV2Driver } from '../../../src/cgroups/v2-driver.js';
import { CpuRateCache, usageNanoCores } from '../../../src/cgroups/cpu-rate.js';
import { nowNs, parseFlatKeyed, readV1Stats, readV2Stats } from '../../../src/cgroups/stats.js';

function files(dir: string, content: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(content)) writeFileSync(join(dir, name), text);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

const V1_MEMORY_STAT = [
  'cache 1000', 'rss 2000', 'pgfault 5', 'pgmajfault 1', 'inactive_file 10',
  'total_cache 104857600', 'total_rss 52428800', 'total_rss_huge 0', 'total_pgfault 123456',
  'total_pgmajfault 78', 'total_inactive_file 20971520', 'total_active_file 1048576', '',
].join('\n');

const V2_MEMORY_STAT = [
  'anon 52428800', 'file 104857600', 'kernel 4096', 'inactive_file 20971520', 'active_file 1048576',
  'pgfault 123456', 'pgmajfault 78', '',
].join('\n');

describe('cgroups/stats', function () {
  let root: string;
  const path = '/kubepods/pod1';

  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), 'skiff-cgstats-'));
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  describe('v1', function () {
    let d: CgroupV1Driver;
    beforeEach(function () {
      // The real layout: cpu and cpuacct are symlinks to the co-mounted "cpu,cpuacct".
      mkdirSync(join(root, 'cpu,cpuacct'));
      symlinkSync('cpu,cpuacct', join(root, 'cpu'));
      symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
      mkdirSync(join(root, 'memory'));
      mkdirSync(join(root, 'pids'));
      d = new CgroupV1Driver({ root });
      files(join(root, 'cpu,cpuacct', path), { 'cpuacct.usage': '987654321\n' });
      files(join(root, 'pids', path), { 'pids.current': '7\n' });
    });

    it('reads cpu, memory and pids with a limit', function () {
      files(join(root, 'memory', path), {
        'memory.usage_in_bytes': '157286400\n',
        'memory.stat': V1_MEMORY_STAT,
        'memory.limit_in_bytes': '268435456\n',
        'memory.memsw.usage_in_bytes': '157286400\n',
      });
      const s = d.stats(path);
      expect(s.cpu.usageCoreNanoSeconds).to.equal(987654321n);
      expect(s.pids.current).to.equal(7);
      expect(s.memory).to.deep.equal({
        usageBytes: 157286400n,
        workingSetBytes: 157286400n - 20971520n,
        rssBytes: 52428800n,
        pageFaults: 123456n,
        majorPageFaults: 78n,
        limitBytes: 268435456n,
        availableBytes: 268435456n - (157286400n - 20971520n),
        swapUsageBytes: 0n,
      });
      const t = nowNs();
      expect(Number(t - s.timestampNs)).to.be.within(0, 5e9);
    });

    it('treats the kernel\'s huge limit as unlimited: no limit, no availableBytes', function () {
      files(join(root, 'memory', path), {
        'memory.usage_in_bytes': '4096\n',
        'memory.stat': 'total_inactive_file 8192\ntotal_rss 4096\n',
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.memsw.usage_in_bytes': '12288\n',
      });
      const s = d.stats(path);
      expect(s.memory.limitBytes).to.equal(undefined);
      expect(s.memory.availableBytes).to.equal(undefined);
      expect('availableBytes' in s.memory).to.equal(false);
      // inactive file above usage: floored at 0, never negative.
      expect(s.memory.workingSetBytes).to.equal(0n);
      // memsw counts memory + swap.
      expect(s.memory.swapUsageBytes).to.equal(8192n);
    });

    it('has no swap figure without swap accounting, and reads missing files as 0', function () {
      files(join(root, 'memory', path), { 'memory.usage_in_bytes': '100\n' });
      const s = d.stats(path);
      expect(s.memory).to.deep.equal({
        usageBytes: 100n, workingSetBytes: 100n, rssBytes: 0n, pageFaults: 0n, majorPageFaults: 0n,
      });
    });

    it('is NotFound when the cgroup does not exist', function () {
      expect(isKind(thrown(() => d.stats('/kubepods/gone')), 'NotFound')).to.equal(true);
    });

    it('reads only the hierarchies it is given', function () {
      const s = readV1Stats({ pids: join(root, 'pids', path) }, path, () => 42n);
      expect(s.timestampNs).to.equal(42n);
      expect(s.pids.current).to.equal(7);
      expect(s.cpu.usageCoreNanoSeconds).to.equal(0n);
    });
  });

  describe('v2', function () {
    let d: CgroupV2Driver;
    beforeEach(function () {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
      d = new CgroupV2Driver({ root });
    });

    it('reads cpu.stat in µs as ns, memory and pids with a limit', function () {
      files(join(root, path), {
        'cpu.stat': 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 0\n',
        'memory.current': '157286400\n',
        'memory.stat': V2_MEMORY_STAT,
        'memory.max': '268435456\n',
        'memory.swap.current': '65536\n',
        'pids.current': '3\n',
      });
      const s = d.stats(path);
      expect(s.cpu.usageCoreNanoSeconds).to.equal(1234567000n);
      expect(s.pids.current).to.equal(3);
      expect(s.memory).to.deep.equal({
        usageBytes: 157286400n,
        workingSetBytes: 157286400n - 20971520n,
        rssBytes: 52428800n,
        pageFaults: 123456n,
        majorPageFaults: 78n,
        limitBytes: 268435456n,
        availableBytes: 268435456n - (157286400n - 20971520n),
        swapUsageBytes: 65536n,
      });
    });

    it('memory.max "max" is unlimited: no limit, no availableBytes', function () {
      files(join(root, path), {
        'cpu.stat': 'usage_usec 5\n',
        'memory.current': '1000\n',
        'memory.stat': 'inactive_file 400\nanon 600\n',
        'memory.max': 'max\n',
      });
      const s = readV2Stats(join(root, path), path, () => 1n);
      expect(s.timestampNs).to.equal(1n);
      expect(s.memory.workingSetBytes).to.equal(600n);
      expect('availableBytes' in s.memory).to.equal(false);
      expect('limitBytes' in s.memory).to.equal(false);
      expect('swapUsageBytes' in s.memory).to.equal(false);
      expect(s.pids.current).to.equal(0);
    });

    it('available is 0, not negative, over the limit', function () {
      files(join(root, path), { 'memory.current': '2000\n', 'memory.max': '1000\n' });
      expect(d.stats(path).memory.availableBytes).to.equal(0n);
    });

    it('is NotFound when the cgroup does not exist', function () {
      expect(isKind(thrown(() => d.stats('/kubepods/gone')), 'NotFound')).to.equal(true);
    });
  });

  it('parseFlatKeyed skips malformed lines', function () {
    const m = parseFlatKeyed('a 1\nb x\n\nc  \nd 18446744073709551615\n');
    expect([...m]).to.deep.equal([['a', 1n], ['d', 18446744073709551615n]]);
  });

  describe('cpu rate', function () {
    const sample = (t: bigint, u: bigint) => ({ timestampNs: t, cpu: { usageCoreNanoSeconds: u } });

    it('usageNanoCores is Δcpu / Δt × 1e9', function () {
      // 1.5 s of cpu over 2 s: 0.75 cores.
      expect(usageNanoCores(sample(1_000_000_000n, 10n), sample(3_000_000_000n, 1_500_000_010n))).to.equal(750_000_000n);
      expect(usageNanoCores(sample(5n, 0n), sample(5n, 10n))).to.equal(undefined);
      expect(usageNanoCores(sample(5n, 100n), sample(10n, 10n))).to.equal(undefined);
    });

    it('the cache keeps the previous sample per key and holds a window of minInterval', function () {
      const c = new CpuRateCache({ minIntervalMs: 1000 });
      const S = 1_000_000_000n;
      expect(c.update('/a', sample(0n, 0n))).to.equal(undefined);
      expect(c.update('/b', sample(0n, 0n))).to.equal(undefined);
      // Short window and no full-window rate yet: the short rate, base kept.
      expect(c.update('/a', sample(S / 2n, S / 4n))).to.equal(S / 2n);
      expect(c.update('/a', sample(2n * S, S))).to.equal(S / 2n);
      // Within 1 s of the base: the last full-window rate, not the noisy short one.
      expect(c.update('/a', sample(2n * S + 1000n, S + 1000n))).to.equal(S / 2n);
      expect(c.update('/a', sample(4n * S, 3n * S))).to.equal(S);
      expect(c.update('/b', sample(S, 2n * S))).to.equal(2n * S);
      // A counter that went backwards is a new cgroup: start over.
      expect(c.update('/b', sample(3n * S, 5n))).to.equal(undefined);
      c.retain(['/b']);
      expect(c.size).to.equal(1);
      c.forget('/b');
      expect(c.size).to.equal(0);
    });
  });
});
