// The stats readers on the real kernel: a v1 cgroup with a process that allocates 50 MB shows it
// in its working set and has used cpu; the net-stats readers see a test netns's interfaces both
// through /proc/<pid>/net/dev and through netlink; the layer scanner does not count a mount
// inside the tree. Cgroups, processes and mounts made here are removed in after hooks.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { detectCgroupMode } from '../../src/cgroups/detect.js';
import { CgroupV1Driver } from '../../src/cgroups/v1-driver.js';
import { CgroupV2Driver } from '../../src/cgroups/v2-driver.js';
import { CpuRateCache } from '../../src/cgroups/cpu-rate.js';
import { parseFlatKeyed } from '../../src/cgroups/stats.js';
import { readPidNetStats, statsInNetns } from '../../src/network/net-stats.js';
import { LayerUsageScanner } from '../../src/storage/layer-usage.js';

const ROOT = '/sys/fs/cgroup';
const rand = () => randomBytes(4).toString('hex');
const children: ChildProcess[] = [];

async function killChildren(): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
    }
  }
}

/** rmdir with a short retry: a process just killed takes a moment to leave its cgroup. */
async function rmdirRetry(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (i >= 100) throw e;
      await sleep(10);
    }
  }
}

function lineFrom(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    c.once('exit', (code) => reject(new Error(`child exited (${code}) before writing a line`)));
  });
}

