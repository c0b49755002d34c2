// The v2 driver against a fake tree in a temp dir: the files a cgroup2 root has, and directories
// that mkdir leaves empty (the driver creates the files it writes).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isKind } from '../../../src/core/errors.js';
import { thrown } from '../../support/thrown.js';
import type { OpContext } from '../../../src/core/context.js';
import { silentLogger } from '../../../src/log/logger.js';
import { CgroupV2Driver } from '../../../src/cgroups/v2-driver.js';
import { ACC_MKNOD, ACC_READ, ACC_WRITE } from '../../../src/cgroups/devices.js';
import { runDeviceProgram } from '../../../src/cgroups/ebpf-interp.js';
import { buildDevices } from '../../../src/oci/security.js';

const ctx = (): OpContext => ({ log: silentLogger(), signal: new AbortController().signal, deadline: undefined });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const ALL = 'cpuset cpu io memory hugetlb pids';

describe('cgroups/v2-driver (fake tree)', function () {
  let root: string;
  let d: CgroupV2Driver;
  const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), 'skiff-cg2-'));
    writeFileSync(join(root, 'cgroup.controllers'), `${ALL}\n`);
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    d = new CgroupV2Driver({ root });
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the cgroup and enables the controllers down to it', async function () {
    await d.ensure(ctx(), '/kubepods/burstable/pod1');
    const want = '+cpuset +cpu +io +memory +pids +hugetlb';
    expect(read('cgroup.subtree_control')).to.equal(want);
    expect(read('kubepods/cgroup.subtree_control')).to.equal(want);
    expect(read('kubepods/burstable/cgroup.subtree_control')).to.equal(want);
    // The leaf's own subtree_control is for its children (containers) to turn on.
    expect(readdirSync(join(root, 'kubepods/burstable/pod1'))).to.deep.equal([]);
    expect(d.dirs('/kubepods/burstable/pod1')).to.deep.equal([join(root, 'kubepods/burstable/pod1')]);
  });

  it('enables only what the parent offers and is not on yet', async function () {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), 'cpu memory\n');
    await d.ensure(ctx(), '/skiff/p');
    expect(read('cgroup.subtree_control')).to.equal('+pids');
    // Already complete: no write at all (the content stays as the test left it).
    writeFileSync(join(root, 'cgroup.subtree_control'), 'cpu memory pids\n');
    await d.ensure(ctx(), '/skiff/q');
    expect(read('cgroup.subtree_control')).to.equal('cpu memory pids\n');
  });

  it('enables nothing when told so', async function () {
    const quiet = new CgroupV2Driver({ root, enable: [] });
    await quiet.ensure(ctx(), '/skiff/p');
    expect(read('cgroup.subtree_control')).to.equal('');
    expect(existsSync(join(root, 'skiff/p'))).to.equal(true);
  });

  it('writes each resource in v2 units', async function () {
    await d.ensure(ctx(), '/kubepods/pod2', {
      cpuShares: 1024,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      cpusetCpus: '0-1',
      cpusetMems: '0',
      memoryLimitBytes: 268435456,
      pidsLimit: 1024,
      hugepageLimits: [
        { pageSize: '2MB', limit: 0 },
        { pageSize: '1GB', limit: 1073741824 },
      ],
      unified: { 'memory.high': '200000000', 'io.weight': 'default 50' },
    });
    const f = (name: string) => read('kubepods/pod2', name);
    expect(f('cpu.weight')).to.equal('39');
    expect(f('cpu.max')).to.equal('50000 100000');
    expect(f('cpuset.cpus')).to.equal('0-1');
    expect(f('cpuset.mems')).to.equal('0');
    expect(f('memory.max')).to.equal('268435456');
    expect(f('pids.max')).to.equal('1024');
    expect(f('hugetlb.2MB.max')).to.equal('0');
    expect(f('hugetlb.1GB.max')).to.equal('1073741824');
    expect(f('memory.high')).to.equal('200000000');
    expect(f('io.weight')).to.equal('default 50');
    // No swap accounting in this tree (no memory.swap.max), so no swap file appears.
    expect(existsSync(join(root, 'kubepods/pod2/memory.swap.max'))).to.equal(false);
  });

  it('leaves unset values alone and spells unlimited "max"', async function () {
    await d.ensure(ctx(), '/skiff/p');
    const dir = join(root, 'skiff/p');
    writeFileSync(join(dir, 'cpu.max'), '20000 100000\n');
    writeFileSync(join(dir, 'memory.swap.max'), 'max\n');
    await d.apply(ctx(), '/skiff/p', { cpuPeriod: 50000, cpuShares: 0, memoryLimitBytes: 0, pidsLimit: -1 });
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).to.equal('20000 50000');
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).to.equal('max');
    expect(existsSync(join(dir, 'cpu.weight'))).to.equal(false);
    expect(existsSync(join(dir, 'memory.max'))).to.equal(false);
    await d.apply(ctx(), '/skiff/p', { cpuQuota: -1, memoryLimitBytes: 2 ** 30, memorySwapLimitBytes: 3 * 2 ** 30 });
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).to.equal('max');
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).to.equal(String(2 ** 30));
    expect(readFileSync(join(dir, 'memory.swap.max'), 'utf8')).to.equal(String(2 * 2 ** 30));
    await d.apply(ctx(), '/skiff/p', { memoryLimitBytes: -1 });
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).to.equal('max');
    expect(readFileSync(join(dir, 'memory.swap.max'), 'utf8')).to.equal('max');
  });

  describe('device filter', function () {
    // A fake tree has no cgroup to attach a program to (bpf(2) answers EBADF, see the
    // integration test): the driver is handed a recorder, and the test runs what it recorded.
    let attached: { dir: string; program: Buffer }[];
    let dev: CgroupV2Driver;
    beforeEach(function () {
      attached = [];
      dev = new CgroupV2Driver({ root, attachDevices: (dir, program) => void attached.push({ dir, program }) });
    });

    it('attaches one program built from the rules to the cgroup directory, and writes no file', async function () {
      await dev.ensure(ctx(), '/skiff/c');
      const { rules } = buildDevices({ privileged: false, devices: [{ containerPath: '/dev/fuse', type: 'c', major: 10, minor: 229, permissions: 'rw' }] });
      expect(dev.setDevices(ctx(), '/skiff/c', rules)).to.equal(true);
      expect(attached.map((a) => a.dir)).to.deep.equal([join(root, 'skiff/c')]);
      expect(readdirSync(join(root, 'skiff/c'))).to.deep.equal([]);
      const program = (attached[0] as { program: Buffer }).program;
      const allows = (type: 'c' | 'b', major: number, minor: number, access: number) => runDeviceProgram(program, { type, major, minor, access }).allowed;
      expect(allows('c', 10, 229, ACC_READ | ACC_WRITE)).to.equal(true);
      expect(allows('c', 1, 3, ACC_WRITE)).to.equal(true);
      expect(allows('c', 1, 1, ACC_READ)).to.equal(false);
      expect(allows('b', 8, 0, ACC_MKNOD)).to.equal(true);
      expect(allows('b', 8, 0, ACC_READ)).to.equal(false);
    });

    it('refuses a cgroup that does not exist, attaching nothing', function () {
      const err = thrown(() => dev.setDevices(ctx(), '/skiff/none', [{ allow: false }]));
      expect(isKind(err, 'NotFound'), String(err)).to.equal(true);
      expect(attached).to.deep.equal([]);
    });

    it('refuses rules the filter cannot express before attaching', async function () {
      await dev.ensure(ctx(), '/skiff/c');
      const err = thrown(() => dev.setDevices(ctx(), '/skiff/c', [{ allow: true, type: 'c', major: 1, access: 'x' }]));
      expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
      expect(attached).to.deep.equal([]);
    });
  });

  it('fails with FailedPrecondition for a controller the parent does not offer, undoing mkdirs', async function () {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory\n');
    const err = await rejection(d.ensure(ctx(), '/skiff/p', { pidsLimit: 10 }));
    expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
    expect(String(err)).to.match(/pids/);
    // The leaf is gone; /skiff holds the subtree_control file the fake kept, so rmdir left it.
    expect(existsSync(join(root, 'skiff/p'))).to.equal(false);
  });

  it('checks resources before it creates anything', async function () {
    const err = await rejection(d.ensure(ctx(), '/skiff/p', { unified: { '../x': '1' } }));
    expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
    expect(existsSync(join(root, 'skiff'))).to.equal(false);
  });

  it('keeps an existing cgroup on a failed ensure', async function () {
    await d.ensure(ctx(), '/skiff/p');
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu\n');
    writeFileSync(join(root, 'skiff', 'cgroup.controllers'), 'cpu\n');
    writeFileSync(join(root, 'skiff', 'p', 'cgroup.controllers'), 'cpu\n');
    const err = await rejection(d.ensure(ctx(), '/skiff/p', { memoryLimitBytes: 4096 }));
    expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
    expect(existsSync(join(root, 'skiff/p'))).to.equal(true);
  });

  it('refuses bad paths before touching the tree', async function () {
    for (const p of ['/', 'relative', '/a/../..', '/a//b']) {
      expect(isKind(await rejection(d.ensure(ctx(), p)), 'InvalidArgument'), p).to.equal(true);
      expect(isKind(await rejection(d.remove(ctx(), p)), 'InvalidArgument'), p).to.equal(true);
      expect(isKind(await rejection(d.killAll(ctx(), p)), 'InvalidArgument'), p).to.equal(true);
    }
  });

  it('applies to an existing cgroup only', async function () {
    const err = await rejection(d.apply(ctx(), '/skiff/none', { pidsLimit: 5 }));
    expect(isKind(err, 'NotFound'), String(err)).to.equal(true);
  });

  it('removes the leaf only, and a missing cgroup is success', async function () {
    await d.ensure(ctx(), '/skiff/p');
    await d.remove(ctx(), '/skiff/p');
    expect(existsSync(join(root, 'skiff/p'))).to.equal(false);
    expect(existsSync(join(root, 'skiff'))).to.equal(true);
    await d.remove(ctx(), '/skiff/p');
    await d.remove(ctx(), '/never/made');
  });

  it('removes descendants first when asked', async function () {
    mkdirSync(join(root, 'skiff/p/c1/x'), { recursive: true });
    mkdirSync(join(root, 'skiff/p/c2'), { recursive: true });
    await d.remove(ctx(), '/skiff/p', { recursive: true });
    expect(existsSync(join(root, 'skiff/p'))).to.equal(false);
  });

  it('fails with FailedPrecondition naming the path when the cgroup stays busy', async function () {
    mkdirSync(join(root, 'skiff/p/child'), { recursive: true });
    const t0 = Date.now();
    const err = await rejection(d.remove(ctx(), '/skiff/p'));
    expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
    expect(String(err)).to.include('/skiff/p');
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('lists pids from cgroup.procs, with descendants when asked', async function () {
    mkdirSync(join(root, 'skiff/p/c'), { recursive: true });
    writeFileSync(join(root, 'skiff/p/cgroup.procs'), '12\n5\n');
    writeFileSync(join(root, 'skiff/p/c/cgroup.procs'), '7\n12\n');
    expect(await d.pids('/skiff/p')).to.deep.equal([5, 12]);
    expect(await d.pids('/skiff/p', { recursive: true })).to.deep.equal([5, 7, 12]);
    expect(await d.pids('/skiff/none')).to.deep.equal([]);
  });

  describe('killAll', function () {
    it('signals each pid until cgroup.procs is empty (no cgroup.kill)', async function () {
      mkdirSync(join(root, 'skiff/p'), { recursive: true });
      const procs = join(root, 'skiff/p/cgroup.procs');
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      writeFileSync(procs, `${child.pid}\n`);
      // The kernel would drop the pid from cgroup.procs on exit; the fake needs the test to.
      child.on('exit', () => writeFileSync(procs, ''));
      await d.killAll(ctx(), '/skiff/p');
      expect(await exited).to.equal('SIGKILL');
    });

    it('sends a non-SIGKILL signal once per pid', async function () {
      mkdirSync(join(root, 'skiff/p'), { recursive: true });
      const procs = join(root, 'skiff/p/cgroup.procs');
      // A shell that counts SIGTERMs and exits on the second: one signal must not kill it.
      const script = 'n=0; trap "n=$((n+1)); [ $n -ge 2 ] && exit 7" TERM; while :; do sleep 0.01; done';
      const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
      await sleep(100);
      writeFileSync(procs, `${child.pid}\n`);
      const err = await rejection(d.killAll(ctx(), '/skiff/p', 'SIGTERM', { timeoutMs: 300 }));
      expect(isKind(err, 'DeadlineExceeded'), String(err)).to.equal(true);
      expect(String(err)).to.include(String(child.pid));
      expect(child.exitCode).to.equal(null);
      child.kill('SIGKILL');
    });

    it('uses cgroup.kill and waits for cgroup.events to say "populated 0"', async function () {
      const dir = join(root, 'skiff/p');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cgroup.kill'), '');
      writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
      writeFileSync(join(dir, 'cgroup.procs'), '999999\n');
      setTimeout(() => writeFileSync(join(dir, 'cgroup.events'), 'populated 0\nfrozen 0\n'), 30);
      const t0 = Date.now();
      await d.killAll(ctx(), '/skiff/p');
      expect(readFileSync(join(dir, 'cgroup.kill'), 'utf8')).to.equal('1');
      expect(Date.now() - t0).to.be.below(2000);
    });

    it('gives up with DeadlineExceeded when the cgroup stays populated', async function () {
      const dir = join(root, 'skiff/p');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cgroup.kill'), '');
      writeFileSync(join(dir, 'cgroup.events'), 'populated 1\n');
      const err = await rejection(d.killAll(ctx(), '/skiff/p', 'SIGKILL', { timeoutMs: 50 }));
      expect(isKind(err, 'DeadlineExceeded'), String(err)).to.equal(true);
    });

    it('stops waiting when the context is cancelled', async function () {
      const dir = join(root, 'skiff/p');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cgroup.kill'), '');
      writeFileSync(join(dir, 'cgroup.events'), 'populated 1\n');
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 20);
      const err = await rejection(d.killAll({ ...ctx(), signal: ac.signal }, '/skiff/p'));
      expect(isKind(err, 'Cancelled'), String(err)).to.equal(true);
    });

    it('is done at once for a missing or empty cgroup', async function () {
      await d.killAll(ctx(), '/skiff/none');
      mkdirSync(join(root, 'skiff/p'), { recursive: true });
      await d.killAll(ctx(), '/skiff/p', 'SIGTERM');
    });
  });
});
