// The runner against fake plugins (small node scripts that log what they got and answer as their
// config tells them): chaining, capabilities, error objects, DEL order, cleanup after failed ADD.
import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniRunner } from '../../../../src/network/cni/runner.js';
import { parseCniConfig, type CniNetworkList } from '../../../../src/network/cni/config.js';
import { backgroundContext } from '../../../../src/core/context.js';
import { SkiffError } from '../../../../src/core/errors.js';
import { silentLogger } from '../../../../src/log/logger.js';

const PLUGIN = `#!${process.execPath}
const fs = require('fs');
const conf = JSON.parse(fs.readFileSync(0, 'utf8'));
const cmd = process.env.CNI_COMMAND;
const self = require('path').basename(process.argv[1]);
const env = {};
for (const k of Object.keys(process.env)) if (k.startsWith('CNI_')) env[k] = process.env[k];
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ plugin: self, cmd, env, conf }) + '\\n');
if (cmd === 'VERSION') { process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: self === 'new' ? ['1.0.0', '1.1.0'] : ['1.0.0'] })); process.exit(0); }
if (conf.failOn === cmd) { process.stdout.write(JSON.stringify({ cniVersion: '1.0.0', code: conf.code || 7, msg: 'told to fail', details: 'on ' + cmd })); process.exit(1); }
if (conf.crashOn === cmd) { process.stderr.write('segfault, sort of'); process.exit(2); }
if (cmd === 'ADD') process.stdout.write(JSON.stringify(conf.result || conf.prevResult));
`;

const RESULT = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1', interface: 0 }],
};

describe('network/cni/runner', function () {
  let dir: string;
  let log: string;
  let runner: CniRunner;
  const ctx = backgroundContext(silentLogger());
  const att = {
    containerId: 'c1',
    netns: '/run/netns/x',
    ifName: 'eth0',
    args: { K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p', K8S_POD_INFRA_CONTAINER_ID: 'c1' },
    runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
  };
  const calls = async () =>
    (await readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { plugin: string; cmd: string; env: Record<string, string>; conf: Record<string, unknown> });
  const network = (plugins: object[], cniVersion = '1.0.0'): CniNetworkList =>
    parseCniConfig(JSON.stringify({ cniVersion, name: 'testnet', plugins }), 'test.conflist');

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'skiff-cnirun-'));
    log = join(dir, 'log');
    for (const name of ['first', 'second', 'new']) {
      await writeFile(join(dir, name), PLUGIN);
      await chmod(join(dir, name), 0o755);
    }
    runner = new CniRunner(['/nonexistent', dir], { env: { PATH: process.env.PATH, FAKE_LOG: log } });
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('chains ADD through the plugins with prevResult and filtered runtimeConfig', async function () {
    const list = network([{ type: 'first', result: RESULT }, { type: 'second', capabilities: { portMappings: true } }]);
    const r = await runner.add(ctx, list, att);
    expect(r.ips[0]).to.deep.equal({ address: '10.9.0.2/24', gateway: '10.9.0.1', interface: 0 });
    expect(r.raw).to.deep.equal(RESULT);
    const [a, b] = await calls();
    expect(a?.env).to.deep.equal({
      CNI_COMMAND: 'ADD',
      CNI_PATH: `/nonexistent:${dir}`,
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=c1',
    });
    expect(a?.conf).to.not.have.property('runtimeConfig');
    expect(a?.conf).to.not.have.property('prevResult');
    expect(b?.conf.prevResult).to.deep.equal(RESULT);
    expect(b?.conf.runtimeConfig).to.deep.equal({ portMappings: att.runtimeConfig.portMappings });
  });

  it('turns a plugin error object into a SkiffError naming the plugin, and DELs everything after a failed ADD', async function () {
    const list = network([{ type: 'first', result: RESULT }, { type: 'second', failOn: 'ADD', code: 11 }]);
    try {
      await runner.add(ctx, list, att);
      expect.fail('ADD succeeded');
    } catch (e) {
      expect((e as SkiffError).kind).to.equal('Unavailable');
      expect((e as Error).message).to.equal('CNI plugin second (ADD, network testnet) failed (code 11): told to fail; on ADD');
    }
    expect((await calls()).map((c) => `${c.plugin} ${c.cmd}`)).to.deep.equal(['first ADD', 'second ADD', 'second DEL', 'first DEL']);
  });

  it('reports a crash without an error object by its stderr', async function () {
    const list = network([{ type: 'first', crashOn: 'ADD' }]);
    try {
      await runner.add(ctx, list, att);
      expect.fail('ADD succeeded');
    } catch (e) {
      expect((e as SkiffError).kind).to.equal('Internal');
      expect((e as Error).message).to.contain('status 2): segfault, sort of');
    }
  });

  it('DELs in reverse order, keeps going after a failure, then throws it; prevResult from 0.4.0 on', async function () {
    const list = network([{ type: 'first', failOn: 'DEL' }, { type: 'second' }]);
    try {
      await runner.del(ctx, list, att, RESULT);
      expect.fail('DEL succeeded');
    } catch (e) {
      expect((e as Error).message).to.contain('first');
    }
    const c = await calls();
    expect(c.map((x) => `${x.plugin} ${x.cmd}`)).to.deep.equal(['second DEL', 'first DEL']);
    expect(c[0]?.conf.prevResult).to.deep.equal(RESULT);
    await rm(log);
    await runner.del(ctx, network([{ type: 'second' }], '0.3.1'), att, RESULT);
    expect((await calls())[0]?.conf).to.not.have.property('prevResult');
  });

  it('runs CHECK only for 0.4.0+ lists that do not disable it', async function () {
    await runner.check(ctx, network([{ type: 'first' }], '0.3.1'), att, RESULT);
    expect(await calls()).to.deep.equal([]);
    await runner.check(ctx, network([{ type: 'first' }]), att, RESULT);
    expect((await calls()).map((x) => x.cmd)).to.deep.equal(['CHECK']);
  });

  it('is ready without spawning for pre-1.1 lists, asks STATUS of 1.1 plugins only, and not ready without a binary', async function () {
    expect(await runner.status(ctx, network([{ type: 'first' }]))).to.deep.equal({ ready: true });
    expect(await calls()).to.deep.equal([]);
    expect(await runner.status(ctx, network([{ type: 'first' }, { type: 'new' }], '1.1.0'))).to.deep.equal({ ready: true });
    expect((await calls()).map((x) => `${x.plugin} ${x.cmd}`)).to.deep.equal(['first VERSION', 'new VERSION', 'new STATUS']);
    const failing = await runner.status(ctx, network([{ type: 'new', failOn: 'STATUS', code: 50 }], '1.1.0'));
    expect(failing.ready).to.equal(false);
    expect(failing.message).to.contain('told to fail');
    const missing = await runner.status(ctx, network([{ type: 'absent' }]));
    expect(missing.ready).to.equal(false);
    expect(missing.message).to.contain('CNI plugin "absent" not found');
  });
});
