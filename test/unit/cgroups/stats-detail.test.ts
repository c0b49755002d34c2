// The metrics figures (stats-detail.ts) against fake v1 and v2 trees, and their file parsers.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupV1Driver } from '../../../src/cgroups/v1-driver.js';
import { CgroupV2Driver } from '../../../src/cgroups/v2-driver.js';
import { sharesToWeight } from '../../../src/cgroups/resources.js';
import { countLines, parseBlkio, parseCpuMax, parseIoStat, parsePressure, weightToShares } from '../../../src/cgroups/stats-detail.js';

function files(dir: string, content: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(content)) writeFileSync(join(dir, name), text);
}

const PRESSURE = 'some avg10=1.50 avg60=0.25 avg300=0.00 total=2500000\nfull avg10=0.50 avg60=0.10 avg300=0.00 total=1200000\n';

describe('cgroups/stats-detail', function () {
  describe('parsers', function () {
    it('parsePressure reads the some and full lines; no file or no some line is undefined', function () {
      expect(parsePressure(PRESSURE)).to.deep.equal({
        some: { avg10: 1.5, avg60: 0.25, avg300: 0, totalUs: 2500000n },
        full: { avg10: 0.5, avg60: 0.1, avg300: 0, totalUs: 1200000n },
      });
      // Kernels before 5.13 have no "full" line in cpu.pressure.
      expect(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n')).to.deep.equal({
        some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 7n },
      });
      expect(parsePressure(undefined)).to.equal(undefined);
      expect(parsePressure('')).to.equal(undefined);
    });

    it('parseIoStat reads bytes and ios per device, skipping unknown keys and bad lines', function () {
      const text = '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=18446744073709551615 wbytes=0 rios=3 wios=0\nnonsense\n';
      expect(parseIoStat(text)).to.deep.equal([
        { major: 8, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n },
        { major: 253, minor: 1, readBytes: 18446744073709551615n, writeBytes: 0n, reads: 3n, writes: 0n },
      ]);
      expect(parseIoStat(undefined)).to.deep.equal([]);
    });

    it('parseBlkio joins the bytes and ops files per device, leaving out Total and other ops', function () {
      const bytes = '8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 4608\nTotal 4608\n';
      const ops = '8:0 Read 2\n8:0 Write 1\n8:0 Total 3\nTotal 3\n';
      expect(parseBlkio(bytes, ops)).to.deep.equal([{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 512n, reads: 2n, writes: 1n }]);
      expect(parseBlkio('Total 0\n', undefined)).to.deep.equal([]);
    });

    it('weightToShares inverts sharesToWeight closely over the whole range', function () {
      for (const shares of [2, 102, 512, 1024, 4096, 262144]) {
        const back = Number(weightToShares(BigInt(sharesToWeight(shares))));
        // The weight has 10000 steps for 262142 shares: about 26 shares per step.
        expect(Math.abs(back - shares), String(shares)).to.be.at.most(27);
      }
      expect(weightToShares(100n)).to.equal(2597n);
    });

    it('parseCpuMax and countLines', function () {
      expect(parseCpuMax('50000 100000\n')).to.deep.equal({ quotaUs: 50000n, periodUs: 100000n });
      expect(parseCpuMax('max 100000\n')).to.deep.equal({ periodUs: 100000n });
      expect(parseCpuMax(undefined)).to.deep.equal({});
      expect(countLines('1\n22\n333\n')).to.equal(3);
      expect(countLines('')).to.equal(0);
    });
  });

  describe('readers', function () {
    let root: string;
    const path = '/kubepods/pod1/c1';
    beforeEach(function () {
      root = mkdtempSync(join(tmpdir(), 'skiff-cgdetail-'));
    });
    afterEach(function () {
      rmSync(root, { recursive: true, force: true });
    });

    it('v1: reads each figure from its hierarchy (cpuacct.stat in ticks), limits in force, only when asked', function () {
      for (const c of ['cpu,cpuacct', 'memory', 'pids', 'blkio']) mkdirSync(join(root, c));
      symlinkSync('cpu,cpuacct', join(root, 'cpu'));
      symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
      files(join(root, 'cpu,cpuacct', path), {
        'cpuacct.usage': '3000000000\n', 'cpuacct.stat': 'user 200\nsystem 100\n',
        'cpu.stat': 'nr_periods 40\nnr_throttled 7\nthrottled_time 1500000000\n',
        'cpu.shares': '512\n', 'cpu.cfs_quota_us': '50000\n', 'cpu.cfs_period_us': '100000\n',
      });
      files(join(root, 'memory', path), {
        'memory.usage_in_bytes': '300\n',
        'memory.stat': 'total_cache 100\ntotal_rss 200\ntotal_mapped_file 30\ntotal_active_file 60\ntotal_inactive_file 40\n',
        'memory.limit_in_bytes': '1048576\n', 'memory.memsw.limit_in_bytes': '2097152\n',
        'memory.soft_limit_in_bytes': '9223372036854771712\n',
        'memory.failcnt': '3\n', 'memory.max_usage_in_bytes': '900\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      });
      files(join(root, 'pids', path), { 'pids.current': '5\n', 'pids.max': 'max\n', 'cgroup.procs': '10\n11\n' });
      files(join(root, 'blkio', path), {
        'blkio.throttle.io_service_bytes': '8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n',
        'blkio.throttle.io_serviced': '8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n',
      });
      const d = new CgroupV1Driver({ root });
      expect(d.stats(path).detail).to.equal(undefined);
      const s = d.stats(path, { detail: true });
      expect(s.psi).to.equal(undefined);
      expect(s.detail).to.deep.equal({
        cpu: { userNanoSeconds: 2000000000n, systemNanoSeconds: 1000000000n, periods: 40n, throttledPeriods: 7n, throttledNanoSeconds: 1500000000n },
        memory: {
          cacheBytes: 100n, mappedFileBytes: 30n, activeFileBytes: 60n, inactiveFileBytes: 40n,
          maxUsageBytes: 900n, failcnt: 3n, oomKills: 2n,
        },
        processes: 2,
        io: [{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n }],
        // pids.max "max" and the huge soft limit are unlimited: absent.
        spec: { cpuShares: 512n, cpuQuotaUs: 50000n, cpuPeriodUs: 100000n, memorySwapLimitBytes: 2097152n },
      });
    });

    it('v1: takes block io from bfq when it names a device, else from the throttle files', function () {
      for (const c of ['cpuacct', 'blkio']) mkdirSync(join(root, c));
      files(join(root, 'cpuacct', path), { 'cpuacct.usage': '1\n' });
      files(join(root, 'blkio', path), {
        'blkio.bfq.io_service_bytes': 'Total 0\n',
        'blkio.bfq.io_serviced': 'Total 0\n',
        'blkio.throttle.io_service_bytes': '254:0 Read 0\n254:0 Write 4096\nTotal 4096\n',
        'blkio.throttle.io_serviced': '254:0 Read 0\n254:0 Write 1\nTotal 1\n',
      });
      const d = new CgroupV1Driver({ root });
      expect(d.stats(path, { detail: true }).detail?.io).to.deep.equal([{ major: 254, minor: 0, readBytes: 0n, writeBytes: 4096n, reads: 0n, writes: 1n }]);
      files(join(root, 'blkio', path), {
        'blkio.bfq.io_service_bytes': '8:16 Read 512\n8:16 Write 0\nTotal 512\n',
        'blkio.bfq.io_serviced': '8:16 Read 1\n8:16 Write 0\nTotal 1\n',
      });
      expect(d.stats(path, { detail: true }).detail?.io).to.deep.equal([{ major: 8, minor: 16, readBytes: 512n, writeBytes: 0n, reads: 1n, writes: 0n }]);
    });

    it("detail 'usage' reads cpu and memory only: no processes, io or limits", function () {
      for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'blkio']) mkdirSync(join(root, c));
      files(join(root, 'cpu', path), { 'cpu.stat': 'nr_periods 4\n', 'cpu.shares': '1024\n' });
      files(join(root, 'cpuacct', path), { 'cpuacct.usage': '1\n', 'cpuacct.stat': 'user 1\nsystem 2\n' });
      files(join(root, 'memory', path), { 'memory.usage_in_bytes': '1\n', 'memory.failcnt': '5\n' });
      files(join(root, 'pids', path), { 'pids.current': '2\n', 'pids.max': '10\n', 'cgroup.procs': '1\n2\n' });
      files(join(root, 'blkio', path), { 'blkio.throttle.io_service_bytes': '8:0 Read 1\nTotal 1\n' });
      const d = new CgroupV1Driver({ root }).stats(path, { detail: 'usage' }).detail;
      expect(d?.cpu.periods).to.equal(4n);
      expect(d?.cpu.systemNanoSeconds).to.equal(20_000_000n);
      expect(d?.memory.failcnt).to.equal(5n);
      expect([d?.processes, d?.io, d?.spec, d?.pidsLimit]).to.deep.equal([0, [], {}, undefined]);
    });

    it('v1: quota -1 is no quota; a missing blkio hierarchy is no io', function () {
      for (const c of ['cpu', 'cpuacct', 'memory']) mkdirSync(join(root, c));
      files(join(root, 'cpu', path), { 'cpu.cfs_quota_us': '-1\n', 'cpu.cfs_period_us': '100000\n', 'cpu.shares': '1024\n' });
      files(join(root, 'cpuacct', path), { 'cpuacct.usage': '1\n' });
      files(join(root, 'memory', path), { 'memory.usage_in_bytes': '1\n', 'memory.limit_in_bytes': '9223372036854771712\n', 'memory.memsw.limit_in_bytes': '9223372036854771712\n' });
      const s = new CgroupV1Driver({ root }).stats(path, { detail: true });
      expect(s.detail?.spec).to.deep.equal({ cpuShares: 1024n, cpuPeriodUs: 100000n });
      expect(s.detail?.io).to.deep.equal([]);
      expect(s.detail?.processes).to.equal(0);
      expect(s.detail?.memory.oomKills).to.equal(0n);
    });

    it('v2: cpu.stat and memory.stat once, events, io.stat, limits in v1 units, pressure always', function () {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpu io memory pids\n');
      files(join(root, path), {
        'cpu.stat': 'usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 40\nnr_throttled 7\nthrottled_usec 1500000\n',
        'memory.current': '300\n',
        'memory.stat': 'anon 200\nfile 100\nkernel 12\nfile_mapped 30\nactive_file 60\ninactive_file 40\npgfault 9\npgmajfault 1\n',
        'memory.max': '1048576\n', 'memory.swap.max': '1048576\n', 'memory.low': '0\n', 'memory.peak': '900\n',
        'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n',
        'pids.current': '5\n', 'pids.max': '100\n', 'cgroup.procs': '10\n',
        'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
        'cpu.max': '50000 100000\n', 'cpu.weight': '20\n',
        'cpu.pressure': PRESSURE, 'memory.pressure': PRESSURE, 'io.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n',
      });
      const d = new CgroupV2Driver({ root });
      const basic = d.stats(path);
      expect(basic.detail).to.equal(undefined);
      expect(basic.psi?.cpu?.full?.totalUs).to.equal(1200000n);
      expect(basic.psi?.io).to.deep.equal({ some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 5n } });
      const s = d.stats(path, { detail: true });
      expect(s.detail).to.deep.equal({
        cpu: { userNanoSeconds: 2000000000n, systemNanoSeconds: 1000000000n, periods: 40n, throttledPeriods: 7n, throttledNanoSeconds: 1500000000n },
        memory: {
          cacheBytes: 100n, mappedFileBytes: 30n, activeFileBytes: 60n, inactiveFileBytes: 40n,
          kernelBytes: 12n, maxUsageBytes: 900n, failcnt: 3n, oomKills: 2n,
        },
        processes: 1,
        pidsLimit: 100n,
        io: [{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n }],
        // cpu.weight 20 is shares 2 + 19 × 262142 / 9999; swap limit is memory + swap as v1's memsw.
        spec: { cpuShares: 500n, cpuQuotaUs: 50000n, cpuPeriodUs: 100000n, memorySwapLimitBytes: 2097152n },
      });
    });

    it('v2: without PSI files there is no psi; "max" limits are absent', function () {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory\n');
      files(join(root, path), { 'cpu.stat': 'usage_usec 1\n', 'cpu.max': 'max 100000\n', 'memory.max': 'max\n', 'memory.swap.max': 'max\n', 'pids.max': 'max\n' });
      const s = new CgroupV2Driver({ root }).stats(path, { detail: true });
      expect('psi' in s).to.equal(false);
      expect(s.detail?.spec).to.deep.equal({ cpuPeriodUs: 100000n });
      expect('pidsLimit' in (s.detail ?? {})).to.equal(false);
    });
  });
});