describe('stats on the real kernel', function () {
  this.timeout(30_000);
  after(killChildren);

  (detectCgroupMode() === 'v2' ? describe.skip : describe)('v1 cgroup', function () {
    const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'];
    const path = `/skiff-stats-test-${rand()}`;
    const d = new CgroupV1Driver({ root: ROOT, controllers: CONTROLLERS });
    const made: string[] = [];

    before(function () {
      for (const c of CONTROLLERS) {
        const dir = join(ROOT, c, path);
        if (existsSync(dir)) continue; // cpu and cpuacct are one hierarchy here
        mkdirSync(dir);
        made.push(dir);
      }
    });
    after(async function () {
      await killChildren();
      for (const dir of made.reverse()) await rmdirRetry(dir);
      for (const c of [...CONTROLLERS, 'unified']) expect(existsSync(join(ROOT, c, path))).to.equal(false);
    });

    it('shows a 50 MB allocation in the working set, cpu used, and agrees with the files', async function () {
      // Allocates only after it was moved: v1 charges pages to the cgroup they were faulted in.
      const child = spawn(
        process.execPath,
        ['-e', `process.stdin.once('data',()=>{globalThis.b=Buffer.alloc(50e6,1);let x=0;for(let i=0;i<3e7;i++)x+=i;console.log('ready',x)});setInterval(()=>{},1000)`],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      );
      children.push(child);
      const ready = lineFrom(child);
      for (const dir of d.dirs(path)) writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
      child.stdin!.write('go\n');
      expect(await ready).to.match(/^ready/);

      const cache = new CpuRateCache({ minIntervalMs: 100 });
      const s = d.stats(path);
      expect(cache.update(path, s)).to.equal(undefined);
      expect(Number(s.memory.workingSetBytes)).to.be.at.least(45e6);
      expect(Number(s.memory.rssBytes)).to.be.at.least(45e6);
      expect(s.cpu.usageCoreNanoSeconds > 0n).to.equal(true);
      expect(s.memory.pageFaults > 0n).to.equal(true);
      expect(s.pids.current).to.be.at.least(1);
      expect(s.memory.limitBytes).to.equal(undefined);
      expect(s.memory.availableBytes).to.equal(undefined);

      // The same figures as the files read directly (the process is idle now; memory settles).
      const file = (c: string, f: string) => readFileSync(join(ROOT, c, path, f), 'utf8');
      const stat = parseFlatKeyed(file('memory', 'memory.stat'));
      expect(Number(s.memory.rssBytes)).to.be.closeTo(Number(stat.get('total_rss')), 1 << 20);
      expect(Number(s.memory.usageBytes)).to.be.closeTo(Number(file('memory', 'memory.usage_in_bytes')), 2 << 20);
      expect(s.cpu.usageCoreNanoSeconds <= BigInt(file('cpuacct', 'cpuacct.usage').trim())).to.equal(true);

      // A limit set: availableBytes = limit − working set.
      writeFileSync(join(ROOT, 'memory', path, 'memory.limit_in_bytes'), String(512 << 20));
      await sleep(150);
      const s2 = d.stats(path);
      expect(s2.memory.limitBytes).to.equal(BigInt(512 << 20));
      expect(s2.memory.availableBytes).to.equal(BigInt(512 << 20) - s2.memory.workingSetBytes);
      const rate = cache.update(path, s2);
      expect(rate).to.not.equal(undefined);
      expect(s2.timestampNs > s.timestampNs).to.equal(true);
    });

    it('v2: reads cpu.stat of a cgroup on the hybrid unified mount', async function () {
      const unified = join(ROOT, 'unified');
      if (!existsSync(join(unified, 'cgroup.procs'))) this.skip();
      const dir = join(unified, path);
      mkdirSync(dir);
      made.push(dir);
      const child = spawn(
        process.execPath,
        ['-e', `process.stdin.once('data',()=>{let x=0;for(let i=0;i<3e7;i++)x+=i;console.log('ready',x)});setInterval(()=>{},1000)`],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      );
      children.push(child);
      const ready = lineFrom(child);
      writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
      child.stdin!.write('go\n');
      await ready;
      const s = new CgroupV2Driver({ root: unified }).stats(path);
      // No controller is enabled there: cpu.stat (always present) has the usage, the rest is 0.
      const usec = parseFlatKeyed(readFileSync(join(dir, 'cpu.stat'), 'utf8')).get('usage_usec')!;
      expect(Number(s.cpu.usageCoreNanoSeconds)).to.be.above(0);
      expect(Number(s.cpu.usageCoreNanoSeconds)).to.be.closeTo(Number(usec * 1000n), 50e6);
      expect(s.memory.usageBytes).to.equal(0n);
      // PSI is per cgroup on v2, even on the hybrid mount: the files' totals only grow.
      for (const kind of ['cpu', 'memory', 'io'] as const) {
        const text = readFileSync(join(dir, `${kind}.pressure`), 'utf8');
        const total = BigInt(/^some .*total=(\d+)$/m.exec(text)![1]!);
        const got = s.psi?.[kind]?.some.totalUs;
        expect(typeof got, kind).to.equal('bigint');
        expect(got! <= total, kind).to.equal(true);
      }
      child.kill('SIGKILL');
    });

    it('reads a cgroup in microseconds', function () {
      const n = 200;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) d.stats(path);
      const perCallUs = Number(process.hrtime.bigint() - t0) / n / 1000;
      console.log(`      stats(): ${perCallUs.toFixed(1)} µs per cgroup`);
      expect(perCallUs).to.be.below(2000);
    });
  });

  describe('network stats of a test netns', function () {
    it('sees the same interfaces through /proc/<pid>/net/dev and netlink, lo left out', async function () {
      const dummy = `sk${rand()}`;
      const child = spawn(
        'unshare',
        ['-n', 'sh', '-c', `ip link add ${dummy} type veth peer name ${dummy}p && ip link set ${dummy} up && echo ok && exec sleep 60`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      expect(await lineFrom(child)).to.equal('ok');
      const viaProc = readPidNetStats(child.pid!);
      const viaNetlink = statsInNetns(`/proc/${child.pid}/ns/net`);
      expect(viaProc.map((s) => s.name).sort()).to.deep.equal([dummy, `${dummy}p`]);
      expect(viaNetlink.map((s) => s.name).sort()).to.deep.equal([dummy, `${dummy}p`]);
      // The peer is down, so no carrier and no traffic: the counters agree exactly.
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      expect([...viaNetlink].sort(byName)).to.deep.equal([...viaProc].sort(byName));
      // And the host's own: the same names both ways.
      const host = readPidNetStats(process.pid).map((s) => s.name).sort();
      expect(statsInNetns('/proc/self/ns/net').map((s) => s.name).sort()).to.deep.equal(host);
    });
  });

  describe('layer usage across a mount', function () {
    let tmp: string | undefined;
    let mounted: string | undefined;
    after(function () {
      if (mounted) spawnSync('umount', [mounted]);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('does not count a filesystem mounted inside the tree', async function () {
      tmp = mkdtempSync(join(tmpdir(), 'skiff-layer-mnt-'));
      const sub = join(tmp, 'mnt');
      mkdirSync(sub);
      writeFileSync(join(tmp, 'own'), 'x');
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', sub]);
      expect(r.status, String(r.stderr)).to.equal(0);
      mounted = sub;
      writeFileSync(join(sub, 'big'), Buffer.alloc(4 << 20, 1));
      const s = new LayerUsageScanner();
      s.track('t', tmp);
      await s.scanAll();
      // root and "own"; the mount point and what is below it belong to the tmpfs.
      expect(s.get('t')?.inodesUsed).to.equal(2n);
      expect(Number(s.get('t')?.usedBytes)).to.be.below(1 << 20);
    });
  });
});
