// Containers over the CRI socket: images pulled from the local registry, run by skiff-init under
// skiff-monitor in a pod of their own; lifecycle, logs, users, files, exec and restarts.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  ContainerConfig,
  ContainerState,
  LinuxContainerResources,
  NamespaceMode,
  PodSandboxConfig,
  type ContainerStatusResponse,
  type DeepPartial,
  type ExecSyncResponse,
} from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';
import { expectCode, imageSpec } from '../support/grpc.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushStandardImages } from '../support/standard-images.js';

describe('containers over the CRI socket', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  let logDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let rootImage: string;
  let userImage: string;
  let seq = 0;

  const create = async (over: DeepPartial<ContainerConfig>, image = rootImage) => {
    const name = `c${++seq}`;
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
      metadata: { name, attempt: 0 },
      image: { image },
      logPath: `${name}.log`,
      ...over,
    });
    const r = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig });
    return r.containerId;
  };
  const start = (id: string) => call(d.runtime, 'startContainer', { containerId: id });
  const status = async (id: string) =>
    (await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId: id, verbose: true })).status;
  const waitExited = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const s = await status(id);
      if (s?.state === ContainerState.CONTAINER_EXITED) return s;
      await sleep(25);
    }
    throw new Error(`container ${id} did not exit`);
  };
  const run = async (cmd: string[], over: DeepPartial<ContainerConfig> = {}, image = rootImage) => {
    const id = await create({ command: cmd, ...over }, image);
    await start(id);
    return { id, status: await waitExited(id) };
  };
  const logOf = (_id: string, name: string) => readFileSync(join(logDir, `${name}.log`), 'utf8');
  const exec = (id: string, cmd: string[], timeout = 10) =>
    call<object, ExecSyncResponse>(d.runtime, 'execSync', { containerId: id, cmd, timeout: BigInt(timeout) }, 30_000);

  before(async function () {
    reg = await startRegistry();
    await pushStandardImages(reg.url);
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\n`);
    await d.start();
    rootImage = `${reg.host}/skiff-test/busybox-root:1.0`;
    userImage = `${reg.host}/skiff-test/busybox-user:1.0`;
    for (const image of [rootImage, userImage]) await call(d.images, 'pullImage', { image: imageSpec(image) }, 30_000);
    logDir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'ctr-pod', namespace: 'default', uid: `uid-ctr-${process.pid}`, attempt: 0 },
      hostname: 'ctr-pod',
      logDirectory: logDir,
      dnsConfig: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: [] },
    });
    podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
  });
  after(async function () {
    await d?.cleanup();
    await reg?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('streams lifecycle events in order to two subscribers at once', async function () {
    type Ev = { containerId: string; containerEventType: number; containersStatuses: { id: string }[] };
    const collect = () => {
      const got: Ev[] = [];
      const stream = d.runtime.getContainerEvents({});
      stream.on('data', (e: Ev) => got.push(e));
      stream.on('error', () => {});
      return { got, stream };
    };
    const [one, two] = [collect(), collect()];
    await sleep(100);
    const id = await create({ command: ['/bin/sh', '-c', 'exit 0'] });
    await start(id);
    await waitExited(id);
    await call(d.runtime, 'removeContainer', { containerId: id });
    for (let i = 0; i < 50 && (one.got.length < 4 || two.got.length < 4); i++) await sleep(20);
    for (const { got, stream } of [one, two]) {
      const mine = got.filter((e) => e.containerId === id);
      expect(mine.map((e) => e.containerEventType)).to.deep.equal([0, 1, 2, 3]);
      expect(mine[0]?.containersStatuses.map((c) => c.id)).to.include(id);
      stream.cancel();
    }
  });

  it('runs a command to completion: states, times, exit code 0 and reason Completed', async function () {
    const id = await create({ command: ['/bin/sh', '-c', 'exit 0'] });
    let s = await status(id);
    expect(s?.state).to.equal(ContainerState.CONTAINER_CREATED);
    expect(Number(s?.createdAt)).to.be.greaterThan(0);
    await start(id);
    s = await waitExited(id);
    expect(s.exitCode).to.equal(0);
    expect(s.reason).to.equal('Completed');
    expect(s.startedAt >= s.createdAt).to.equal(true);
    expect(s.finishedAt >= s.startedAt).to.equal(true);
    expect(s.imageRef).to.contain('sha256:');
  });

  it('reports a failing exit code with reason Error', async function () {
    const { status: s } = await run(['/bin/sh', '-c', 'exit 3']);
    expect(s.exitCode).to.equal(3);
    expect(s.reason).to.equal('Error');
  });

  it('writes the CRI log format: stdout and stderr lines, and a partial last line', async function () {
    const { id } = await run(['/bin/sh', '-c', 'echo hello; echo oops >&2; printf partial']);
    const lines = logOf(id, `c${seq}`).split('\n').filter(Boolean);
    const re = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) (.*)$/;
    const parsed = lines.map((l) => re.exec(l)?.slice(2));
    expect(parsed).to.deep.include.members([
      ['stdout', 'F', 'hello'],
      ['stderr', 'F', 'oops'],
      ['stdout', 'P', 'partial'],
    ]);
  });

  it('merges args, env and working dir, and runs as the uid asked for', async function () {
    const { id } = await run(['/bin/sh', '-c'], {
      args: ['echo "$FOO $SKIFF_TEST"; pwd; id -u; id -g'],
      envs: [{ key: 'FOO', value: Buffer.from('bar') }],
      workingDir: '/tmp',
      linux: { securityContext: { runAsUser: { value: 1000n }, runAsGroup: { value: 2000n } } },
    });
    expect(logOf(id, `c${seq}`)).to.match(/F bar 1\n.*F \/tmp\n.*F 1000\n.*F 2000\n/s);
  });

  it("runs as the image's user by name, with its groups", async function () {
    const { id } = await run(['/bin/id'], {}, userImage);
    expect(logOf(id, `c${seq}`)).to.contain('uid=1000(skiffuser) gid=1000(skiffgroup) groups=1000(skiffgroup),2000(extra)');
  });

  it("sees the pod's hostname, hosts and resolv.conf", async function () {
    const { id } = await run(['/bin/sh', '-c', 'hostname; cat /etc/resolv.conf; grep ctr-pod /etc/hosts']);
    const log = logOf(id, `c${seq}`);
    expect(log).to.contain('F ctr-pod\n');
    expect(log).to.contain('F nameserver 10.96.0.10');
    expect(log).to.match(/F \d+\.\d+\.\d+\.\d+\tctr-pod/);
  });

  it('mounts a host dir read-only', async function () {
    const host = mkdtempSync(join(tmpdir(), 'skiff-ro-'));
    writeFileSync(join(host, 'x'), 'from the host\n');
    try {
      const { id, status: s } = await run(['/bin/sh', '-c', 'cat /data/x; touch /data/y'], {
        mounts: [{ containerPath: '/data', hostPath: host, readonly: true }],
      });
      expect(logOf(id, `c${seq}`)).to.contain('F from the host');
      expect(s.exitCode).to.not.equal(0);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('lets two containers of a pod talk over localhost', async function () {
    const server = await create({ command: ['/bin/sh', '-c', 'echo hi-from-server | nc -l -p 7070'] });
    await start(server);
    await sleep(200);
    const { id } = await run(['/bin/sh', '-c', 'nc 127.0.0.1 7070 </dev/null']);
    expect(logOf(id, `c${seq}`)).to.contain('F hi-from-server');
    await waitExited(server);
  });

  it('shares the pod IPC namespace; a container with its own PID namespace is pid 1 in it', async function () {
    const a = await create({ command: ['/bin/sleep', '600'] });
    const b = await create({ command: ['/bin/sleep', '600'], linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } });
    await start(a);
    await start(b);
    const ipc = async (id: string) => (await exec(id, ['/bin/readlink', '/proc/self/ns/ipc'])).stdout.toString();
    expect(await ipc(a)).to.equal(await ipc(b));
    expect((await exec(b, ['/bin/cat', '/proc/1/cmdline'])).stdout.toString()).to.equal('/bin/sleep\x00600\x00');
    expect((await exec(a, ['/bin/cat', '/proc/1/comm'])).stdout.toString()).to.equal('skiff-pod-init\n');
    const verbose = await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId: b, verbose: true });
    const info = JSON.parse(verbose.info.info ?? '{}') as { pid: number; runtimeSpec: { process: { args: string[] } } };
    expect(info.pid).to.be.greaterThan(1);
    expect(info.runtimeSpec.process.args).to.deep.equal(['/bin/sleep', '600']);
    for (const id of [a, b]) await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
  });

  it("puts the container's CPU and memory limits on its cgroup", async function () {
    const id = await create({
      command: ['/bin/sleep', '600'],
      linux: { resources: { cpuShares: 512n, cpuQuota: 50000n, cpuPeriod: 100000n, memoryLimitInBytes: 64n << 20n } },
    });
    const verbose = await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId: id, verbose: true });
    const cgroup = (JSON.parse(verbose.info.info ?? '{}') as { cgroup: string }).cgroup;
    const read = (ctl: string, file: string) => readFileSync(join('/sys/fs/cgroup', ctl, cgroup, file), 'utf8').trim();
    expect(read('memory', 'memory.limit_in_bytes')).to.equal(String(64 << 20));
    expect(read('cpu', 'cpu.shares')).to.equal('512');
    expect(read('cpu', 'cpu.cfs_quota_us')).to.equal('50000');
    await start(id);
    await call(d.runtime, 'updateContainerResources', {
      containerId: id,
      linux: LinuxContainerResources.fromPartial({ cpuShares: 256n, memoryLimitInBytes: 128n << 20n }),
      annotations: {},
    });
    expect(read('memory', 'memory.limit_in_bytes')).to.equal(String(128 << 20));
    expect(read('cpu', 'cpu.shares')).to.equal('256');
    await call(d.runtime, 'removeContainer', { containerId: id });
  });

  it('reports a container the kernel killed for memory as OOMKilled', async function () {
    const { status: s } = await run(['/bin/sh', '-c', 'x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done'], {
      linux: { resources: { memoryLimitInBytes: 16n << 20n, memorySwapLimitInBytes: 16n << 20n } },
    });
    expect(s.reason).to.equal('OOMKilled');
    expect(s.exitCode).to.equal(137);
  });

  it('execs in a running container: output, exit code, and a timeout that leaves nothing behind', async function () {
    const id = await create({ command: ['/bin/sleep', '600'] });
    await start(id);
    const r = await exec(id, ['/bin/sh', '-c', 'echo out; echo err >&2; hostname; exit 7']);
    expect(r.stdout.toString()).to.equal('out\nctr-pod\n');
    expect(r.stderr.toString()).to.equal('err\n');
    expect(r.exitCode).to.equal(7);
    await expectCode(exec(id, ['/bin/sleep', '30'], 1), grpcStatus.DEADLINE_EXCEEDED);
    // The timed-out command is killed with everything it started (a zombie for a moment at most).
    let left = '';
    for (let i = 0; i < 40; i++) {
      left = (await exec(id, ['/bin/sh', '-c', "ps -o stat,args | grep 'sleep 30' | grep -v grep | grep -v '^Z' || true"])).stdout.toString();
      if (left === '') break;
      await sleep(50);
    }
    expect(left).to.equal('');
    await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
    expect((await waitExited(id)).exitCode).to.equal(137);
  });

  it('stops with the stop signal, then SIGKILL after the grace period', async function () {
    const polite = await create({ command: ['/bin/sleep', '600'] });
    await start(polite);
    await call(d.runtime, 'stopContainer', { containerId: polite, timeout: 10n });
    expect((await waitExited(polite)).exitCode).to.equal(143);
    const stubborn = await create({ command: ['/bin/sh', '-c', "trap '' TERM; while true; do sleep 1; done"] });
    await start(stubborn);
    await sleep(200);
    const t = Date.now();
    await call(d.runtime, 'stopContainer', { containerId: stubborn, timeout: 1n });
    expect(Date.now() - t).to.be.within(900, 8000);
    expect((await waitExited(stubborn)).exitCode).to.equal(137);
    await call(d.runtime, 'stopContainer', { containerId: stubborn, timeout: 1n });
  });

  it('reopens its log on ReopenContainerLog, as kubelet rotates logs', async function () {
    const id = await create({ command: ['/bin/sh', '-c', 'echo one; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo two; sleep 600'] });
    const name = `c${seq}`;
    await start(id);
    const path = join(logDir, `${name}.log`);
    for (let i = 0; i < 100 && !logOf(id, name).includes('one'); i++) await sleep(20);
    renameSync(path, `${path}.1`);
    await call(d.runtime, 'reopenContainerLog', { containerId: id });
    await exec(id, ['/bin/touch', '/tmp/go']);
    for (let i = 0; i < 100 && !(existsSync(path) && logOf(id, name).includes('two')); i++) await sleep(20);
    expect(readFileSync(`${path}.1`, 'utf8')).to.contain('F one').and.not.contain('two');
    expect(logOf(id, name)).to.contain('F two');
    await call(d.runtime, 'stopContainer', { containerId: id, timeout: 0n });
  });

  it('refuses an AppArmor profile on a node without AppArmor, and bad input, leaving nothing', async function () {
    const before = (await call<object, { containers: unknown[] }>(d.runtime, 'listContainers', {})).containers.length;
    const e = await expectCode(
      create({ command: ['/bin/true'], linux: { securityContext: { apparmor: { profileType: 2, localhostRef: 'my-profile' } } } }),
      grpcStatus.INVALID_ARGUMENT,
    );
    expect(e.details).to.contain('my-profile');
    await expectCode(create({ command: ['/bin/true'], linux: { securityContext: { apparmorProfile: 'bogus' } } }), grpcStatus.INVALID_ARGUMENT);
    await expectCode(create({ command: ['/bin/true'] }, `${reg.host}/skiff-test/not-pulled:1.0`), grpcStatus.NOT_FOUND);
    await expectCode(create({ command: ['/bin/true'], mounts: [{ containerPath: 'relative', hostPath: '/tmp' }] }), grpcStatus.INVALID_ARGUMENT);
    expect((await call<object, { containers: unknown[] }>(d.runtime, 'listContainers', {})).containers.length).to.equal(before);
    expect(readdirSync(join(d.state, 'containers')).length).to.equal(before);
    const { status: s } = await run(['/bin/true'], { linux: { securityContext: { apparmorProfile: 'runtime/default' } } });
    expect(s.exitCode).to.equal(0);
  });

  it('confines a RuntimeDefault container with seccomp: no unshare, no mount, no clock change', async function () {
    const probe = 'unshare -n true; echo unshare=$?; mount -t tmpfs x /tmp; echo mount=$?; date -s 2020-01-01 >/dev/null; echo date=$?; echo ok';
    const confined = await run(['/bin/sh', '-c', probe], { linux: { securityContext: { seccomp: { profileType: 0 } } } });
    const log = logOf(confined.id, `c${seq}`);
    expect(log).to.contain('F ok');
    for (const what of ['unshare', 'mount']) expect(log, log).to.match(new RegExp(`F ${what}=[1-9]`));
    expect(log).to.contain('unshare(0x40000000): Operation not permitted');
    // busybox date exits 0 even when it cannot set the clock; its message is the proof.
    expect(log).to.contain("can't set date: Operation not permitted");
    // The same commands get further without the filter (capabilities alone still stop them).
    const privileged = await run(['/bin/sh', '-c', 'unshare -n true; echo unshare=$?; mount -t tmpfs x /tmp; echo mount=$?; ls /dev/loop-control'], {
      linux: { securityContext: { privileged: true, seccomp: { profileType: 0 } } },
    });
    // Privileged: no filter, the daemon's capabilities, and the host's devices.
    expect(logOf(privileged.id, `c${seq}`)).to.contain('F unshare=0').and.to.contain('F mount=0').and.to.contain('F /dev/loop-control');
    // An exec is held as tightly as the container: the same filter and the default capabilities.
    const sleeper = await create({ command: ['/bin/sleep', '600'], linux: { securityContext: { seccomp: { profileType: 0 } } } });
    await start(sleeper);
    const inside = await exec(sleeper, ['/bin/sh', '-c', 'unshare -n true 2>/dev/null; echo unshare=$?; grep CapEff /proc/self/status']);
    expect(inside.stdout.toString()).to.match(/unshare=[1-9]/).and.to.match(/CapEff:\s+00000000a80425fb/);
    await call(d.runtime, 'stopContainer', { containerId: sleeper, timeout: 0n });
    // With no_new_privs the filter goes in last, after the switch to the image's user.
    const nnp = await run(['/bin/id', '-u'], { linux: { securityContext: { seccomp: { profileType: 0 }, noNewPrivs: true } } }, userImage);
    expect(nnp.status.exitCode).to.equal(0);
    expect(logOf(nnp.id, `c${seq}`)).to.contain('F 1000');
  });

  it('masks /proc/timer_list (this kernel has no /proc/kcore), makes /proc/sys read-only, honours a dropped NET_RAW and a read-only rootfs', async function () {
    const a = await run(['/bin/sh', '-c', 'wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname; echo sys=$?; ping -c1 -W1 127.0.0.1 >/dev/null 2>&1; echo ping=$?']);
    const log = logOf(a.id, `c${seq}`);
    expect(log, log).to.contain('F 0\n');
    expect(log).to.match(/F sys=[1-9]/);
    expect(log).to.contain('F ping=0');
    const noRaw = await run(['/bin/sh', '-c', 'ping -c1 -W1 127.0.0.1 >/dev/null 2>&1; echo ping=$?'], {
      linux: { securityContext: { capabilities: { dropCapabilities: ['NET_RAW'] } } },
    });
    expect(logOf(noRaw.id, `c${seq}`)).to.match(/F ping=[1-9]/);
    const ro = await run(['/bin/sh', '-c', 'touch /x; echo root=$?; touch /dev/shm/x; echo shm=$?'], {
      linux: { securityContext: { readonlyRootfs: true } },
    });
    expect(logOf(ro.id, `c${seq}`)).to.match(/F root=[1-9]/).and.to.contain('F shm=0');
    await expectCode(
      create({ command: ['/bin/true'], linux: { securityContext: { capabilities: { addCapabilities: ['NOT_A_CAP'] } } } }),
      grpcStatus.INVALID_ARGUMENT,
    );
  });

  it('gives a container the CRI devices it asks for, and a device cgroup that allows only those and the defaults', async function () {
    const id = await create({
      command: ['/bin/sh', '-c', 'head -c 4 /dev/myzero | wc -c; mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null; echo mem=$?; sleep 600'],
      devices: [{ containerPath: '/dev/myzero', hostPath: '/dev/zero', permissions: 'rw' }],
    });
    const verbose = await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId: id, verbose: true });
    const cgroup = (JSON.parse(verbose.info.info ?? '{}') as { cgroup: string }).cgroup;
    const list = readFileSync(join('/sys/fs/cgroup/devices', cgroup, 'devices.list'), 'utf8');
    expect(list).to.contain('c 1:5 rw').and.to.contain('c 1:3 rwm').and.to.not.contain('a *:* rwm');
    await start(id);
    const name = `c${seq}`;
    for (let i = 0; i < 100 && !logOf(id, name).includes('mem='); i++) await sleep(20);
    expect(logOf(id, name)).to.contain('F 4\n').and.to.match(/F mem=[1-9]/);
    await call(d.runtime, 'removeContainer', { containerId: id });
    await expectCode(create({ command: ['/bin/true'], devices: [{ containerPath: '/dev/x', hostPath: '/dev/no-such', permissions: 'r' }] }), grpcStatus.NOT_FOUND);
  });

  it('refuses a malformed or missing Localhost seccomp profile at CreateContainer', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-seccomp-'));
    try {
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_NOPE' }));
      let e = await expectCode(create({ command: ['/bin/true'], linux: { securityContext: { seccomp: { profileType: 2, localhostRef: bad } } } }), grpcStatus.INVALID_ARGUMENT);
      expect(e.details).to.contain('defaultAction');
      e = await expectCode(
        create({ command: ['/bin/true'], linux: { securityContext: { seccomp: { profileType: 2, localhostRef: join(dir, 'missing.json') } } } }),
        grpcStatus.NOT_FOUND,
      );
      await expectCode(create({ command: ['/bin/true'], linux: { securityContext: { seccompProfilePath: 'strange/thing' } } }), grpcStatus.INVALID_ARGUMENT);
      const good = join(dir, 'allow.json');
      writeFileSync(good, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
      const { id } = await run(['/bin/sh', '-c', 'mkdir /tmp/x; echo mkdir=$?'], { linux: { securityContext: { seccompProfilePath: `localhost/${good}` } } });
      expect(logOf(id, `c${seq}`)).to.match(/F mkdir=[1-9]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports container and pod stats that agree with the cgroup: memory, cpu, processes, network', async function () {
    const id = await create({ command: ['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=50 2>/dev/null; while true; do :; done'] });
    await start(id);
    await sleep(1500);
    type U = { value: bigint } | undefined;
    const one = await call<object, { stats: { cpu: { usageCoreNanoSeconds: U }; memory: { workingSetBytes: U }; attributes: { id: string } } }>(
      d.runtime, 'containerStats', { containerId: id });
    expect(one.stats.attributes.id).to.equal(id);
    expect(Number(one.stats.cpu.usageCoreNanoSeconds?.value)).to.be.greaterThan(100e6);
    const list = await call<object, { stats: { attributes: { id: string }; cpu: { usageNanoCores: U } }[] }>(
      d.runtime, 'listContainerStats', { filter: { id, podSandboxId: '', labelSelector: {} } });
    expect(list.stats.map((x) => x.attributes.id)).to.deep.equal([id]);
    await sleep(1100);
    const again = await call<object, { stats: { cpu: { usageNanoCores: U } }[] }>(d.runtime, 'listContainerStats', { filter: { id, podSandboxId: '', labelSelector: {} } });
    // A busy loop: close to one core (1e9 nano-cores) once two samples exist.
    expect(Number(again.stats[0]?.cpu.usageNanoCores?.value)).to.be.greaterThan(3e8);
    const pod = await call<object, { stats: { linux: { memory: { workingSetBytes: U }; process: { processCount: U }; network?: { interfaces: { name: string; rxBytes: U }[] }; containers: unknown[] } } }>(
      d.runtime, 'podSandboxStats', { podSandboxId: podId });
    // The pod's /dev/shm tmpfs is charged to the cgroup of the container that wrote it.
    expect(Number(pod.stats.linux.memory.workingSetBytes?.value)).to.be.greaterThan(45e6);
    expect(Number(pod.stats.linux.process.processCount?.value)).to.be.greaterThan(0);
    expect(pod.stats.linux.network?.interfaces.map((i) => i.name)).to.include('eth0');
    expect(pod.stats.linux.containers.length).to.be.greaterThan(0);
    await call(d.runtime, 'removeContainer', { containerId: id });
  });

  it('refuses to start a container twice, and answers unknown ids with NotFound', async function () {
    const { id } = await run(['/bin/true']);
    await expectCode(start(id), grpcStatus.FAILED_PRECONDITION);
    await expectCode(status('f'.repeat(64)), grpcStatus.NOT_FOUND);
    await call(d.runtime, 'removeContainer', { containerId: 'f'.repeat(64) });
  });

  it('keeps containers running through a kill -9 of the daemon, and sees exits that happened meanwhile', async function () {
    const long = await create({ command: ['/bin/sleep', '600'] });
    await start(long);
    const short = await create({ command: ['/bin/sh', '-c', 'sleep 1; exit 5'] });
    await start(short);
    d.proc?.kill('SIGKILL');
    await d.stop();
    await sleep(1500);
    await d.start();
    expect((await status(long))?.state).to.equal(ContainerState.CONTAINER_RUNNING);
    const s = await waitExited(short);
    expect(s.exitCode).to.equal(5);
    await call(d.runtime, 'stopContainer', { containerId: long, timeout: 0n });
    expect((await waitExited(long)).state).to.equal(ContainerState.CONTAINER_EXITED);
  });

  it('removes containers idempotently, and the pod with its containers', async function () {
    const ids = (await call<object, { containers: { id: string }[] }>(d.runtime, 'listContainers', {})).containers.map((c) => c.id);
    expect(ids.length).to.be.greaterThan(5);
    await call(d.runtime, 'removeContainer', { containerId: ids[0] });
    await call(d.runtime, 'removeContainer', { containerId: ids[0] });
    await call(d.runtime, 'stopPodSandbox', { podSandboxId: podId });
    await call(d.runtime, 'removePodSandbox', { podSandboxId: podId });
    expect((await call<object, { containers: unknown[] }>(d.runtime, 'listContainers', {})).containers).to.deep.equal([]);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(d.state));
    expect(mounts).to.deep.equal([]);
    // Writable layers live on disk under <root>/writable, and go with their containers.
    expect(readdirSync(join(d.root, 'writable'))).to.deep.equal([]);
    const fs = await call<object, { containerFilesystems: { fsId?: { mountpoint: string } }[] }>(d.images, 'imageFsInfo', {});
    expect(fs.containerFilesystems[0]?.fsId?.mountpoint).to.equal(join(d.root, 'writable'));
  });
});
