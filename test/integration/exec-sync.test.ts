// ExecSync's bounds on a real daemon with busybox: a timed-out or cancelled command goes with
// everything it started (escaped sessions and double forks too), a background child that keeps
// the output pipes open does not hold the call, and output past 16 MiB is cut, with the daemon's
// memory bounded, so the answer still fits kubelet's 16 MiB message limit.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status as grpcStatus } from '@grpc/grpc-js';
import {
  ContainerConfig,
  NamespaceMode,
  PodSandboxConfig,
  RuntimeServiceClient,
  type DeepPartial,
  type ExecSyncResponse,
} from '../../src/generated/runtime/v1/api.js';
import { startBusyboxDaemon, type BusyboxDaemon } from '../support/busybox-daemon.js';
import { call, type TestDaemon } from '../support/daemon.js';
import { expectCode } from '../support/grpc.js';
import { processesWith, resetPeakRss, rssKiB } from '../support/processes.js';

/** kubelet's limit for a CRI message (k8s.io/cri-client: maxMsgSize). */
const KUBELET_MAX_MESSAGE = 16 * 1024 * 1024;

describe('ExecSync bounds', function () {
  this.timeout(60_000);
  let bd: BusyboxDaemon | undefined;
  let d: TestDaemon;
  let kubelet: RuntimeServiceClient;
  let logDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let shared: string;
  let own: string;
  let seq = 0;
  // Unique sleep durations: this test's processes, and nobody else's, are searched for.
  const base = 40_000 + (process.pid % 1000) * 10;
  const mark = (i: number) => `sleep ${base + i}`;

  const create = async (over: DeepPartial<ContainerConfig>) => {
    const name = `x${++seq}`;
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
      metadata: { name, attempt: 0 },
      image: { image: bd?.image ?? '' },
      logPath: `${name}.log`,
      // Not `sleep`: every sleep in the container is then the test's (critest's pgrep counts them).
      command: ['/bin/tail', '-f', '/dev/null'],
      ...over,
    });
    const r = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig });
    await call(d.runtime, 'startContainer', { containerId: r.containerId });
    return r.containerId;
  };
  const exec = (id: string, cmd: string[], timeout: number, callMs = 30_000) =>
    call<object, ExecSyncResponse>(kubelet, 'execSync', { containerId: id, cmd, timeout: BigInt(timeout) }, callMs);
  /** The `sleep` processes `ps` in the container shows, zombies included (as critest's `pgrep sleep`). */
  const sleepsInside = async (id: string) => {
    const r = await exec(id, ['/bin/sh', '-c', 'ps -o pid,stat,comm | grep -w sleep || true'], 10);
    return r.stdout.toString() + r.stderr.toString();
  };

  before(async function () {
    bd = await startBusyboxDaemon();
    d = bd.d;
    kubelet = new RuntimeServiceClient(`unix://${d.socket}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': KUBELET_MAX_MESSAGE,
    });
    logDir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'exec-pod', namespace: 'default', uid: `uid-exec-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
    // critest's pod (the pod's pid namespace, whose init reaps) and kubelet's default (a pid
    // namespace of the container's own, where pid 1 is `sleep`, which reaps nobody).
    shared = await create({});
    own = await create({ linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } });
  });
  after(async function () {
    kubelet?.close();
    // The daemon's cleanup ends the pod's pid namespace; a container with one of its own must be stopped.
    for (const id of [shared, own]) if (id) await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n }).catch(() => {});
    for (let i = 0; i < 10; i++) for (const pid of processesWith(mark(i))) process.kill(pid, 'SIGKILL');
    await bd?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it("times out like critest's \"execSync with timeout\": DeadlineExceeded within a second, and the command gone at once", async function () {
    for (const id of [shared, own]) {
      const t0 = Date.now();
      await expectCode(exec(id, ['sleep', `${base}`], 1), grpcStatus.DEADLINE_EXCEEDED);
      expect(Date.now() - t0).to.be.lessThan(2000);
      // No retry, no zombie filter: critest looks once, right after the timeout.
      expect(await sleepsInside(id)).to.equal('');
      expect(processesWith(mark(0))).to.deep.equal([]);
    }
  });

  it('kills what the command started on a timeout: a new session, a double fork, a grandchild that left its group', async function () {
    // setsid: a new session; ( … & ): re-parented at once; sh -c "setsid … &" &: both at once.
    const script = `setsid ${mark(1)} & (${mark(2)} &) ; sh -c "setsid sh -c '${mark(3)} & ${mark(4)}' &" ; ${mark(5)}`;
    for (const id of [shared, own]) {
      const t0 = Date.now();
      await expectCode(exec(id, ['/bin/sh', '-c', script], 1), grpcStatus.DEADLINE_EXCEEDED);
      expect(Date.now() - t0).to.be.lessThan(2000);
      for (let i = 1; i <= 5; i++) expect(processesWith(mark(i)), mark(i)).to.deep.equal([]);
      expect(await sleepsInside(id)).to.equal('');
    }
  });

  it('kills the command and what it started when the caller cancels (its own deadline passes first)', async function () {
    const script = `setsid ${mark(6)} & ${mark(7)}`;
    const t0 = Date.now();
    await expectCode(exec(own, ['/bin/sh', '-c', script], 60, 1000), grpcStatus.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).to.be.lessThan(2000);
    for (let i = 0; i < 50 && processesWith(mark(6)).length + processesWith(mark(7)).length > 0; i++) await sleep(20);
    expect(processesWith(mark(6))).to.deep.equal([]);
    expect(processesWith(mark(7))).to.deep.equal([]);
    expect(await sleepsInside(own)).to.equal('');
  });

  it('returns soon after the command exits though a background child keeps its output open', async function () {
    for (const timeout of [10, 0]) {
      const t0 = Date.now();
      const r = await exec(own, ['/bin/sh', '-c', `${mark(8)} & echo started; echo warn >&2; exit 3`], timeout);
      expect(Date.now() - t0, `timeout ${timeout}`).to.be.lessThan(3000);
      expect(r.stdout.toString()).to.equal('started\n');
      expect(r.stderr.toString()).to.equal('warn\n');
      expect(r.exitCode).to.equal(3);
    }
    // As with containerd, a command's background children outlive a normal exit.
    expect(processesWith(mark(8))).to.have.length(2);
  });

  it('cuts output at 16 MiB for both streams together, so the answer fits kubelet\'s message limit, with the daemon\'s memory bounded', async function () {
    const daemonPid = d.proc?.pid ?? 0;
    const before = rssKiB(daemonPid).now;
    resetPeakRss(daemonPid);
    // 256 MiB on stdout, then a line on stderr: far more than is kept.
    const r = await exec(own, ['/bin/sh', '-c', 'head -c 268435456 /dev/zero; echo late >&2; exit 5'], 60);
    const peakGrowthMiB = (rssKiB(daemonPid).peak - before) / 1024;
    const kept = r.stdout.length + r.stderr.length;
    console.log(`      kept ${kept} bytes of 256 MiB; daemon peak RSS ${peakGrowthMiB.toFixed(1)} MiB above its RSS before`);
    expect(r.exitCode).to.equal(5);
    expect(kept).to.be.at.most(KUBELET_MAX_MESSAGE - 64);
    expect(kept).to.be.at.least(KUBELET_MAX_MESSAGE - 1024);
    expect(r.stdout.subarray(0, 1024).every((b) => b === 0)).to.equal(true);
    // Holding and sending a 16 MiB answer costs several copies of it (the chunks, the joined
    // buffer, the protobuf, the gRPC frame): ~90-100 MiB measured for 20 MiB to 1 GiB written.
    // What is read past the cap costs nothing: the peak does not grow with the output.
    expect(peakGrowthMiB).to.be.lessThan(128);
  });
});
