// An image's /etc/passwd and /etc/group are read on the host to resolve the container's user.
// Hostile ones (a FIFO, a /dev/zero-like device, a symlink to a host file, 300 MiB) must give a
// prompt clear answer, leave the daemon's memory alone, and never stop it answering other RPCs.
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  ContainerConfig,
  PodSandboxConfig,
  type ContainerStatusResponse,
  type DeepPartial,
  type ListContainersResponse,
} from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';
import { imageSpec } from '../support/grpc.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushHostileUserFileImages, type HostileUserFiles } from '../support/hostile-user-files.js';

const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Overlay mounts of containers (not pods' shm) under `dir`. */
function containerMounts(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir) && m.includes('/containers/'));
}

describe('hostile /etc/passwd and /etc/group in an image', function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  let files: HostileUserFiles;
  let logDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let seq = 0;

  const createIn = (image: string, securityContext: DeepPartial<NonNullable<ContainerConfig['linux']>['securityContext']>) => {
    const name = `u${++seq}`;
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
      metadata: { name, attempt: 0 },
      image: { image },
      command: ['/bin/true'],
      logPath: `${name}.log`,
      linux: { securityContext },
    });
    return call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig }, 15_000);
  };

  /**
   * Runs `work` while Version and ListPodSandbox are asked every 100 ms, each with a 1 s
   * deadline; returns the work's outcome and every probe that missed its deadline.
   */
  async function whileProbing<T>(work: () => Promise<T>): Promise<{ result?: T; error?: ServiceError; missed: string[]; ms: number }> {
    const missed: string[] = [];
    let done = false;
    const probes = (async () => {
      while (!done) {
        await Promise.all([
          call(d.runtime, 'version', { version: 'v1' }, 1000).catch((e: Error) => missed.push(`Version: ${e.message}`)),
          call(d.runtime, 'listPodSandbox', {}, 1000).catch((e: Error) => missed.push(`ListPodSandbox: ${e.message}`)),
        ]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const t0 = Date.now();
    try {
      const result = await work();
      return { result, missed, ms: Date.now() - t0 };
    } catch (e) {
      return { error: e as ServiceError, missed, ms: Date.now() - t0 };
    } finally {
      done = true;
      await probes;
    }
  }

  const userOf = async (id: string) =>
    (await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId: id })).status?.user?.linux;

  const expectNothingLeft = async () => {
    const list = await call<object, ListContainersResponse>(d.runtime, 'listContainers', {});
    expect(list.containers.map((c) => c.id)).to.deep.equal([]);
    expect(containerMounts(d.dir)).to.deep.equal([]);
  };

  before(async function () {
    reg = await startRegistry();
    files = await pushHostileUserFileImages(reg.url);
    writeFileSync(files.hostPasswd, `root:x:0:0::/root:/bin/sh\n${files.hostOnlyUser}:x:4242:4242::/:/bin/sh\n`);
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\n`);
    await d.start();
    for (const ref of Object.values(files.refs)) await call(d.images, 'pullImage', { image: imageSpec(ref) }, 90_000);
    logDir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'userfiles', namespace: 'default', uid: `uid-userfiles-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
  });
  after(async function () {
    await d?.cleanup();
    await reg?.stop();
    if (files) rmSync(files.hostPasswd, { force: true });
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'passed') return;
    await expectNothingLeft();
  });

  it('refuses a user name to look up in a FIFO /etc/passwd at once, answering other RPCs meanwhile', async function () {
    const r = await whileProbing(() => createIn(files.refs.fifo, { runAsUsername: 'skiffuser' }));
    expect(r.missed).to.deep.equal([]);
    expect(r.error?.code, r.error?.details).to.equal(grpcStatus.FAILED_PRECONDITION);
    expect(r.error?.details).to.match(/\/etc\/passwd is a FIFO/);
    expect(r.ms).to.be.below(2000);
  });

  it('runs a numeric uid against a FIFO /etc/passwd as containerd does for a missing entry: gid 0', async function () {
    const r = await whileProbing(() => createIn(files.refs.fifo, { runAsUser: { value: 1000n } }));
    expect(r.missed).to.deep.equal([]);
    expect(r.error?.details).to.equal(undefined);
    const id = r.result?.containerId as string;
    expect(await userOf(id)).to.deep.include({ uid: 1000n, gid: 0n });
    await call(d.runtime, 'removeContainer', { containerId: id });
  });

  it('never reads a /dev/zero-like /etc/passwd: a clear refusal, and the daemon does not grow', async function () {
    const before = rssBytes(d.proc?.pid as number);
    const r = await whileProbing(() => createIn(files.refs.device, { runAsUsername: 'skiffuser' }));
    expect(r.missed).to.deep.equal([]);
    expect(r.error?.code, r.error?.details).to.equal(grpcStatus.FAILED_PRECONDITION);
    expect(r.error?.details).to.match(/\/etc\/passwd is a character device/);
    expect(r.ms).to.be.below(2000);
    // A uid needs no name: the device counts as no file at all.
    const ok = await createIn(files.refs.device, { runAsUser: { value: 1000n } });
    expect(await userOf(ok.containerId)).to.deep.include({ uid: 1000n, gid: 0n });
    await call(d.runtime, 'removeContainer', { containerId: ok.containerId });
    expect(rssBytes(d.proc?.pid as number) - before).to.be.below(64 * MiB);
  });

  it('resolves a symlinked /etc/passwd inside the rootfs, never to the host file it names', async function () {
    const mine = await createIn(files.refs.symlink, { runAsUsername: files.imageUser });
    expect(await userOf(mine.containerId)).to.deep.include({ uid: 777n, gid: 777n });
    await call(d.runtime, 'removeContainer', { containerId: mine.containerId });
    const r = await whileProbing(() => createIn(files.refs.symlink, { runAsUsername: files.hostOnlyUser }));
    expect(r.error?.code, r.error?.details).to.equal(grpcStatus.INVALID_ARGUMENT);
    expect(r.error?.details).to.match(/user hostuser not found in \/etc\/passwd/);
  });

  it('refuses a 300 MiB /etc/passwd from its size, without reading it into the daemon', async function () {
    const before = rssBytes(d.proc?.pid as number);
    const r = await whileProbing(() => createIn(files.refs.huge, { runAsUsername: 'skiffuser' }));
    expect(r.missed).to.deep.equal([]);
    expect(r.error?.code, r.error?.details).to.equal(grpcStatus.FAILED_PRECONDITION);
    expect(r.error?.details).to.include(`/etc/passwd is ${files.hugeBytes} bytes`);
    expect(r.ms).to.be.below(2000);
    expect(rssBytes(d.proc?.pid as number) - before).to.be.below(64 * MiB);
  });
});
