// No host helper binary is reachable from a container (runc CVE-2019-5736 class). The attack
// itself: a process of a pod that shares one PID namespace watches /proc for Skiff's helpers
// entering it (skiff-init for ExecSync and for container starts, a container whose command is
// /proc/self/exe, the pod's init), keeps a handle on each one's /proc/<pid>/exe, and writes
// through the handles once they are free. It runs with CAP_SYS_PTRACE, so a non-dumpable helper
// does not stop it from taking the handle: what it holds must be a copy it cannot write. Without
// the capability the pod's init does not even give it the handle.
// The later tests go around the images: the pod init's root and working directory (the host's),
// an exec whose working directory leads there, and a writer held open on an image (ETXTBSY).
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerConfig, ContainerState, NamespaceMode, PodSandboxConfig, type ContainerStatusResponse, type DeepPartial, type ExecSyncResponse } from '../../src/generated/runtime/v1/api.js';
import { DEFAULT_HELPER_DIR } from '../../src/runtime/helper-exec.js';
import { call, TestDaemon } from '../support/daemon.js';
import { imageSpec } from '../support/grpc.js';
import { buildImage, busyboxLayer, pushImage, ROOT_CONFIG, tarLayer } from '../support/image-builder.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { GRAB_C, STEAL_C } from '../support/helper-attacks.js';

const EPERM = 1;
const HELPERS = ['skiff-init', 'skiff-monitor', 'skiff-pinns', 'skiff-hostinfo'];

