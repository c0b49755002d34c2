// CNI mode through the daemon: NetworkReady=false until a config appears in the watched dir, then
// pods get their network from the real reference plugins (bridge + host-local + loopback), and
// DEL frees it. The bridge plugin runs with isGateway and ipMasq off: nothing reaches outside.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  PodSandboxConfig,
  type PodSandboxStatusResponse,
  type RunPodSandboxResponse,
  type StatusResponse,
} from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';

const quiet = (...argv: string[]) => {
  try {
    execFileSync(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
  } catch {
    // already gone
  }
};

describe('pod sandboxes in CNI mode', function () {
  this.timeout(60_000);
  const tag = randomBytes(3).toString('hex');
  const bridge = `sktn${tag}`;
  const subnet = `10.${randomInt(208, 216)}.${randomInt(256)}`;
  let d: TestDaemon;
  let confDir: string;
  let dataDir: string;

  const networkReady = async () => {
    const s = await call<object, StatusResponse>(d.runtime, 'status', {});
    return s.status?.conditions.find((c) => c.type === 'NetworkReady');
  };
  const pod = (name: string) =>
    PodSandboxConfig.fromPartial({ metadata: { name, namespace: 'default', uid: `uid-${name}-${tag}`, attempt: 0 }, hostname: name });

  before(async function () {
    d = await TestDaemon.create();
    confDir = join(d.dir, 'cni');
    dataDir = join(d.dir, 'cni-ipam');
    mkdirSync(confDir);
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(
        d.configPath,
        `network:\n  mode: cni\n  cniConfDir: ${confDir}\n  cniBinDirs: [/usr/lib/cni]\n  bridge: ${d.net.bridge}\n  subnet: ${d.net.subnet}\n  chainPrefix: ${d.net.chainPrefix}\n`,
      ),
    );
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
    quiet('ip', 'link', 'del', bridge);
  });

  it('reports NetworkReady=false and refuses pods until a CNI config exists', async function () {
    const c = await networkReady();
    expect(c?.status).to.equal(false);
    expect(c?.reason).to.equal('NetworkPluginNotReady');
    try {
      await call(d.runtime, 'runPodSandbox', { config: pod('early'), runtimeHandler: '' });
      expect.fail('RunPodSandbox succeeded without a network');
    } catch (e) {
      expect((e as ServiceError).code).to.equal(grpcStatus.FAILED_PRECONDITION);
    }
    expect(readdirSync(join(d.state, 'ns'))).to.deep.equal([]);
  });

  it('picks up a config that appears later and networks pods with it; stop and remove free it', async function () {
    writeFileSync(
      join(confDir, '10-test.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: `skiff-test-${tag}`,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: false,
            ipMasq: false,
            ipam: { type: 'host-local', ranges: [[{ subnet: `${subnet}.0/24` }]], dataDir },
          },
          { type: 'loopback' },
        ],
      }),
    );
    for (let i = 0; i < 50 && !(await networkReady())?.status; i++) await sleep(100);
    expect((await networkReady())?.status).to.equal(true);
    const id = (await call<object, RunPodSandboxResponse>(d.runtime, 'runPodSandbox', { config: pod('cni'), runtimeHandler: '' }))
      .podSandboxId;
    const s = await call<object, PodSandboxStatusResponse>(d.runtime, 'podSandboxStatus', { podSandboxId: id, verbose: false });
    const ip = s.status?.network?.ip ?? '';
    expect(ip.startsWith(`${subnet}.`)).to.equal(true);
    const allocations = () => readdirSync(join(dataDir, `skiff-test-${tag}`)).filter((f) => f.startsWith(subnet));
    expect(allocations()).to.deep.equal([ip]);
    await call(d.runtime, 'stopPodSandbox', { podSandboxId: id });
    expect(allocations()).to.deep.equal([]);
    await call(d.runtime, 'removePodSandbox', { podSandboxId: id });
    expect(existsSync(join(d.state, 'ns', id))).to.equal(false);
  });
});
