// Pod sandboxes over the CRI socket, on the real kernel: pinned namespaces, the built-in bridge
// (this daemon's own bridge, /24 and iptables chains), hostPorts, files, lifecycle and leaks.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  NamespaceMode,
  PodSandboxConfig,
  PodSandboxState,
  Protocol,
  type DeepPartial,
  type ListPodSandboxResponse,
  type PodSandboxStatusResponse,
  type RunPodSandboxResponse,
} from '../../src/generated/runtime/v1/api.js';
import { expectCode } from '../support/grpc.js';
import { call, TestDaemon } from '../support/daemon.js';

const run = promisify(execFile);

let seq = 0;

function podConfig(over: DeepPartial<PodSandboxConfig> = {}, name = `pod${++seq}`): PodSandboxConfig {
  return PodSandboxConfig.fromPartial<DeepPartial<PodSandboxConfig>>({
    metadata: { name, namespace: 'default', uid: `uid-${name}-${process.pid}`, attempt: 0 },
    hostname: name,
    logDirectory: '/var/log/pods/x',
    labels: { app: name, tier: 'test' },
    annotations: { 'skiff.test/anno': 'yes' },
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } },
    ...over,
  });
}


/** Runs node inside a netns: the test's stand-in for a container process. */
function inNetns(netns: string, script: string, timeoutMs = 5000) {
  return run('nsenter', [`--net=${netns}`, process.execPath, '-e', script], { timeout: timeoutMs });
}

