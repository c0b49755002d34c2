// The daemon as kubelet and crictl meet it: over the real socket, started from the built binary.
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { uniqueNetwork } from '../support/host-state.js';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  CgroupDriver,
  PodSandboxConfig,
  type RuntimeConfigResponse,
  type StatusResponse,
  type VersionResponse,
} from '../../src/generated/runtime/v1/api.js';
import { expectCode } from '../support/grpc.js';
import { call, runSkiffd, TestDaemon } from '../support/daemon.js';

const O_CLOEXEC = 0o2000000;

describe('skiffd over its CRI socket', function () {
  let d: TestDaemon;

  before(async function () {
    d = await TestDaemon.create('cgroupDriver: systemd\nruntimeHandlers:\n  runc:\n    runtimePath: /usr/sbin/runc\n');
    await d.start();
  });
  after(async function () {
    await d.cleanup();
  });

  it('answers Version with the kubelet API version, its name and the CRI version', async function () {
    const v = await call<object, VersionResponse>(d.runtime, 'version', { version: 'v1' });
    expect(v).to.deep.equal({ version: '0.1.0', runtimeName: 'skiff', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' });
  });

  it('reports RuntimeReady, NetworkReady for the built-in bridge, and the configured handlers in Status', async function () {
    const s = await call<object, StatusResponse>(d.runtime, 'status', { verbose: false });
    const byType = Object.fromEntries((s.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.RuntimeReady?.status).to.equal(true);
    expect(byType.NetworkReady?.status).to.equal(true);
    expect(s.runtimeHandlers.map((h) => h.name)).to.deep.equal(['', 'runc']);
    expect(s.info).to.deep.equal({});
  });

  it('puts the config and versions, as JSON, in verbose Status info', async function () {
    const s = await call<object, StatusResponse>(d.runtime, 'status', { verbose: true });
    const config = JSON.parse(s.info.config ?? '{}') as Record<string, unknown>;
    expect(config.root).to.equal(d.root);
    expect(config.cgroupDriver).to.equal('systemd');
    expect(JSON.parse(s.info.version ?? '{}')).to.include({ runtimeName: 'skiff', runtimeApiVersion: 'v1' });
    expect(JSON.parse(s.info.host ?? '{}')).to.have.property('cgroup');
  });

  it('reports the configured cgroup driver in RuntimeConfig', async function () {
    const r = await call<object, RuntimeConfigResponse>(d.runtime, 'runtimeConfig', {});
    expect(r.linux?.cgroupDriver).to.equal(CgroupDriver.SYSTEMD);
  });

  it('refuses a malformed pod CIDR with InvalidArgument', async function () {
    const e = await expectCode(
      call(d.runtime, 'updateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr: '10.1.0.0/99' } } }),
      grpcStatus.INVALID_ARGUMENT,
    );
    expect(e.details).to.match(/pod CIDR/);
  });

  it('answers an RPC it does not serve yet with UNIMPLEMENTED naming the RPC', async function () {
    const e = await expectCode(call(d.runtime, 'checkpointContainer', { containerId: 'x', location: '/tmp/x', timeout: 0n }), grpcStatus.UNIMPLEMENTED);
    expect(e.details).to.contain('CheckpointContainer');
  });

  it('creates its socket with mode 0660', async function () {
    const st = await stat(d.socket);
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o660);
  });

  it('refuses to start a second daemon on the same state dir, naming the lock', async function () {
    const r = await runSkiffd(d.args(['--socket', join(d.dir, 'other.sock')]));
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/another skiffd \(pid \d+\) holds the lock .*skiffd\.lock/);
  });

  it('refuses a socket path another process is serving', async function () {
    const r = await runSkiffd(['--root', join(d.dir, 'r2'), '--state', join(d.dir, 's2'), '--socket', d.socket]);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.contain('is in use by another process');
  });
});

describe('skiffd start-up and shutdown', function () {
  let d: TestDaemon;
  beforeEach(async function () {
    d = await TestDaemon.create();
  });
  afterEach(async function () {
    await d.cleanup();
  });

  it('moves the built-in network to the pod CIDR kubelet sends, and keeps it across a restart', async function () {
    await d.start();
    // A /24 of this run's own, as kubelet would hand out one per node.
    const podCidr = uniqueNetwork().subnet;
    await call(d.runtime, 'updateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr } } });
    const gw = podCidr.replace(/\.0\/24$/, '.1/24');
    const addrs = () => execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', d.net.bridge]).toString();
    expect(addrs()).to.contain(gw);
    expect(addrs()).to.not.contain(d.net.subnet.replace(/\.0\/24$/, '.1/24'));
    const pod = PodSandboxConfig.fromPartial({ metadata: { name: 'cidr', namespace: 'default', uid: 'uid-cidr', attempt: 0 } });
    const { podSandboxId } = await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: pod, runtimeHandler: '' });
    const st = await call<object, { status?: { network?: { ip: string } } }>(d.runtime, 'podSandboxStatus', { podSandboxId, verbose: false });
    expect(st.status?.network?.ip.startsWith(podCidr.replace(/\.0\/24$/, '.'))).to.equal(true);
    await call(d.runtime, 'removePodSandbox', { podSandboxId });
    expect(await d.stop()).to.equal(0);
    await d.start();
    const s = await call<object, StatusResponse>(d.runtime, 'status', { verbose: true });
    expect(JSON.parse(s.info.runtimeConfig ?? '{}')).to.deep.equal({ podCidr });
    expect(addrs()).to.contain(gw);
  });

  it('replaces a stale socket left by a daemon that died', async function () {
    await mkdir(d.state, { recursive: true });
    // A process killed with SIGKILL while listening leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(d.socket)}, () => console.log('up'))`]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await stat(d.socket)).isSocket()).to.equal(true);
    await d.start();
    const v = await call<object, VersionResponse>(d.runtime, 'version', {});
    expect(v.runtimeName).to.equal('skiff');
  });

  it('exits 0 on SIGTERM, removes its socket and releases the lock', async function () {
    await d.start();
    expect(await d.stop('SIGTERM'), d.log).to.equal(0);
    await stat(d.socket).then(
      () => expect.fail('socket still exists'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
    await d.start();
    expect(await d.stop('SIGINT'), d.log).to.equal(0);
  });

  it('marks the fds it inherited close-on-exec before any helper runs', async function () {
    await d.start([], { inheritedFd: 251 });
    const flags = /^flags:\s+([0-7]+)$/m.exec(await readFile(`/proc/${d.proc?.pid}/fdinfo/251`, 'utf8'))?.[1] ?? '0';
    expect(parseInt(flags, 8) & O_CLOEXEC, `fd 251 flags ${flags}`).to.equal(O_CLOEXEC);
  });

  // vm.memfd_noexec is per pid namespace: set to 2 in one of the daemon's own, the host keeps its value.
  it('refuses to start where executable memfds are forbidden (vm.memfd_noexec=2), naming the sysctl', async function () {
    const setNoexec = ['unshare', '--pid', '--fork', '--', '/bin/sh', '-c', 'echo 2 > /proc/sys/vm/memfd_noexec && exec "$@"', 'sh'];
    const r = await runSkiffd(d.args(), 20_000, setNoexec);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/vm\.memfd_noexec is 2, which forbids executable memfds/);
  });

  it('refuses a file at the socket path that is not a socket', async function () {
    await mkdir(d.state, { recursive: true });
    await writeFile(d.socket, 'not a socket');
    const r = await runSkiffd(d.args());
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('exists and is not a socket');
  });

  for (const [what, yaml, pattern] of [
    ['an unknown key', 'logLevl: debug\n', /logLevl: unknown key/],
    ['a bad enum value', 'cgroupDriver: cgroupv3\n', /cgroupDriver: must be one of cgroupfs, systemd; got "cgroupv3"/],
    ['a relative root', 'root: var/lib/skiff\n', /root: must be an absolute path; got "var\/lib\/skiff"/],
    ['a bad handler path', 'runtimeHandlers:\n  runc:\n    runtimePath: runc\n', /runtimeHandlers\.runc\.runtimePath: must be an absolute path/],
    ['invalid YAML', 'root: [\n', /not valid YAML/],
  ] as const) {
    it(`exits 2 with one line naming ${what} in the config`, async function () {
      await writeFile(d.configPath, yaml);
      const r = await runSkiffd(['--config', d.configPath]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(pattern);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    });
  }

  it('exits 2 with one line on an unknown flag and on a bad flag value', async function () {
    const r = await runSkiffd(['--no-such-flag']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.match(/^skiffd: Unknown option '--no-such-flag'/);
    const r2 = await runSkiffd(['--log-format', 'xml', '--config', d.configPath]);
    expect(r2.code).to.equal(2);
    expect(r2.stderr.trim()).to.equal('skiffd: invalid configuration: logFormat: must be one of text, json; got "xml"');
  });

  it('exits 2 when a config file named on the command line does not exist', async function () {
    const r = await runSkiffd(['--config', join(d.dir, 'missing.yaml')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('cannot read');
  });

  it('drains an in-flight call before exiting on SIGTERM', async function () {
    await d.start();
    // A Status call in flight while SIGTERM arrives still gets its answer or a clean UNAVAILABLE,
    // never a reset connection.
    const pending = call<object, StatusResponse>(d.runtime, 'status', { verbose: true }).then(
      () => 'ok',
      (e: ServiceError) => (e.code === grpcStatus.UNAVAILABLE ? 'unavailable' : `code ${e.code}`),
    );
    d.proc?.kill('SIGTERM');
    expect(await pending).to.be.oneOf(['ok', 'unavailable']);
    const code = await new Promise<number | null>((resolve) =>
      d.proc?.exitCode !== null ? resolve(d.proc?.exitCode ?? null) : d.proc.once('exit', resolve),
    );
    expect(code).to.equal(0);
  });
});
