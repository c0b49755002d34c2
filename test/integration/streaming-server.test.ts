// The streaming server on its own (no daemon): TLS, the timeouts that end a connection, and the
// answers to requests it cannot serve.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { silentLogger } from '../../src/log/logger.js';
import { StreamingServer, type StreamRequest } from '../../src/streaming/server.js';
import { SpdySession } from '../../src/streaming/spdy/session.js';
import { collect, isUpgraded, spdyUpgrade } from '../support/spdy-client.js';

const hello: StreamRequest = {
  kind: 'exec',
  target: 'test',
  streams: { stdin: false, stdout: true, stderr: false, tty: false },
  run: async (s) => {
    s.stdout?.write('hello\n');
    return { exitCode: 0 };
  },
};

async function server(over: Partial<ConstructorParameters<typeof StreamingServer>[0]> = {}): Promise<StreamingServer> {
  const s = new StreamingServer({ address: '127.0.0.1', port: 0, idleTimeoutMs: 60_000, creationTimeoutMs: 5_000, log: silentLogger(), ...over });
  await s.start();
  return s;
}

describe('streaming server', function () {
  this.timeout(20_000);
  const servers: StreamingServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('serves https with the configured certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-tls-'));
    dirs.push(dir);
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const s = await server({ tls: { certFile: cert, keyFile: key } });
    servers.push(s);
    const url = s.url(hello);
    expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/exec\//);
    const upgraded = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const req = https.request(url, {
        method: 'POST',
        rejectUnauthorized: false,
        headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
      });
      req.on('upgrade', (_res, socket) => resolve(socket));
      req.on('response', (res) => reject(new Error(`status ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    const session = new SpdySession(upgraded, 'client');
    const error = await session.openStream({ streamType: 'error' });
    const out = await session.openStream({ streamType: 'stdout' });
    const [o, e] = await Promise.all([collect(out), collect(error)]);
    expect(o.toString()).to.equal('hello\n');
    expect(JSON.parse(e.toString()).status).to.equal('Success');
  });

  it('closes a connection whose client does not open its streams in time, without running anything', async () => {
    let ran = false;
    const s = await server({ creationTimeoutMs: 200 });
    servers.push(s);
    const up = await spdyUpgrade(s.url({ ...hello, run: async () => ((ran = true), { exitCode: 0 }) }), ['v4.channel.k8s.io']);
    if (!isUpgraded(up)) throw new Error('not upgraded');
    await up.session.openStream({ streamType: 'error' });
    await new Promise<void>((r) => up.session.once('close', () => r()));
    expect(ran).to.equal(false);
  });

  it('closes a connection that stays idle past the idle timeout', async () => {
    const s = await server({ idleTimeoutMs: 300 });
    servers.push(s);
    const never = new Promise<never>(() => {});
    const up = await spdyUpgrade(s.url({ ...hello, run: () => never }), ['v4.channel.k8s.io']);
    if (!isUpgraded(up)) throw new Error('not upgraded');
    const t0 = Date.now();
    await new Promise((r) => up.socket.once('close', r));
    expect(Date.now() - t0).to.be.within(200, 5_000);
  });

  it('answers 400 to a request without an upgrade (spending the token) and 404 to an unknown path', async () => {
    const s = await server();
    servers.push(s);
    const url = s.url(hello);
    const get = (u: string) =>
      new Promise<number>((resolve, reject) => http.get(u, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
    expect(await get(url)).to.equal(400);
    expect(await get(url)).to.equal(404);
    expect(await get(url.replace('/exec/', '/attach/'))).to.equal(404);
  });

  it('refuses a WebSocket client offering only protocols it does not speak, and port-forward over WebSocket', async () => {
    const s = await server();
    servers.push(s);
    const status = (url: string, protocols: string[]) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => (ws.close(), resolve(101)));
        ws.on('error', () => {});
      });
    expect(await status(s.url(hello), ['v9.channel.k8s.io'])).to.equal(400);
    expect(await status(s.url({ kind: 'portforward', target: 'p', forward: async () => {} }), ['portforward.k8s.io'])).to.equal(400);
    expect(await status(s.url(hello), ['v4.channel.k8s.io'])).to.equal(101);
  });
});