describe('pod sandboxes over the CRI socket', function () {
  this.timeout(60_000);
  let d: TestDaemon;
  const runPod = async (cfg: PodSandboxConfig, handler = '') =>
    (await call<object, RunPodSandboxResponse>(d.runtime, 'runPodSandbox', { config: cfg, runtimeHandler: handler })).podSandboxId;
  const status = (id: string, verbose = true) =>
    call<object, PodSandboxStatusResponse>(d.runtime, 'podSandboxStatus', { podSandboxId: id, verbose });
  const info = async (id: string) => JSON.parse((await status(id)).info.info ?? '{}') as { netns: string; pid: number; cgroup: string; files: string; shm: string };
  const stop = (id: string) => call(d.runtime, 'stopPodSandbox', { podSandboxId: id });
  const remove = (id: string) => call(d.runtime, 'removePodSandbox', { podSandboxId: id });
  const ipamFiles = () => (existsSync(join(d.root, 'ipam')) ? readdirSync(join(d.root, 'ipam')).filter((f) => /^\d/.test(f)) : []);
  const mountsUnderState = () =>
    readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(d.state));

  /** Everything a removed pod must not leave behind. */
  async function expectNoLeaks(ids: string[]): Promise<void> {
    expect(mountsUnderState(), 'mounts').to.deep.equal([]);
    expect(ipamFiles(), 'ip allocations').to.deep.equal([]);
    // The kernel removes a pod's veth when it tears the netns down, asynchronously (a workqueue):
    // give it a moment rather than expect it at once.
    const vethsLeft = async () => {
      const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
      return ids.filter((id) => links.includes(`sk${id.slice(0, 13)}`));
    };
    let left = await vethsLeft();
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await vethsLeft();
    }
    expect(left, 'veths').to.deep.equal([]);
    const nat = (await run('iptables-save', ['-t', 'nat'])).stdout;
    for (const id of ids) {
      expect(existsSync(`/sys/fs/cgroup/memory/skiff/${id}`), 'cgroup').to.equal(false);
      expect(existsSync(join(d.state, 'sandboxes', id)), 'pod dir').to.equal(false);
    }
    expect(nat.split('\n').filter((l) => l.startsWith(`:${d.net.chainPrefix}-HP-`)), 'hostport chains').to.deep.equal([]);
  }

  before(async function () {
    d = await TestDaemon.create();
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
  });

  it('runs a pod with an address on the bridge, its own namespaces, hostname and files', async function () {
    const cfg = podConfig({ dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] } });
    const id = await runPod(cfg);
    const s = await status(id);
    expect(s.status?.state).to.equal(PodSandboxState.SANDBOX_READY);
    expect(s.status?.metadata).to.deep.equal(cfg.metadata);
    expect(s.status?.labels).to.deep.equal(cfg.labels);
    expect(s.status?.annotations).to.deep.equal(cfg.annotations);
    const ip = s.status?.network?.ip ?? '';
    expect(ip.startsWith(d.net.subnet.split('.').slice(0, 3).join('.') + '.')).to.equal(true);
    const i = await info(id);
    const addr = (await run('nsenter', [`--net=${i.netns}`, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout;
    expect(addr).to.contain(`${ip}/24`);
    const route = (await run('nsenter', [`--net=${i.netns}`, 'ip', 'route'])).stdout;
    expect(route).to.match(/^default via 10\.\d+\.\d+\.1 dev eth0/m);
    const files = i.files;
    expect(readFileSync(join(files, 'resolv.conf'), 'utf8')).to.equal(
      'search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(readFileSync(join(files, 'hosts'), 'utf8')).to.contain(`${ip}\t${cfg.hostname}`);
    expect(readFileSync(join(files, 'hostname'), 'utf8')).to.equal(`${cfg.hostname}\n`);
    const uts = join(d.state, 'ns', id, 'uts');
    expect((await run('nsenter', [`--uts=${uts}`, 'hostname'])).stdout.trim()).to.equal(cfg.hostname);
  });

  it('gives the same pod to a retried RunPodSandbox with the same metadata', async function () {
    const cfg = podConfig();
    const [a, b] = await Promise.all([runPod(cfg), runPod(cfg)]);
    expect(a).to.equal(b);
    expect(await runPod(cfg)).to.equal(a);
  });

  it('lets two pods talk over TCP on their pod IPs', async function () {
    const a = await runPod(podConfig());
    const b = await runPod(podConfig());
    const ipA = (await status(a)).status?.network?.ip ?? '';
    const server = inNetns(
      (await info(a)).netns,
      `const s=require('net').createServer(c=>{c.end('hello from a');s.close()}).listen(8080,'${ipA}',()=>console.log('up'))`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const client = await inNetns(
      (await info(b)).netns,
      `require('net').connect(8080,'${ipA}').on('data',d=>{process.stdout.write(d)}).on('error',e=>{console.error(e.message);process.exit(1)})`,
    );
    expect(client.stdout).to.equal('hello from a');
    await server;
  });

  it('maps a hostPort reachable from 127.0.0.1 and from the bridge address', async function () {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const id = await runPod(podConfig({ portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort, hostIp: '' }] }));
    const ip = (await status(id)).status?.network?.ip ?? '';
    const server = inNetns(
      (await info(id)).netns,
      `let n=0;const s=require('net').createServer(c=>{c.end('ok');if(++n===2)s.close()}).listen(80,'${ip}',()=>console.log('up'))`,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    const gw = d.net.subnet.replace(/\.0\/24$/, '.1');
    for (const host of ['127.0.0.1', gw]) {
      const got = await run(process.execPath, ['-e', `require('net').connect(${hostPort},'${host}').on('data',d=>process.stdout.write(d)).on('error',e=>{console.error(e.message);process.exit(1)})`], { timeout: 5000 });
      expect(got.stdout, host).to.equal('ok');
    }
    await server;
    const other = podConfig({ portMappings: [{ protocol: Protocol.TCP, containerPort: 81, hostPort, hostIp: '' }] });
    const before = ipamFiles().length;
    await expectCode(runPod(other), grpcStatus.FAILED_PRECONDITION);
    expect(ipamFiles().length, 'the failed pod kept no address').to.equal(before);
    expect(readdirSync(join(d.state, 'ns')).length, 'the failed pod kept no namespaces').to.equal(
      (await call<object, ListPodSandboxResponse>(d.runtime, 'listPodSandbox', {})).items.length,
    );
  });

  it('runs a host-network pod in the host namespaces with no address of its own', async function () {
    const id = await runPod(
      podConfig({ linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.NODE } } } }),
    );
    const s = await status(id);
    expect(s.status?.network?.ip).to.equal('');
    expect(s.status?.linux?.namespaces?.options?.network).to.equal(NamespaceMode.NODE);
    expect((await info(id)).netns).to.equal('');
  });

  it('gives a pod that shares its PID namespace an init as pid 1', async function () {
    const id = await runPod(
      podConfig({ linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } } } }),
    );
    const { pid } = await info(id);
    expect(pid).to.be.greaterThan(1);
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).to.match(/^NSpid:\s+\d+\s+1$/m);
  });

  it('refuses bad input cleanly: a host sysctl, an unknown handler, no metadata', async function () {
    const pods = readdirSync(join(d.state, 'ns')).length;
    const ips = ipamFiles().length;
    let e = await expectCode(runPod(podConfig({ linux: { sysctls: { 'kernel.hostname': 'x' } } })), grpcStatus.INVALID_ARGUMENT);
    expect(e.details).to.contain('kernel.hostname');
    e = await expectCode(runPod(podConfig(), 'no-such-handler'), grpcStatus.INVALID_ARGUMENT);
    expect(e.details).to.contain('no-such-handler');
    await expectCode(runPod(PodSandboxConfig.fromPartial({})), grpcStatus.INVALID_ARGUMENT);
    expect(readdirSync(join(d.state, 'ns')).length).to.equal(pods);
    expect(ipamFiles().length).to.equal(ips);
  });

  it('applies namespaced sysctls inside the pod only', async function () {
    const id = await runPod(podConfig({ linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1' } } }));
    const got = (await run('nsenter', [`--net=${(await info(id)).netns}`, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'])).stdout.trim();
    expect(got).to.equal('1');
  });

  it('lists pods by id prefix, state and labels', async function () {
    const id = await runPod(podConfig({}, 'listed'));
    const list = async (filter: object) => (await call<object, ListPodSandboxResponse>(d.runtime, 'listPodSandbox', { filter })).items.map((p) => p.id);
    expect(await list({ id: id.slice(0, 12), labelSelector: {} })).to.deep.equal([id]);
    expect(await list({ id: '', labelSelector: { app: 'listed' } })).to.deep.equal([id]);
    expect(await list({ id: '', labelSelector: { app: 'listed', tier: 'nope' } })).to.deep.equal([]);
    await stop(id);
    expect(await list({ id: '', state: { state: PodSandboxState.SANDBOX_NOTREADY }, labelSelector: { app: 'listed' } })).to.deep.equal([id]);
    expect(await list({ id: '', state: { state: PodSandboxState.SANDBOX_READY }, labelSelector: { app: 'listed' } })).to.deep.equal([]);
  });

  it('answers Status of an unknown pod with NotFound, and Stop/Remove of one with success', async function () {
    await expectCode(status('f'.repeat(64)), grpcStatus.NOT_FOUND);
    await stop('f'.repeat(64));
    await remove('f'.repeat(64));
  });

  it('stops (freeing the address) and removes every pod, idempotently, leaving nothing behind', async function () {
    const ids = (await call<object, ListPodSandboxResponse>(d.runtime, 'listPodSandbox', {})).items.map((p) => p.id);
    expect(ids.length).to.be.greaterThan(5);
    const withIp = ids[0] as string;
    await stop(withIp);
    await stop(withIp);
    expect((await status(withIp)).status?.state).to.equal(PodSandboxState.SANDBOX_NOTREADY);
    for (const id of ids) {
      await remove(id);
      await remove(id);
    }
    expect((await call<object, ListPodSandboxResponse>(d.runtime, 'listPodSandbox', {})).items).to.deep.equal([]);
    await expectNoLeaks(ids);
  });

  it('leaves nothing behind after 200 pod lifecycles, ten at a time', async function () {
    this.timeout(180_000);
    const ids: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const withPort = i === 0;
          const id = await runPod(
            podConfig(
              withPort ? { portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 30000 + batch, hostIp: '' }] } : {},
              `cycle-${batch}-${i}`,
            ),
          );
          ids.push(id);
          await stop(id);
          await remove(id);
        }),
      );
    }
    expect(new Set(ids).size).to.equal(200);
    expect((await call<object, ListPodSandboxResponse>(d.runtime, 'listPodSandbox', {})).items).to.deep.equal([]);
    await expectNoLeaks(ids);
  });

  it('keeps pods through a kill -9 of the daemon, and stops and removes them after the restart', async function () {
    const id = await runPod(podConfig({ portMappings: [{ protocol: Protocol.UDP, containerPort: 53, hostPort: 40000 + Math.floor(Math.random() * 20000), hostIp: '' }] }));
    const before = await status(id);
    d.proc?.kill('SIGKILL');
    await d.stop();
    await d.start();
    const after = await status(id);
    expect(after.status?.state).to.equal(PodSandboxState.SANDBOX_READY);
    expect(after.status?.network?.ip).to.equal(before.status?.network?.ip);
    const addr = (await run('nsenter', [`--net=${(await info(id)).netns}`, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout;
    expect(addr).to.contain(before.status?.network?.ip);
    await stop(id);
    await remove(id);
    await expectNoLeaks([id]);
  });
});
