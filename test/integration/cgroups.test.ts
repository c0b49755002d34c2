// The cgroup drivers against this machine's kernel: the v1 hierarchies (v1 or hybrid machines)
// and a real cgroup2 tree (the hybrid "unified" mount, or the v2 root). Every cgroup lives under a
// /skiff-test-<random> top that the hooks remove even when a test fails; the last hook checks that
// no hierarchy still has one.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isKind } from '../../src/core/errors.js';
import type { OpContext } from '../../src/core/context.js';
import { silentLogger } from '../../src/log/logger.js';
import { detectCgroupMode } from '../../src/cgroups/detect.js';
import { CgroupV1Driver, V1_CONTROLLERS } from '../../src/cgroups/v1-driver.js';
import { CgroupV2Driver } from '../../src/cgroups/v2-driver.js';
import type { CgroupDriver } from '../../src/cgroups/types.js';
import type { DeviceRule } from '../../src/cgroups/devices.js';
import { buildDevices } from '../../src/oci/security.js';
import { queryCgroupDevicePrograms } from '../../src/sys/bpf-calls.js';

const ROOT = '/sys/fs/cgroup';
const ctx = (): OpContext => ({
  log: silentLogger(),
  signal: AbortSignal.timeout(15_000),
  deadline: Date.now() + 15_000,
});
const rand = () => randomBytes(4).toString('hex');
const TOP_PREFIX = `skiff-test-${rand()}`;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

function thrownOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** Removes dir and everything below it, deepest first; cgroupfs rmdir needs empty cgroups. */
function rmCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    if (ent.isDirectory()) rmCgroupTree(join(dir, ent.name));
  }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      // A killed process may need a moment to leave.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  rmdirSync(dir);
}

/** Every hierarchy mount point a test could have touched. */
function hierarchyRoots(): string[] {
  const out = [join(ROOT, 'unified')];
  if (existsSync(join(ROOT, 'cgroup.controllers'))) out.push(ROOT);
  for (const c of V1_CONTROLLERS) if (existsSync(join(ROOT, c))) out.push(join(ROOT, c));
  return out.filter((d) => existsSync(d));
}

const leftovers = () =>
  hierarchyRoots().flatMap((h) => readdirSync(h).filter((n) => n.startsWith(TOP_PREFIX)).map((n) => join(h, n)));

function spawnSleeper(): ChildProcess & { exited: Promise<NodeJS.Signals | null> } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  return Object.assign(child, { exited });
}

/** Moves a process into the cgroup, as a container runtime does: its pid into each hierarchy. */
function enter(d: CgroupDriver, path: string, pid: number): void {
  for (const dir of d.dirs(path)) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
}

const mode = detectCgroupMode();
const children: ChildProcess[] = [];
const tops: { d: CgroupDriver; top: string }[] = [];

function track(d: CgroupDriver): { top: string; pod: string } {
  const top = `/${TOP_PREFIX}-${rand()}`;
  tops.push({ d, top });
  return { top, pod: `${top}/pod${rand()}` };
}

async function cleanUp(): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((resolve) => c.once('exit', resolve));
    }
  }
  for (const { d, top } of tops.splice(0)) for (const dir of d.dirs(top)) rmCgroupTree(dir);
}

