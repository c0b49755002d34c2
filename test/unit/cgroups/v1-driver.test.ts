// The v1 driver against a fake tree: one directory per hierarchy, cpu and cpuacct co-mounted as
// on most distributions (two symlinks to "cpu,cpuacct"), no hugetlb.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind } from '../../../src/core/errors.js';
import type { OpContext } from '../../../src/core/context.js';
import { silentLogger } from '../../../src/log/logger.js';
import { CgroupV1Driver } from '../../../src/cgroups/v1-driver.js';

const ctx = (): OpContext => ({ log: silentLogger(), signal: new AbortController().signal, deadline: undefined });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('cgroups/v1-driver (fake tree)', function () {
  let root: string;
  let d: CgroupV1Driver;
  const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), 'skiff-cg1-'));
    for (const h of ['cpu,cpuacct', 'cpuset', 'memory', 'pids', 'freezer']) mkdirSync(join(root, h));
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
    writeFileSync(join(root, 'cpuset', 'cpuset.cpus'), '0-3\n');
    writeFileSync(join(root, 'cpuset', 'cpuset.mems'), '0\n');
    d = new CgroupV1Driver({ root });
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('finds each mounted hierarchy once', function () {
    expect([...d.controllers.keys()].sort()).to.deep.equal(['cpu', 'cpuacct', 'cpuset', 'freezer', 'memory', 'pids']);
    expect(d.controllers.get('cpu')).to.equal(d.controllers.get('cpuacct'));
    expect(d.dirs('/skiff/p').map((p) => p.slice(root.length)).sort()).to.deep.equal([
      '/cpu,cpuacct/skiff/p',
      '/cpuset/skiff/p',
      '/freezer/skiff/p',
      '/memory/skiff/p',
      '/pids/skiff/p',
    ]);
  });

  it('creates the cgroup in every hierarchy and copies cpuset.cpus/mems down', async function () {
    await d.ensure(ctx(), '/skiff/p');
    for (const h of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer']) {
      expect(existsSync(join(root, h, 'skiff/p')), h).to.equal(true);
    }
    expect(read('cpuset/skiff/cpuset.cpus')).to.equal('0-3');
    expect(read('cpuset/skiff/p/cpuset.mems')).to.equal('0');
  });

  it('copies cpuset from the nearest existing ancestor and leaves existing cgroups alone', async function () {
    mkdirSync(join(root, 'cpuset/skiff/p'), { recursive: true });
    writeFileSync(join(root, 'cpuset/skiff/cpuset.cpus'), '1\n');
    writeFileSync(join(root, 'cpuset/skiff/cpuset.mems'), '0\n');
    writeFileSync(join(root, 'cpuset/skiff/p/cpuset.cpus'), '2\n');
    await d.ensure(ctx(), '/skiff/p');
    expect(read('cpuset/skiff/p/cpuset.cpus')).to.equal('2\n');
    await d.ensure(ctx(), '/skiff/q/r');
    expect(read('cpuset/skiff/q/cpuset.cpus')).to.equal('1');
    expect(read('cpuset/skiff/q/r/cpuset.cpus')).to.equal('1');
    expect(read('cpuset/skiff/q/r/cpuset.mems')).to.equal('0');
  });

  it('writes each resource in v1 units', async function () {
    await d.ensure(ctx(), '/kubepods/pod1', {
      cpuShares: 512,
      cpuQuota: 25000,
      cpuPeriod: 100000,
      cpusetCpus: '1',
      memoryLimitBytes: 134217728,
      memorySwapLimitBytes: 268435456,
      pidsLimit: -1,
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
    });
    expect(read('cpu/kubepods/pod1/cpu.shares')).to.equal('512');
    expect(read('cpu/kubepods/pod1/cpu.cfs_period_us')).to.equal('100000');
    expect(read('cpu/kubepods/pod1/cpu.cfs_quota_us')).to.equal('25000');
    expect(read('cpuset/kubepods/pod1/cpuset.cpus')).to.equal('1');
    expect(read('memory/kubepods/pod1/memory.limit_in_bytes')).to.equal('134217728');
    // No swap accounting here: memsw is left out, not created.
    expect(existsSync(join(root, 'memory/kubepods/pod1/memory.memsw.limit_in_bytes'))).to.equal(false);
    expect(read('pids/kubepods/pod1/pids.max')).to.equal('max');
  });

  it('writes memsw when the kernel has it, and -1 for unlimited', async function () {
    await d.ensure(ctx(), '/skiff/p');
    writeFileSync(join(root, 'memory/skiff/p/memory.memsw.limit_in_bytes'), '9223372036854771712\n');
    await d.apply(ctx(), '/skiff/p', { memoryLimitBytes: 1 << 20, memorySwapLimitBytes: 2 << 20, cpuQuota: -1 });
    expect(read('memory/skiff/p/memory.limit_in_bytes')).to.equal(String(1 << 20));
    expect(read('memory/skiff/p/memory.memsw.limit_in_bytes')).to.equal(String(2 << 20));
    expect(read('cpu/skiff/p/cpu.cfs_quota_us')).to.equal('-1');
    await d.apply(ctx(), '/skiff/p', { memoryLimitBytes: -1, memorySwapLimitBytes: -1 });
    expect(read('memory/skiff/p/memory.limit_in_bytes')).to.equal('-1');
    expect(read('memory/skiff/p/memory.memsw.limit_in_bytes')).to.equal('-1');
  });

  it('refuses unified resources without creating anything', async function () {
    const err = await rejection(d.ensure(ctx(), '/skiff/p', { unified: { 'memory.high': '1' } }));
    expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
    expect(existsSync(join(root, 'memory/skiff'))).to.equal(false);
  });

  it('fails with FailedPrecondition for a controller that is not mounted', async function () {
    rmSync(join(root, 'pids'), { recursive: true });
    const small = new CgroupV1Driver({ root });
    const err = await rejection(small.ensure(ctx(), '/skiff/p', { pidsLimit: 5 }));
    expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
    expect(String(err)).to.match(/pids/);
    // The mkdirs were undone where the fake allows it (hierarchies without written files).
    expect(existsSync(join(root, 'memory/skiff'))).to.equal(false);
  });

  it('refuses a root without hierarchies', function () {
    expect(() => new CgroupV1Driver({ root: join(root, 'cpuset') })).to.throw(/no cgroup v1/);
  });

  it('says device access cannot be restricted when there is no devices hierarchy', async function () {
    await d.ensure(ctx(), '/skiff/p');
    expect(d.setDevices(ctx(), '/skiff/p', [{ allow: false }])).to.equal(false);
  });

  it('writes each device rule to devices.deny or devices.allow, in order', async function () {
    mkdirSync(join(root, 'devices'));
    const withDevices = new CgroupV1Driver({ root });
    await withDevices.ensure(ctx(), '/skiff/p');
    // The fake keeps only the last write of each file; the kernel applies each line as written.
    expect(withDevices.setDevices(ctx(), '/skiff/p', [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }])).to.equal(true);
    expect(read('devices/skiff/p/devices.deny')).to.equal('a');
    expect(read('devices/skiff/p/devices.allow')).to.equal('c 1:3 rw');
  });

  it('removes from every hierarchy and tolerates missing ones', async function () {
    mkdirSync(join(root, 'memory/skiff/p'), { recursive: true });
    mkdirSync(join(root, 'pids/skiff/p'), { recursive: true });
    await d.remove(ctx(), '/skiff/p');
    expect(existsSync(join(root, 'memory/skiff/p'))).to.equal(false);
    expect(existsSync(join(root, 'pids/skiff/p'))).to.equal(false);
    expect(existsSync(join(root, 'pids/skiff'))).to.equal(true);
    await d.remove(ctx(), '/skiff/p');
  });

  it('lists the union of pids over hierarchies', async function () {
    mkdirSync(join(root, 'memory/skiff/p/c'), { recursive: true });
    mkdirSync(join(root, 'pids/skiff/p'), { recursive: true });
    writeFileSync(join(root, 'memory/skiff/p/cgroup.procs'), '30\n10\n');
    writeFileSync(join(root, 'memory/skiff/p/c/cgroup.procs'), '40\n');
    writeFileSync(join(root, 'pids/skiff/p/cgroup.procs'), '10\n20\n');
    expect(await d.pids('/skiff/p')).to.deep.equal([10, 20, 30]);
    expect(await d.pids('/skiff/p', { recursive: true })).to.deep.equal([10, 20, 30, 40]);
  });
});
