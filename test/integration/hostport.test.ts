// hostPort mappings against the real kernel: a test bridge with a pod netns behind it, listeners
// inside, HostportManager's rules with a chain prefix of this run's own, and connections from
// 127.0.0.1, from the bridge address, from the node's own address and from a second netns that
// stands in for another host. Nothing leaves the machine: the pod netns has routes only to the
// node's address and to the "other host" link, and forwarding is switched on only for this
// run's two interfaces (never net.ipv4.ip_forward).
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { HostportManager } from '../../src/network/hostport.js';
import { podChain } from '../../src/network/hostport-rules.js';
import { backgroundContext } from '../../src/core/context.js';
import { SkiffError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/log/logger.js';

const run = (...argv: string[]) => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const tryRun = (...argv: string[]) => {
  try {
    execFileSync(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
  } catch {
    // cleanup of something that may not exist
  }
};

function freeSubnetOctets(): [number, number, number] {
  const used = run('ip', '-4', 'addr') + run('ip', '-4', 'route');
  for (;;) {
    const a = randomInt(100, 250);
    const b = randomInt(1, 250);
    const c = b + 1;
    if (!used.includes(`10.${a}.${b}.`) && !used.includes(`10.${a}.${c}.`) && !used.includes(`10.${a}.`)) return [a, b, c];
  }
}

function nodeAddress(): string | undefined {
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(run('ip', '-4', '-o', 'addr', 'show', 'scope', 'global'));
  return m?.[1];
}

function tcpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let data = '';
    s.setTimeout(3000, () => s.destroy(new Error(`timeout talking to ${host}:${port}`)));
    s.on('data', (b: Buffer) => (data += b.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

function udpAsk(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP answer from ${host}:${port}`));
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.send('ping', port, host);
  });
}

const LISTENER = `
const net = require('net'), dgram = require('dgram');
let up = 0; const ready = () => { if (++up === 2) console.log('ready'); };
net.createServer((s) => s.end('tcp-ok from ' + s.remoteAddress)).listen(8080, '0.0.0.0', ready);
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send('udp-ok from ' + r.address, r.port, r.address));
u.bind(5353, '0.0.0.0', ready);
`;

describe('hostPorts with iptables-restore (root, real kernel)', function () {
  this.timeout(30_000);
  const r = randomBytes(3).toString('hex');
  const prefix = `SKT${r.toUpperCase()}`;
  const ns = `skiff-hp-${r}`;
  const clientNs = `skiff-hpc-${r}`;
  const bridge = `skt${r}`;
  const veth = `skv${r}`;
  const clientVeth = `skc${r}`;
  const [a, b, c] = freeSubnetOctets();
  const subnet = `10.${a}.${b}.0/24`;
  const gw = `10.${a}.${b}.1`;
  const podIP = `10.${a}.${b}.2`;
  const hostSide = `10.${a}.${c}.1`;
  const clientIP = `10.${a}.${c}.2`;
  const hostPort = randomInt(20000, 40000);
  const udpPort = hostPort + 1;
  const sandbox = randomBytes(32).toString('hex');
  const ctx = backgroundContext(silentLogger());
  const node = nodeAddress();
  let listener: ChildProcess | undefined;
  let manager: HostportManager;

  before(async function () {
    run('ip', 'link', 'add', bridge, 'type', 'bridge');
    run('ip', 'addr', 'add', `${gw}/24`, 'dev', bridge);
    run('ip', 'link', 'set', bridge, 'up');
    run('ip', 'netns', 'add', ns);
    run('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    run('ip', 'link', 'set', veth, 'master', bridge, 'up');
    run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    run('ip', '-n', ns, 'addr', 'add', `${podIP}/24`, 'dev', 'eth0');
    run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    // The pod can answer the node and the "other host", and nothing else.
    if (node) run('ip', '-n', ns, 'route', 'add', `${node}/32`, 'via', gw);
    run('ip', '-n', ns, 'route', 'add', `10.${a}.${c}.0/30`, 'via', gw);

    run('ip', 'netns', 'add', clientNs);
    run('ip', 'link', 'add', clientVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs);
    run('ip', 'addr', 'add', `${hostSide}/30`, 'dev', clientVeth);
    run('ip', 'link', 'set', clientVeth, 'up');
    run('ip', '-n', clientNs, 'addr', 'add', `${clientIP}/30`, 'dev', 'eth0');
    run('ip', '-n', clientNs, 'link', 'set', 'eth0', 'up');
    run('ip', '-n', clientNs, 'link', 'set', 'lo', 'up');

    listener = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener?.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      listener?.on('exit', (code) => reject(new Error(`listener exited with ${code}`)));
    });

    manager = new HostportManager({ bridge, subnet, chainPrefix: prefix });
    await manager.init(ctx);
  });

  after(async function () {
    await manager?.uninstall(ctx).catch(() => undefined);
    // Belt and braces: whatever of ours iptables still has, by name.
    const leftovers = run('iptables-save').split('\n').filter((l) => l.includes(prefix));
    if (leftovers.length) {
      const tables = ['nat', 'filter'].map((t) => {
        const save = run('iptables-save', '-t', t).split('\n');
        const jumps = save.filter((l) => l.startsWith('-A ') && !l.startsWith(`-A ${prefix}`) && l.includes(prefix));
        const chains = save.filter((l) => l.startsWith(`:${prefix}`)).map((l) => l.slice(1).split(' ')[0]);
        return [`*${t}`, ...jumps.map((j) => `-D ${j.slice(3)}`), ...chains.map((ch) => `:${ch} - [0:0]`), ...chains.map((ch) => `-X ${ch}`), 'COMMIT'];
      });
      execFileSync('iptables-restore', ['--noflush'], { input: tables.flat().join('\n') + '\n' });
    }
    if (listener?.pid) process.kill(listener.pid, 'SIGKILL');
    tryRun('ip', 'netns', 'del', ns);
    tryRun('ip', 'netns', 'del', clientNs);
    tryRun('ip', 'link', 'del', clientVeth);
    tryRun('ip', 'link', 'del', bridge);
    // Nothing of this run is left.
    expect(run('iptables-save')).to.not.contain(prefix);
    // A veth whose peer was in a deleted netns goes with the kernel's asynchronous netns
    // teardown (a workqueue): give it a moment rather than expect it at once.
    for (let i = 0; i < 50 && run('ip', 'link').includes(r); i++) await new Promise((res) => setTimeout(res, 100));
    expect(run('ip', 'link')).to.not.contain(r);
    expect(run('ip', 'netns', 'list')).to.not.contain(r);
  });

  it('installs the shared chains and the jumps from the built-in chains exactly once', async function () {
    await manager.init(ctx); // a second start-up must not add a second copy
    const nat = run('iptables-save', '-t', 'nat');
    const count = (s: string) => nat.split('\n').filter((l) => l === s).length;
    expect(count(`-A PREROUTING -m addrtype --dst-type LOCAL -j ${prefix}-HOSTPORTS`)).to.equal(1);
    expect(count(`-A OUTPUT -m addrtype --dst-type LOCAL -j ${prefix}-HOSTPORTS`)).to.equal(1);
    expect(count(`-A POSTROUTING -j ${prefix}-POSTROUTING`)).to.equal(1);
    expect(nat).to.contain(`-A ${prefix}-POSTROUTING -s ${subnet} ! -d ${subnet} -j MASQUERADE`);
    expect(run('iptables-save', '-t', 'filter')).to.contain(`-A INPUT -j ${prefix}-FIREWALL`);
  });

  it('maps TCP and UDP host ports, reachable on 127.0.0.1 and the bridge address, with one restore', async function () {
    const t0 = process.hrtime.bigint();
    await manager.setPod(ctx, sandbox, podIP, [
      { protocol: 'TCP', hostPort, containerPort: 8080 },
      { protocol: 'UDP', hostPort: udpPort, containerPort: 5353 },
      { protocol: 'TCP', hostPort: 0, containerPort: 9999 },
    ]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`      setPod (one iptables-restore): ${ms.toFixed(1)} ms`);
    expect(run('cat', `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`).trim()).to.equal('1');
    expect(run('iptables-save', '-t', 'nat')).to.contain(`:${podChain(prefix, sandbox)} - [0:0]`);
    // Localhost connections are masqueraded to the bridge address: a 127/8 source cannot reach the pod.
    expect(await tcpGet('127.0.0.1', hostPort)).to.equal(`tcp-ok from ${gw}`);
    expect(await tcpGet(gw, hostPort)).to.equal(`tcp-ok from ${gw}`);
    expect(await udpAsk('127.0.0.1', udpPort)).to.equal(`udp-ok from ${gw}`);
  });

  it("answers on the node's own address", async function () {
    if (!node) this.skip();
    expect(await tcpGet(node as string, hostPort)).to.equal(`tcp-ok from ${node}`);
  });

  it('answers another host, which the pod sees by its own address', async function () {
    // Forwarding for this run's two interfaces only: the input device decides for IPv4.
    writeFileSync(`/proc/sys/net/ipv4/conf/${clientVeth}/forwarding`, '1');
    writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '1');
    const script = `require('net').connect(${hostPort}, '${hostSide}').on('data', (d) => process.stdout.write(d)).on('error', (e) => { console.error(e.message); process.exit(1); })`;
    const out = run('ip', 'netns', 'exec', clientNs, process.execPath, '-e', script);
    expect(out).to.equal(`tcp-ok from ${clientIP}`);
  });

  it('refuses a second pod on a port that is taken, and leaves the rules alone', async function () {
    const before = run('iptables-save', '-t', 'nat');
    const other = randomBytes(32).toString('hex');
    try {
      await manager.setPod(ctx, other, `10.${a}.${b}.3`, [{ protocol: 'TCP', hostPort, containerPort: 80 }]);
      expect.fail('second mapping of one port accepted');
    } catch (e) {
      expect((e as SkiffError).kind).to.equal('FailedPrecondition');
    }
    // The same port on another protocol is fine... and then removed again.
    await manager.setPod(ctx, other, `10.${a}.${b}.3`, [{ protocol: 'UDP', hostPort, containerPort: 80 }]);
    await manager.removePod(ctx, other);
    // Only our lines: other tests on this machine may change the nat table meanwhile.
    const ours = (s: string) => s.split('\n').filter((l) => l.includes(prefix));
    expect(ours(run('iptables-save', '-t', 'nat'))).to.deep.equal(ours(before));
  });

  it('removes the pod: its chain goes, the port stops answering, and removing again is a no-op', async function () {
    const t0 = process.hrtime.bigint();
    await manager.removePod(ctx, sandbox);
    console.log(`      removePod (one iptables-restore): ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    const nat = run('iptables-save', '-t', 'nat');
    expect(nat).to.not.contain(podChain(prefix, sandbox));
    expect(nat).to.not.contain('DNAT');
    await manager.removePod(ctx, sandbox);
    try {
      await tcpGet('127.0.0.1', hostPort);
      expect.fail('still answering');
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
    }
  });

  it('rebuilds from the sandboxes that still run at start-up and drops chains of the others', async function () {
    const gone = randomBytes(32).toString('hex');
    await manager.setPod(ctx, sandbox, podIP, [{ protocol: 'TCP', hostPort, containerPort: 8080 }]);
    await manager.setPod(ctx, gone, `10.${a}.${b}.9`, [{ protocol: 'TCP', hostPort: hostPort + 2, containerPort: 80 }]);
    const restarted = new HostportManager({ bridge, subnet, chainPrefix: prefix });
    await restarted.init(ctx, [{ sandboxId: sandbox, podIP, mappings: [{ protocol: 'TCP', hostPort, containerPort: 8080 }] }]);
    const nat = run('iptables-save', '-t', 'nat');
    expect(nat).to.contain(podChain(prefix, sandbox));
    expect(nat).to.not.contain(podChain(prefix, gone));
    expect(await tcpGet('127.0.0.1', hostPort)).to.equal(`tcp-ok from ${gw}`);
    await restarted.uninstall(ctx);
    expect(run('iptables-save')).to.not.contain(prefix);
  });
});
