// Pod namespaces through the TypeScript API (root, real kernel): pin with skiff-pinns, unpin in
// process, idempotently, leaving no mount, file or process behind.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { backgroundContext, type OpContext } from '../../src/core/context.js';
import { isKind } from '../../src/core/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { isInitAlive, killInit, readProcStat } from '../../src/namespaces/pid-init.js';
import {
  pinPodNamespaces,
  unpinPodNamespaces,
  type PinnedNamespaces,
  type PinOptions,
} from '../../src/namespaces/pin.js';
import { HelperRunner } from '../../src/runtime/helper-exec.js';
import { MNT_DETACH, umount2 } from '../../src/sys/mount-calls.js';

const run = promisify(execFile);

function mountsUnder(prefix: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('pod namespaces (pin / unpin)', function () {
  const helpers = new HelperRunner();
  const pinnedByTests: PinnedNamespaces[] = [];
  let base: string;
  let n = 0;
  let ctx: OpContext;

  const options = (over: Partial<PinOptions> = {}): PinOptions => ({
    dir: join(base, 'ns', `pod${++n}`),
    net: true,
    ipc: true,
    uts: true,
    pid: false,
    sysctls: {},
    ...over,
  });

  async function pin(opts: PinOptions, c: OpContext = ctx): Promise<PinnedNamespaces> {
    const p = await pinPodNamespaces(c, helpers, opts);
    pinnedByTests.push(p);
    return p;
  }

  before(async function () {
    base = await mkdtemp(join(tmpdir(), `skiff-ns-${process.pid}-`));
    ctx = backgroundContext(silentLogger(), 10_000);
  });

  after(async function () {
    for (const p of pinnedByTests) await unpinPodNamespaces(ctx, p).catch(() => undefined);
    for (const m of mountsUnder(base).reverse()) umount2(m, MNT_DETACH);
    await rm(base, { recursive: true, force: true });
  });

  it('pins net, ipc and uts (creating missing parents) and unpins them without a trace', async function () {
    const opts = options({ hostname: 'pod-a', sysctls: { 'net/ipv4/ip_default_ttl': '42', 'kernel.msgmax': '4242' } });
    const pinned = await pin(opts);
    expect(pinned).to.deep.equal({
      dir: opts.dir,
      net: join(opts.dir, 'net'),
      ipc: join(opts.dir, 'ipc'),
      uts: join(opts.dir, 'uts'),
    });
    expect(mountsUnder(opts.dir)).to.have.length(3);
    const inside = async (ns: 'net' | 'ipc' | 'uts', ...cmd: string[]) =>
      (await run('nsenter', [`--${ns}=${pinned[ns] ?? ''}`, ...cmd])).stdout.trim();
    expect(await inside('uts', 'hostname')).to.equal('pod-a');
    expect(await inside('net', 'cat', '/proc/sys/net/ipv4/ip_default_ttl')).to.equal('42');
    expect(await inside('ipc', 'cat', '/proc/sys/kernel/msgmax')).to.equal('4242');
    await unpinPodNamespaces(ctx, pinned);
    expect(mountsUnder(opts.dir)).to.deep.equal([]);
    expect(existsSync(opts.dir)).to.equal(false);
    // The parent is shared by all pods and stays.
    expect(existsSync(join(base, 'ns'))).to.equal(true);
  });

  it('unpins idempotently, also after a partial unpin', async function () {
    const pinned = await pin(options());
    // Half done already: one pin unmounted and removed, one unmounted only.
    umount2(pinned.net ?? '', MNT_DETACH);
    unlinkSync(pinned.net ?? '');
    umount2(pinned.ipc ?? '', MNT_DETACH);
    await unpinPodNamespaces(ctx, pinned);
    await unpinPodNamespaces(ctx, pinned);
    expect(mountsUnder(pinned.dir)).to.deep.equal([]);
    expect(existsSync(pinned.dir)).to.equal(false);
  });

  it('pins only what is asked for', async function () {
    const pinned = await pin(options({ ipc: false, uts: false, hostname: 'ignored-without-uts' }));
    expect(Object.keys(pinned).sort()).to.deep.equal(['dir', 'net']);
    expect(readdirSync(pinned.dir)).to.deep.equal(['net']);
    await unpinPodNamespaces(ctx, pinned);
  });

  it('starts a pid init, and unpin kills it and releases its pid namespace', async function () {
    const pinned = await pin(options({ pid: true }));
    const { initPid, initStartTime } = pinned;
    if (initPid === undefined || initStartTime === undefined) throw new Error('no init in the answer');
    expect(pinned.pid).to.equal(join(pinned.dir, 'pid'));
    expect(isInitAlive(initPid, initStartTime)).to.equal(true);
    expect(readlinkSync(`/proc/${initPid}/ns/pid`)).to.not.equal(readlinkSync('/proc/self/ns/pid'));
    await unpinPodNamespaces(ctx, pinned);
    await until(() => !isInitAlive(initPid, initStartTime), 2000, 'the init to die');
    expect(mountsUnder(pinned.dir)).to.deep.equal([]);
    expect(existsSync(pinned.dir)).to.equal(false);
    await unpinPodNamespaces(ctx, pinned);
  });

  it('never kills a process whose start time does not match the record', async function () {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      const st = readProcStat(pid);
      expect(st).to.not.equal(undefined);
      const dir = join(base, `stale${++n}`);
      // A stale record whose init pid now belongs to someone else.
      await unpinPodNamespaces(ctx, { dir, initPid: pid, initStartTime: (st?.startTime ?? 0) + 1 });
      expect(killInit(pid, (st?.startTime ?? 0) + 1)).to.equal(false);
      expect(readProcStat(pid)?.state).to.not.equal('Z');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('rejects a sysctl the pod may not set before creating anything', async function () {
    for (const [over, message] of [
      [{ sysctls: { 'vm.swappiness': '1' } }, /vm\.swappiness: not a namespaced sysctl/],
      [{ net: false, sysctls: { 'net.core.somaxconn': '1' } }, /not allowed with host network/],
      [{ ipc: false, sysctls: { 'kernel.shmmax': '1' } }, /not allowed with host IPC/],
    ] as const) {
      const opts = options(over);
      const e = await pinPodNamespaces(ctx, helpers, opts).catch((x: unknown) => x);
      expect(isKind(e, 'InvalidArgument'), String(e)).to.equal(true);
      expect((e as Error).message).to.match(message);
      expect(existsSync(opts.dir)).to.equal(false);
    }
  });

  it('turns a sysctl the kernel refuses into InvalidArgument, leaving nothing behind', async function () {
    const opts = options({ pid: true, sysctls: { 'net.ipv4.ip_forward': 'abc' } });
    const e = await pinPodNamespaces(ctx, helpers, opts).catch((x: unknown) => x);
    expect(isKind(e, 'InvalidArgument'), String(e)).to.equal(true);
    expect((e as Error).message).to.match(/^skiff-pinns: sysctl net\.ipv4\.ip_forward=abc: write .*Invalid argument/);
    expect(existsSync(opts.dir)).to.equal(false);
  });

  it('creates nothing for a context aborted before, and undoes all for one aborted during the run', async function () {
    const early = new AbortController();
    early.abort();
    const o1 = options({ pid: true });
    const e1 = await pinPodNamespaces({ ...ctx, signal: early.signal }, helpers, o1).catch((x: unknown) => x);
    expect(isKind(e1, 'Cancelled'), String(e1)).to.equal(true);
    expect(existsSync(o1.dir)).to.equal(false);

    const late = new AbortController();
    const o2 = options({ pid: true });
    const p = pinPodNamespaces({ ...ctx, signal: late.signal }, helpers, o2);
    late.abort();
    const e2 = await p.catch((x: unknown) => x);
    expect(isKind(e2, 'Cancelled'), String(e2)).to.equal(true);
    expect(existsSync(o2.dir)).to.equal(false);
    expect(mountsUnder(base).filter((m) => m.startsWith(o2.dir))).to.deep.equal([]);
  });

  it('leaves no mounts under its dirs', function () {
    const live = pinnedByTests.flatMap((p) => (existsSync(p.dir) ? [p.dir] : []));
    expect(live).to.deep.equal([]);
    expect(mountsUnder(base)).to.deep.equal([]);
  });
});