const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('helper images: no host helper binary is reachable from a container', function () {
  this.timeout(90_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  let buildDir: string;
  let logDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let image: string;
  let seq = 0;
  /** The helpers' bytes before the test: put back if the attack got through, so later tests run. */
  const original = new Map<string, Buffer>();

  const logOf = (name: string) => {
    try {
      return readFileSync(join(logDir, `${name}.log`), 'utf8')
        .split('\n')
        .map((l) => l.split(' ').slice(3).join(' '));
    } catch {
      return [];
    }
  };
  const create = async (over: DeepPartial<ContainerConfig>) => {
    const name = `h${++seq}`;
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
      metadata: { name, attempt: 0 },
      image: { image },
      logPath: `${name}.log`,
      ...over,
    });
    const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig });
    await call(d.runtime, 'startContainer', { containerId });
    return { id: containerId, name };
  };
  const exec = (id: string, cmd: string[]) => call<object, ExecSyncResponse>(d.runtime, 'execSync', { containerId: id, cmd, timeout: 10n }, 30_000);
  const state = async (id: string) =>
    (await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId: id, verbose: false })).status?.state;

  before(async function () {
    for (const h of HELPERS) original.set(h, readFileSync(join(DEFAULT_HELPER_DIR, h)));
    buildDir = mkdtempSync(join(tmpdir(), 'skiff-grab-'));
    for (const [name, source] of [['grab', GRAB_C], ['steal', STEAL_C]] as const) {
      writeFileSync(join(buildDir, `${name}.c`), source);
      execFileSync('gcc', ['-static', '-O2', '-o', join(buildDir, name), join(buildDir, `${name}.c`)], { stdio: 'pipe' });
    }
    reg = await startRegistry();
    const layers = await Promise.all([
      busyboxLayer({ gzip: true }),
      tarLayer(
        [
          { path: 'usr/local/bin', type: 'dir' },
          { path: 'usr/local/bin/grab', type: 'file', content: readFileSync(join(buildDir, 'grab')), mode: 0o755 },
          { path: 'usr/local/bin/steal', type: 'file', content: readFileSync(join(buildDir, 'steal')), mode: 0o755 },
        ],
        { gzip: true },
      ),
    ]);
    await pushImage(reg.url, 'skiff-test/grab', '1.0', buildImage({ layers, config: ROOT_CONFIG }));
    image = `${reg.host}/skiff-test/grab:1.0`;
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\n`);
    await d.start();
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 30_000);
    logDir = mkdtempSync(join(tmpdir(), 'skiff-grab-logs-'));
    // No namespaceOptions: the pod's containers share one PID namespace, with the pod's init as pid 1.
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'grab-pod', namespace: 'default', uid: `uid-grab-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
  });

  after(async function () {
    // Stopped first, so no monitor writes an exit file while the daemon's dirs are removed.
    if (podId) {
      await call(d.runtime, 'stopPodSandbox', { podSandboxId: podId }, 30_000).catch(() => undefined);
      await call(d.runtime, 'removePodSandbox', { podSandboxId: podId }, 30_000).catch(() => undefined);
    }
    await d?.cleanup();
    await reg?.stop();
    for (const dir of [logDir, buildDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    for (const [h, bytes] of original) {
      const path = join(DEFAULT_HELPER_DIR, h);
      if (sha256Of(path) === createHash('sha256').update(bytes).digest('hex')) continue;
      writeFileSync(`${path}.restore`, bytes, { mode: 0o755 });
      renameSync(`${path}.restore`, path);
    }
  });

  it('a process of a shared-PID pod grabs /proc/<pid>/exe of the helpers it sees and cannot write through any', async function () {
    const before = HELPERS.map((h) => sha256Of(join(DEFAULT_HELPER_DIR, h)));
    const attacker = await create({
      command: ['/usr/local/bin/grab', '60'],
      linux: { securityContext: { capabilities: { addCapabilities: ['SYS_PTRACE'] } } },
    });
    const target = await create({ command: ['/bin/sleep', '600'] });
    const triedInit = (lines: string[]) => lines.some((l) => /^write exe=\S*skiff-init/.test(l));
    const deadline = Date.now() + 15_000;
    let rounds = 0;
    // A few rounds at least, then until it has tried to write skiff-init (or 15 s have passed).
    while (rounds < 3 || (!triedInit(logOf(attacker.name)) && Date.now() < deadline)) {
      rounds++;
      for (let i = 0; i < 5; i++) await exec(target.id, ['/bin/true']);
      // The container's command is skiff-init itself, reached through the magic link. Its usage
      // error may come before the monitor sees the exec, and then the start fails: either way it ran.
      await create({ command: ['/proc/self/exe'] }).catch(() => undefined);
    }
    await sleep(50);
    await call(d.runtime, 'stopContainer', { containerId: attacker.id, timeout: 0n });
    const lines = logOf(attacker.name);
    const after = HELPERS.map((h) => sha256Of(join(DEFAULT_HELPER_DIR, h)));
    const report = `after ${rounds} rounds the attacker printed:\n${lines.join('\n')}`;

    expect(after, report).to.deep.equal(before);
    // Not vacuous: it held skiff-init's image, and tried to write once no process ran it.
    const handles = lines.filter((l) => l.startsWith('handle '));
    expect(handles.some((l) => /exe=\S*skiff-init/.test(l)), report).to.equal(true);
    const writes = lines.filter((l) => l.startsWith('write '));
    expect(writes.filter((l) => l.endsWith(' ok')), report).to.deep.equal([]);
    expect(writes.some((l) => /skiff-init.* errno=(\d+)$/.exec(l)?.[1] === String(EPERM)), report).to.equal(true);
    // What it saw of them names no host path: neither the helpers' directory nor the daemon's.
    const seen = lines.filter((l) => l.startsWith('seen '));
    expect(seen.length, report).to.be.greaterThan(0);
    for (const l of seen) {
      for (const host of [DEFAULT_HELPER_DIR, d.root, d.state, '/sys/fs/cgroup', '--bundle']) expect(l, report).to.not.include(host);
    }
    expect(await state(target.id)).to.equal(ContainerState.CONTAINER_RUNNING);
  });

  it("shows the pod's init as skiff-pod-init, with no host path in /proc/1/cmdline", async function () {
    const { id } = await create({ command: ['/bin/sleep', '600'] });
    expect((await exec(id, ['/bin/cat', '/proc/1/cmdline'])).stdout.toString()).to.equal('skiff-pod-init\0');
    expect((await exec(id, ['/bin/cat', '/proc/1/comm'])).stdout.toString()).to.equal('skiff-pod-init\n');
    await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
  });

  // The pod's init is pid 1 of every shared-PID pod. Its root and working directory are the host's
  // "/" and it holds every capability, so the non-dumpable flag is all that stands between a
  // container and /proc/1/root; a holder of CAP_SYS_PTRACE passes it (as the attacker above does).
  it("gives a container with CAP_SYS_PTRACE no way to the host's files through the pod init's /proc/1/root or /proc/1/cwd", async function () {
    const secret = `host-only-${process.pid}-1`;
    const marker = join(buildDir, 'marker-ptrace');
    writeFileSync(marker, secret);
    const { id } = await create({
      command: ['/bin/sleep', '600'],
      linux: { securityContext: { capabilities: { addCapabilities: ['SYS_PTRACE'] } } },
    });
    try {
      const r = await exec(id, ['/bin/sh', '-c', `cat /proc/1/root${marker} /proc/1/cwd${marker}; echo written > /proc/1/root${marker}.w`]);
      expect(r.stdout.toString(), r.stderr.toString()).to.not.include(secret);
      expect(existsSync(`${marker}.w`)).to.equal(false);
    } finally {
      await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
    }
  });

  it("shows a shared-PID pod none of the node's mounts in /proc/1/mountinfo", async function () {
    const { id } = await create({ command: ['/bin/sleep', '600'] });
    try {
      const r = await exec(id, ['/bin/cat', '/proc/1/mountinfo']);
      const text = r.stdout.toString();
      expect(r.exitCode, r.stderr.toString()).to.equal(0);
      // One line: the empty read-only tmpfs that is the init's root.
      expect(text.trim().split('\n'), text).to.have.length(1);
      expect(text).to.match(/ \/ \/ ro,[^ ]* - tmpfs /);
      for (const host of [d.root, d.state, '/sys/fs/cgroup', ' /proc ', ' /dev ']) expect(text).to.not.include(host);
    } finally {
      await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
    }
  });

  it("puts every pod's init in the daemon's one empty mount namespace, not the node's", async function () {
    const initOf = async (podSandboxId: string) => {
      const s = await call<object, { info: Record<string, string> }>(d.runtime, 'podSandboxStatus', { podSandboxId, verbose: true });
      return (JSON.parse(s.info.info ?? '{}') as { pid: number }).pid;
    };
    const other = PodSandboxConfig.fromPartial({
      metadata: { name: 'grab-pod-2', namespace: 'default', uid: `uid-grab-2-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    const second = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: other, runtimeHandler: '' })).podSandboxId;
    try {
      const [a, b] = [await initOf(podId), await initOf(second)];
      expect(a).to.be.greaterThan(1);
      expect(b).to.be.greaterThan(1);
      const ns = readlinkSync(`/proc/${a}/ns/mnt`);
      expect(ns).to.not.equal(readlinkSync('/proc/self/ns/mnt'));
      expect(readlinkSync(`/proc/${b}/ns/mnt`)).to.equal(ns);
      expect(readdirSync(`/proc/${a}/root`)).to.deep.equal([]);
    } finally {
      await call(d.runtime, 'stopPodSandbox', { podSandboxId: second }, 30_000).catch(() => undefined);
      await call(d.runtime, 'removePodSandbox', { podSandboxId: second }, 30_000).catch(() => undefined);
    }
  });

  // runc refuses this since CVE-2024-21626 ("current working directory is outside of container mount
  // namespace root"): skiff-init follows the working directory as a path, magic links included,
  // while it still holds every capability, so /proc/1/root of the pod's init takes it to the host.
  it("runs an exec inside the container when the container made its working directory a symlink to /proc/1/root", async function () {
    const secret = `host-only-${process.pid}-2`;
    const marker = join(buildDir, 'marker-cwd');
    writeFileSync(marker, secret);
    // No capability beyond the defaults; the exec is what kubelet's exec probe would run.
    const { id, name } = await create({
      command: ['/bin/sh', '-c', 'cd / && rmdir /w && ln -s /proc/1/root /w && echo swapped && exec sleep 600'],
      workingDir: '/w',
    });
    try {
      for (let i = 0; i < 100 && !logOf(name).includes('swapped'); i++) await sleep(20);
      const r = await exec(id, ['/bin/sh', '-c', `cat .${marker}; echo written > .${marker}.w`]).catch((e: unknown) => e);
      const out = r instanceof Error ? r.message : `${(r as ExecSyncResponse).stdout.toString()} ${(r as ExecSyncResponse).stderr.toString()}`;
      expect(out).to.not.include(secret);
      expect(existsSync(`${marker}.w`), out).to.equal(false);
    } finally {
      await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
    }
  });

  // The same without the pod's init: in a pod that shares the node's pid namespace, any host
  // process's /proc/<pid>/root is the host's "/" (this test's own, here). The container cannot
  // follow it (ptrace access), but skiff-init, holding every capability, would.
  it("runs an exec of a host-PID pod inside the container when the container made its working directory a symlink to a host process's root", async function () {
    const secret = `host-only-${process.pid}-3`;
    const marker = join(buildDir, 'marker-hostpid');
    writeFileSync(marker, secret);
    const hostPidPod = PodSandboxConfig.fromPartial({
      metadata: { name: 'grab-hostpid', namespace: 'default', uid: `uid-grab-hostpid-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
      linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.NODE } } },
    });
    const pod = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: hostPidPod, runtimeHandler: '' })).podSandboxId;
    try {
      const name = `h${++seq}`;
      const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
        metadata: { name, attempt: 0 },
        image: { image },
        logPath: `${name}.log`,
        command: ['/bin/sh', '-c', `cd / && rmdir /w && ln -s /proc/${process.pid}/root /w && echo swapped && exec sleep 600`],
        workingDir: '/w',
        linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.NODE } } },
      });
      const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: pod, config, sandboxConfig: hostPidPod });
      await call(d.runtime, 'startContainer', { containerId });
      for (let i = 0; i < 100 && !logOf(name).includes('swapped'); i++) await sleep(20);
      expect(logOf(name)).to.include('swapped');
      const r = await exec(containerId, ['/bin/sh', '-c', `cat .${marker}; echo written > .${marker}.w`]).catch((e: unknown) => e);
      const out = r instanceof Error ? r.message : `${(r as ExecSyncResponse).stdout.toString()} ${(r as ExecSyncResponse).stderr.toString()}`;
      expect(out).to.not.include(secret);
      expect(existsSync(`${marker}.w`), out).to.equal(false);
      expect(out).to.match(/working directory \/w: refused/);
    } finally {
      await call(d.runtime, 'stopPodSandbox', { podSandboxId: pod }, 30_000).catch(() => undefined);
      await call(d.runtime, 'removePodSandbox', { podSandboxId: pod }, 30_000).catch(() => undefined);
    }
  });

  // Every start and exec on the node ran skiff-init from one sealed memfd. Seals stop writes, not
  // an open for writing, and while any fd is open for writing the kernel executes the file for
  // nobody (ETXTBSY). A container gets that fd without any capability: an exec whose command is
  // /proc/self/exe runs skiff-init's image in the container, dumpable until its main() runs. Root
  // in the container opens it for writing whatever its mode (CAP_DAC_OVERRIDE), another user
  // only when the mode lets it.
  for (const uid of [1000, 0]) {
    it(`lets no container, not even through /proc/self/exe, keep the node from starting containers and running execs (uid ${uid})`, async function () {
      const attacker = await create({ command: ['/usr/local/bin/steal', '60'], linux: { securityContext: { runAsUser: { value: uid } } } });
      const victim = await create({ command: ['/bin/sleep', '600'] });
      try {
        for (let i = 0; i < 50 && !logOf(attacker.name).some((l) => l.startsWith('writer')); i++) {
          // kubelet runs exactly this for an exec probe the pod itself declares.
          await exec(attacker.id, ['/proc/self/exe']).catch(() => undefined);
        }
        const report = `the attacker printed:\n${logOf(attacker.name).join('\n')}`;
        // Not vacuous: it held an image of skiff-init, and tried to open it for writing.
        expect(logOf(attacker.name).some((l) => /^stolen .*skiff-init/.test(l)), report).to.equal(true);
        const r = await exec(victim.id, ['/bin/echo', 'still-works']).catch((e: unknown) => e);
        expect(r instanceof Error ? r.message : (r as ExecSyncResponse).stdout.toString(), report).to.equal('still-works\n');
        const started = await create({ command: ['/bin/true'] }).then(() => 'started', (e: unknown) => String(e));
        expect(started, report).to.equal('started');
      } finally {
        await call(d.runtime, 'stopContainer', { containerId: attacker.id, timeout: 0n }).catch(() => undefined);
        await call(d.runtime, 'stopContainer', { containerId: victim.id, timeout: 0n }).catch(() => undefined);
      }
    });
  }
});
