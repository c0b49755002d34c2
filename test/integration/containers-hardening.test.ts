// What the CRI cannot make a container do, and what it can no longer make go wrong: a volume at
// or under /proc (directly or through a symlink of the image), inheriting the daemon's
// oom_score_adj, asking for capabilities the node does not have, filling the daemon's state dir
// through /etc/hosts, and a RemoveImage that collects the layers of a container being created.
import { expect } from 'chai';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ContainerConfig,
  ContainerState,
  PodSandboxConfig,
  type ContainerStatusResponse,
  type DeepPartial,
} from '../../src/generated/runtime/v1/api.js';
import { startBusyboxDaemon, type BusyboxDaemon } from '../support/busybox-daemon.js';
import { call } from '../support/daemon.js';
import { expectCode, imageSpec } from '../support/grpc.js';
import { buildImage, busyboxLayer, pushImage, ROOT_CONFIG, tarLayer } from '../support/image-builder.js';

const TMPFS_MAGIC = 0x01021994;
const MiB = 1024 * 1024;

describe('container hardening over the CRI: /proc mounts, oom_score_adj, capabilities, pod files, image leases', function () {
  this.timeout(120_000);
  let bb: BusyboxDaemon;
  let logDir: string;
  let hostDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let linksImage: string;
  let raceImage: string;
  let seq = 0;

  before(async function () {
    bb = await startBusyboxDaemon();
    const base = await busyboxLayer({ gzip: true });
    // /etc/sysctl → /proc/sys: a volume at /etc/sysctl/... would land in the container's proc.
    const links = await tarLayer([{ path: 'etc/sysctl', type: 'symlink', linkname: '/proc/sys' }], { gzip: true });
    await pushImage(bb.reg.url, 'skiff-test/links', '1.0', buildImage({ layers: [base, links], config: ROOT_CONFIG }));
    // A layer no other image has (GC removes it with the image), holding what the command needs.
    const own = await tarLayer(
      [
        { path: 'race', type: 'dir' },
        { path: 'race/busybox', type: 'file', content: readFileSync('/bin/busybox'), mode: 0o755 },
        { path: 'race/marker', type: 'file', content: 'layer intact\n' },
      ],
      { gzip: true },
    );
    await pushImage(bb.reg.url, 'skiff-test/race', '1.0', buildImage({ layers: [base, own], config: ROOT_CONFIG }));
    linksImage = `${bb.reg.host}/skiff-test/links:1.0`;
    raceImage = `${bb.reg.host}/skiff-test/race:1.0`;
    await call(bb.d.images, 'pullImage', { image: imageSpec(linksImage) }, 30_000);
    logDir = mkdtempSync(join(tmpdir(), 'skiff-hardening-logs-'));
    hostDir = mkdtempSync(join(tmpdir(), 'skiff-hardening-host-'));
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'hardening-pod', namespace: 'default', uid: `uid-hardening-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    podId = (await call<object, { podSandboxId: string }>(bb.d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
  });
  after(async function () {
    await bb?.close();
    for (const dir of [logDir, hostDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const daemonPid = () => bb.d.proc?.pid ?? 0;

  function config(command: string[], over: DeepPartial<ContainerConfig> = {}): { name: string; config: ContainerConfig } {
    const name = `c${++seq}`;
    return {
      name,
      config: ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
        metadata: { name, attempt: 0 },
        image: { image: bb.image },
        logPath: `${name}.log`,
        command,
        ...over,
      }),
    };
  }

  const create = (c: ContainerConfig) =>
    call<object, { containerId: string }>(bb.d.runtime, 'createContainer', { podSandboxId: podId, config: c, sandboxConfig: podConfig });

  /** Waits for the container to exit; its exit code and log text (prefixes stripped); removes it. */
  async function finish(containerId: string, name: string): Promise<{ exitCode: number; out: string }> {
    for (let i = 0; i < 400; i++) {
      const s = await call<object, ContainerStatusResponse>(bb.d.runtime, 'containerStatus', { containerId, verbose: false });
      if (s.status?.state === ContainerState.CONTAINER_EXITED) {
        await call(bb.d.runtime, 'removeContainer', { containerId });
        const log = readFileSync(join(logDir, `${name}.log`), 'utf8');
        return { exitCode: s.status.exitCode, out: log.split('\n').map((l) => l.split(' ').slice(3).join(' ')).join('\n') };
      }
      await sleep(25);
    }
    throw new Error(`container ${containerId} did not exit`);
  }

  async function output(command: string[], over: DeepPartial<ContainerConfig> = {}): Promise<string> {
    const { name, config: c } = config(command, over);
    const { containerId } = await create(c);
    await call(bb.d.runtime, 'startContainer', { containerId });
    return (await finish(containerId, name)).out;
  }

  async function containersOfPod(): Promise<string[]> {
    const r = await call<object, { containers: { id: string }[] }>(bb.d.runtime, 'listContainers', { filter: { podSandboxId: podId, labelSelector: {} } });
    return r.containers.map((c) => c.id);
  }

  const rootfsMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(bb.d.state, 'containers')));

  it('refuses a volume inside /proc with InvalidArgument naming it, through the image\'s symlinks too, leaving nothing behind', async function () {
    const before = await containersOfPod();
    const mount = (containerPath: string) => ({ containerPath, hostPath: hostDir, readonly: false });
    const direct = await expectCode(create(config(['true'], { mounts: [mount('/proc/sys/kernel')] }).config), grpcStatus.INVALID_ARGUMENT);
    expect(direct.details).to.match(/^mount \/proc\/sys\/kernel: a mount inside \/proc is refused/);
    const viaLink = await expectCode(
      create(config(['true'], { image: { image: linksImage }, mounts: [mount('/etc/sysctl/kernel')] }).config),
      grpcStatus.INVALID_ARGUMENT,
    );
    expect(viaLink.details).to.match(/^mount \/etc\/sysctl\/kernel \(it resolves to \/proc\/sys\/kernel in the image\): a mount inside \/proc is refused/);
    await expectCode(create(config(['true'], { mounts: [mount('/proc')] }).config), grpcStatus.INVALID_ARGUMENT);
    expect(await containersOfPod()).to.deep.equal(before);
    expect(rootfsMounts()).to.deep.equal([]);
    // runc's exceptions stay open (lxcfs binds over /proc/cpuinfo and the like).
    const fake = join(hostDir, 'cpuinfo');
    writeFileSync(fake, 'processor: lxcfs\n');
    expect(await output(['cat', '/proc/cpuinfo'], { mounts: [{ containerPath: '/proc/cpuinfo', hostPath: fake, readonly: true }] })).to.contain(
      'processor: lxcfs',
    );
  });

  it('gives a container the oom_score_adj the CRI asks for, 0 and none included, never the daemon\'s own', async function () {
    // The daemon's score is raised (anyone may raise it); its children inherit it.
    writeFileSync(`/proc/${daemonPid()}/oom_score_adj`, '500');
    const adj = (over: DeepPartial<ContainerConfig>) => output(['cat', '/proc/self/oom_score_adj'], over).then((o) => o.trim());
    expect(await adj({ linux: { resources: { oomScoreAdj: 0n } } })).to.equal('0');
    expect(await adj({})).to.equal('0');
    expect(await adj({ linux: { resources: { oomScoreAdj: 800n } } })).to.equal('800');
    // Below the daemon's 500 but not below 0, the floor no privileged writer lowered: allowed
    // without CAP_SYS_RESOURCE. A negative value needs that capability, which this VM lacks.
    expect(await adj({ linux: { resources: { oomScoreAdj: 100n } } })).to.equal('100');
  });

  it('takes capability ALL, and privileged, to mean the daemon\'s bounding set; drop ALL + add one gives that one', async function () {
    const daemonBnd = /^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${daemonPid()}/status`, 'utf8'))?.[1];
    const caps = async (over: DeepPartial<ContainerConfig>) =>
      (await output(['grep', '-E', '^Cap(Eff|Bnd):', '/proc/self/status'], over)).trim().split('\n').map((l) => l.split('\t')[1]);
    expect(await caps({ linux: { securityContext: { capabilities: { addCapabilities: ['ALL'] } } } })).to.deep.equal([daemonBnd, daemonBnd]);
    expect(await caps({ linux: { securityContext: { privileged: true } } })).to.deep.equal([daemonBnd, daemonBnd]);
    const one = await caps({ linux: { securityContext: { capabilities: { dropCapabilities: ['ALL'], addCapabilities: ['NET_ADMIN'] } } } });
    expect(one).to.deep.equal(['0000000000001000', '0000000000001000']);
    if ((BigInt(`0x${daemonBnd}`) >> 24n) & 1n) return; // a node with CAP_SYS_RESOURCE can give it
    const e = await expectCode(
      create(config(['true'], { linux: { securityContext: { capabilities: { addCapabilities: ['SYS_RESOURCE'] } } } }).config),
      grpcStatus.FAILED_PRECONDITION,
    );
    expect(e.details).to.match(/^capabilities\.add_capabilities: CAP_SYS_RESOURCE is not in this node's bounding set/);
  });

  it('keeps what a container writes into /etc/hosts on a small tmpfs of the pod, off the daemon\'s state dir', async function () {
    const status = await call<object, { info: Record<string, string> }>(bb.d.runtime, 'podSandboxStatus', { podSandboxId: podId, verbose: true });
    const files = (JSON.parse(status.info.info ?? '{}') as { files: string }).files;
    const fs = statfsSync(files);
    expect(fs.type).to.equal(TMPFS_MAGIC);
    expect(fs.blocks * fs.bsize).to.equal(MiB); // sandbox.filesSizeBytes
    const out = await output(['sh', '-c', 'dd if=/dev/zero of=/etc/hosts bs=1M count=100 2>&1; echo "dd=$?"']);
    expect(out).to.contain('No space left on device').and.to.match(/^dd=1$/m);
    // The file the container wrote is the pod's, on that tmpfs: at most its size.
    expect(statSync(join(files, 'hosts')).size).to.be.at.most(MiB);
    expect(statSync(files).dev, 'a filesystem of its own').to.not.equal(statSync(bb.d.state).dev);
  });

  it('never leaves a container without its layers when RemoveImage races CreateContainer', async function () {
    let created = 0;
    let refused = 0;
    for (let i = 0; i < 6; i++) {
      await call(bb.d.images, 'pullImage', { image: imageSpec(raceImage) }, 30_000);
      const { name, config: c } = config(['/race/busybox', 'cat', '/race/marker'], { image: { image: raceImage } });
      const [made, removed] = await Promise.allSettled([create(c), call(bb.d.images, 'removeImage', { image: imageSpec(raceImage) })]);
      expect(removed.status, 'RemoveImage').to.equal('fulfilled');
      if (made.status === 'rejected') {
        // A clean refusal: the image was gone first; nothing was made.
        expect((made.reason as ServiceError).code, (made.reason as ServiceError).details).to.equal(grpcStatus.NOT_FOUND);
        expect((await containersOfPod()).length).to.equal(0);
        refused++;
        continue;
      }
      created++;
      await call(bb.d.runtime, 'startContainer', { containerId: made.value.containerId });
      const r = await finish(made.value.containerId, name);
      expect(r.out, `run ${i}`).to.contain('layer intact');
      expect(r.exitCode).to.equal(0);
    }
    console.log(`      ${created} created, ${refused} refused as the image was gone`);
  });
});