describe('cgroups on the real kernel', function () {
  this.timeout(20_000);
  afterEach(cleanUp);
  // Mocha runs a suite's own tests before its nested ones, so the leak check is a hook.
  after('leaves no test cgroup in any hierarchy', async function () {
    await cleanUp();
    expect(leftovers()).to.deep.equal([]);
  });

  (mode === 'v2' ? describe.skip : describe)('v1 hierarchies', function () {
    const d = new CgroupV1Driver({ root: ROOT });
    const file = (controller: string, path: string, name: string) =>
      readFileSync(join(d.controllers.get(controller) ?? '', path, name), 'utf8').trim();

    it('creates a pod cgroup in every hierarchy with its limits', async function () {
      const { pod } = track(d);
      const memsw = existsSync(join(d.controllers.get('memory') ?? '', 'memory.memsw.limit_in_bytes'));
      await d.ensure(ctx(), pod, {
        cpuShares: 512,
        cpuQuota: 50000,
        cpuPeriod: 100000,
        memoryLimitBytes: 64 << 20,
        memorySwapLimitBytes: memsw ? 128 << 20 : 0,
        pidsLimit: 16,
      });
      for (const dir of d.dirs(pod)) expect(existsSync(dir), dir).to.equal(true);
      expect(d.dirs(pod).length).to.equal(new Set(d.controllers.values()).size);
      expect(file('cpu', pod, 'cpu.shares')).to.equal('512');
      expect(file('cpu', pod, 'cpu.cfs_quota_us')).to.equal('50000');
      expect(file('cpu', pod, 'cpu.cfs_period_us')).to.equal('100000');
      expect(file('memory', pod, 'memory.limit_in_bytes')).to.equal(String(64 << 20));
      if (memsw) expect(file('memory', pod, 'memory.memsw.limit_in_bytes')).to.equal(String(128 << 20));
      expect(file('pids', pod, 'pids.max')).to.equal('16');
      expect(file('cpuset', pod, 'cpuset.cpus')).to.equal(file('cpuset', '/', 'cpuset.cpus'));
      expect(file('cpuset', pod, 'cpuset.mems')).to.equal(file('cpuset', '/', 'cpuset.mems'));
    });

    it('raises and lowers memory and memory+swap in the order the kernel accepts', async function () {
      const { pod } = track(d);
      if (!existsSync(join(d.controllers.get('memory') ?? '', 'memory.memsw.limit_in_bytes'))) this.skip();
      await d.ensure(ctx(), pod, { memoryLimitBytes: 64 << 20, memorySwapLimitBytes: 96 << 20 });
      await d.apply(ctx(), pod, { memoryLimitBytes: 1 << 30, memorySwapLimitBytes: 2 ** 31 });
      expect(file('memory', pod, 'memory.limit_in_bytes')).to.equal(String(1 << 30));
      expect(file('memory', pod, 'memory.memsw.limit_in_bytes')).to.equal(String(2 ** 31));
      await d.apply(ctx(), pod, { memoryLimitBytes: 32 << 20, memorySwapLimitBytes: 48 << 20 });
      expect(file('memory', pod, 'memory.limit_in_bytes')).to.equal(String(32 << 20));
      expect(file('memory', pod, 'memory.memsw.limit_in_bytes')).to.equal(String(48 << 20));
      await d.apply(ctx(), pod, { memoryLimitBytes: -1, memorySwapLimitBytes: -1 });
    });

    it('holds a process, refuses to remove while it runs, kills it, then removes everything', async function () {
      const { top, pod } = track(d);
      await d.ensure(ctx(), pod, { pidsLimit: 8 });
      const child = spawnSleeper();
      children.push(child);
      enter(d, pod, child.pid ?? 0);
      expect(await d.pids(pod)).to.deep.equal([child.pid]);
      expect(await d.pids(top)).to.deep.equal([]);
      expect(await d.pids(top, { recursive: true })).to.deep.equal([child.pid]);

      const busy = await rejection(d.remove(ctx(), pod));
      expect(isKind(busy, 'FailedPrecondition'), String(busy)).to.equal(true);
      expect(String(busy)).to.include(pod);

      await d.killAll(ctx(), pod);
      expect(await child.exited).to.equal('SIGKILL');
      expect(await d.pids(pod)).to.deep.equal([]);

      await d.remove(ctx(), pod);
      for (const dir of d.dirs(pod)) expect(existsSync(dir), dir).to.equal(false);
      for (const dir of d.dirs(top)) expect(existsSync(dir), `parent ${dir} stays`).to.equal(true);
      await d.remove(ctx(), top);
      for (const dir of d.dirs(top)) expect(existsSync(dir), dir).to.equal(false);
      await d.remove(ctx(), pod);
      await d.remove(ctx(), top);
    });

    it('kills processes forked inside the cgroup, in child cgroups too', async function () {
      const { top, pod } = track(d);
      await d.ensure(ctx(), `${pod}/ctr`);
      const sh = spawn('sh', ['-c', 'read x; sleep 60 & sleep 60 & wait'], { stdio: ['pipe', 'ignore', 'ignore'] });
      children.push(sh);
      enter(d, `${pod}/ctr`, sh.pid ?? 0);
      sh.stdin?.write('go\n');
      for (let i = 0; i < 200 && (await d.pids(pod, { recursive: true })).length < 3; i++) await sleep(5);
      expect((await d.pids(pod, { recursive: true })).length).to.equal(3);
      await d.killAll(ctx(), pod);
      expect(await d.pids(pod, { recursive: true })).to.deep.equal([]);
      await d.remove(ctx(), pod, { recursive: true });
      await d.remove(ctx(), top);
      for (const dir of d.dirs(top)) expect(existsSync(dir), dir).to.equal(false);
    });

    it('undoes its own mkdirs when a limit cannot be applied', async function () {
      const partial = new CgroupV1Driver({ root: ROOT, controllers: ['cpu', 'memory'] });
      const { top, pod } = track(partial);
      const err = await rejection(partial.ensure(ctx(), pod, { cpuShares: 256, pidsLimit: 4 }));
      expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
      for (const dir of partial.dirs(top)) expect(existsSync(dir), dir).to.equal(false);
    });
  });

  (existsSync(join(ROOT, 'cgroup.controllers')) || existsSync(join(ROOT, 'unified', 'cgroup.controllers'))
    ? describe
    : describe.skip)('a cgroup2 tree', function () {
    // On a hybrid machine the unified mount has no controllers of ours: leave its root alone.
    const d =
      mode === 'v2'
        ? new CgroupV2Driver({ root: ROOT })
        : new CgroupV2Driver({ root: join(ROOT, 'unified'), enable: [] });

    it('kills with cgroup.kill, learns of the exit through cgroup.events, and removes', async function () {
      const { top, pod } = track(d);
      await d.ensure(ctx(), pod);
      const child = spawnSleeper();
      children.push(child);
      enter(d, pod, child.pid ?? 0);
      expect(await d.pids(pod)).to.deep.equal([child.pid]);
      const busy = await rejection(d.remove(ctx(), pod));
      expect(isKind(busy, 'FailedPrecondition'), String(busy)).to.equal(true);
      const t0 = process.hrtime.bigint();
      await d.killAll(ctx(), pod);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(await child.exited).to.equal('SIGKILL');
      expect(ms).to.be.below(1000);
      await d.remove(ctx(), pod);
      await d.remove(ctx(), top);
      for (const dir of d.dirs(top)) expect(existsSync(dir), dir).to.equal(false);
    });

    /**
     * Runs a shell that first moves itself into `dir` (this process stays in the v1 root devices
     * cgroup, which allows everything), then opens each path for reading and for writing, and
     * makes a block device node: one line per attempt, "ok" or the shell's error.
     */
    function tryDevicesIn(dir: string, paths: string[], nodeDir: string): string[] {
      const script = [
        'echo $$ > "$1/cgroup.procs" || exit 99',
        'shift; nodes=$1; shift',
        'for p in "$@"; do (: <"$p") 2>&1 && echo "read $p ok"; (: >>"$p") 2>&1 && echo "write $p ok"; done',
        'mknod "$nodes/sda" b 8 0 2>&1 && echo "mknod ok"',
        '(: <"$nodes/sda") 2>&1 && echo "read sda ok"',
        'exit 0',
      ].join('\n');
      const r = spawnSync('sh', ['-c', script, 'sh', dir, nodeDir, ...paths], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).to.equal(0);
      return r.stdout.trim().split('\n').map((l) => l.replace(/^sh: \d+: /, ''));
    }

    it('restricts device access with an eBPF program on the cgroup, and only for its processes', async function () {
      const { pod } = track(d);
      await d.ensure(ctx(), pod);
      const dir = d.dirs(pod)[0] ?? '';
      const nodes = mkdtempSync(join(tmpdir(), 'skiff-devnodes-'));
      try {
        const rules = buildDevices({ privileged: false, devices: [] }).rules;
        expect(d.setDevices(ctx(), pod, rules)).to.equal(true);
        // A second container with the same rules gets the same loaded program, attached.
        const other = `${pod}-2`;
        await d.ensure(ctx(), other);
        const t0 = process.hrtime.bigint();
        d.setDevices(ctx(), other, rules);
        const us = Number(process.hrtime.bigint() - t0) / 1e3;
        console.log(`      device filter for a second container (program already loaded): ${us.toFixed(0)} µs`);
        const ids = [dir, d.dirs(other)[0] ?? ''].map((cg) => {
          const fd = openSync(cg, 'r');
          try {
            return queryCgroupDevicePrograms(fd);
          } finally {
            closeSync(fd);
          }
        });
        expect(ids[0]).to.have.length(1);
        expect(ids[1]).to.deep.equal(ids[0]);
        expect(tryDevicesIn(dir, ['/dev/null', '/dev/kmsg'], nodes)).to.deep.equal([
          'read /dev/null ok',
          'write /dev/null ok',
          'cannot open /dev/kmsg: Operation not permitted',
          'cannot create /dev/kmsg: Operation not permitted',
          'mknod ok', // runc's list lets anyone make nodes ("b *:* m") ...
          `cannot open ${nodes}/sda: Operation not permitted`, // ... not open them
        ]);
        // This process is not in the cgroup: the host's access is unchanged.
        closeSync(openSync('/dev/kmsg', 'r'));
      } finally {
        rmSync(nodes, { recursive: true, force: true });
      }
    });

    it('lets a CRI device through with its permissions, and refuses mknod when no rule allows it', async function () {
      const { pod } = track(d);
      await d.ensure(ctx(), pod);
      const rules: DeviceRule[] = [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 11, access: 'r' }];
      d.setDevices(ctx(), pod, rules);
      const nodes = mkdtempSync(join(tmpdir(), 'skiff-devnodes-'));
      try {
        expect(tryDevicesIn(d.dirs(pod)[0] ?? '', ['/dev/kmsg', '/dev/null'], nodes)).to.deep.equal([
          'read /dev/kmsg ok',
          'cannot create /dev/kmsg: Operation not permitted',
          'cannot open /dev/null: Operation not permitted',
          'cannot create /dev/null: Operation not permitted',
          `mknod: ${nodes}/sda: Operation not permitted`,
          `cannot open ${nodes}/sda: No such file`, // dash's words for ENOENT
        ]);
      } finally {
        rmSync(nodes, { recursive: true, force: true });
      }
    });

    it('refuses a privileged container nothing, and a directory outside cgroupfs with FailedPrecondition', async function () {
      const { pod } = track(d);
      await d.ensure(ctx(), pod);
      d.setDevices(ctx(), pod, buildDevices({ privileged: true, devices: [] }).rules);
      const nodes = mkdtempSync(join(tmpdir(), 'skiff-devnodes-'));
      const fake = mkdtempSync(join(tmpdir(), 'skiff-fake-cg2-'));
      try {
        expect(tryDevicesIn(d.dirs(pod)[0] ?? '', ['/dev/kmsg'], nodes).slice(0, 3)).to.deep.equal([
          'read /dev/kmsg ok',
          'write /dev/kmsg ok',
          'mknod ok',
        ]);
        // A fake tree (a temp dir) has nothing the kernel can attach to.
        mkdirSync(join(fake, 'c'));
        const err = thrownOf(() => new CgroupV2Driver({ root: fake }).setDevices(ctx(), '/c', [{ allow: false }]));
        expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
        expect(String(err)).to.match(/is not a cgroup v2 directory/);
      } finally {
        rmSync(nodes, { recursive: true, force: true });
        rmSync(fake, { recursive: true, force: true });
      }
    });

    it('signals other signals pid by pid', async function () {
      const { top, pod } = track(d);
      await d.ensure(ctx(), pod);
      const child = spawnSleeper();
      children.push(child);
      enter(d, pod, child.pid ?? 0);
      await d.killAll(ctx(), pod, 'SIGTERM');
      expect(await child.exited).to.equal('SIGTERM');
      await d.remove(ctx(), top, { recursive: true });
      for (const dir of d.dirs(top)) expect(existsSync(dir), dir).to.equal(false);
    });
  });

});
