// Exec, Attach and PortForward end to end: the RPC returns a URL, a SPDY or WebSocket client (as
// kubectl and crictl are) connects to it and talks to a busybox container through the daemon.
import { expect } from 'chai';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import WebSocket from 'ws';
import { ContainerConfig, PodSandboxConfig, type DeepPartial } from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';
import { expectCode } from '../support/grpc.js';
import { startBusyboxDaemon, type BusyboxDaemon } from '../support/busybox-daemon.js';
import { processesRunning, processesWith } from '../support/processes.js';
import { collect, isUpgraded, spdyCommand, spdyUpgrade } from '../support/spdy-client.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('streaming: exec, attach and port-forward', function () {
  this.timeout(60_000);
  let bd: BusyboxDaemon | undefined;
  let d: TestDaemon;
  let logDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let image: string;
  let box: string;
  let seq = 0;

  const create = async (over: DeepPartial<ContainerConfig>) => {
    const name = `s${++seq}`;
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({ metadata: { name, attempt: 0 }, image: { image }, logPath: `${name}.log`, ...over });
    const r = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig });
    await call(d.runtime, 'startContainer', { containerId: r.containerId });
    return r.containerId;
  };
  const execUrl = async (containerId: string, cmd: string[], o: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean } = {}) =>
    (
      await call<object, { url: string }>(d.runtime, 'exec', {
        containerId,
        cmd,
        stdin: o.stdin ?? false,
        stdout: o.stdout ?? true,
        stderr: o.stderr ?? false,
        tty: o.tty ?? false,
      })
    ).url;

  before(async function () {
    bd = await startBusyboxDaemon();
    ({ d, image } = bd);
    logDir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'stream-pod', namespace: 'default', uid: `uid-stream-${process.pid}`, attempt: 0 },
      hostname: 'stream-pod',
      logDirectory: logDir,
    });
    podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
    box = await create({ command: ['/bin/sleep', '3600'] });
  });
  after(async function () {
    await bd?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  describe('exec over SPDY', () => {
    it('returns a URL on the streaming server, on loopback', async () => {
      const url = await execUrl(box, ['true']);
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
    });

    it('carries stdin in, stdout and stderr out, and the exit code in a v4 Status', async () => {
      const url = await execUrl(box, ['/bin/sh', '-c', 'cat; echo oops >&2; exit 3'], { stdin: true, stderr: true });
      const r = await spdyCommand(url, { stdin: 'hello from stdin\n', stderr: true });
      expect(r.protocol).to.equal('v4.channel.k8s.io');
      expect(r.stdout.toString()).to.equal('hello from stdin\n');
      expect(r.stderr.toString()).to.equal('oops\n');
      const status = JSON.parse(r.error);
      expect(status).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode' });
      expect(status.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '3' }]);
    });

    it('reports success as a v4 Status, and nothing at all on the error stream of v2', async () => {
      const ok = await spdyCommand(await execUrl(box, ['/bin/echo', 'hi']), {});
      expect(ok.stdout.toString()).to.equal('hi\n');
      expect(JSON.parse(ok.error)).to.deep.equal({ metadata: {}, status: 'Success' });
      const v2 = await spdyCommand(await execUrl(box, ['/bin/echo', 'hi']), { protocol: 'v2.channel.k8s.io' });
      expect(v2.protocol).to.equal('v2.channel.k8s.io');
      expect(v2.error).to.equal('');
      const v3 = await spdyCommand(await execUrl(box, ['/bin/sh', '-c', 'exit 4']), { protocol: 'v3.channel.k8s.io' });
      expect(v3.error).to.match(/^command terminated with non-zero exit code: .*exit code 4$/);
    });

    it('gives a tty session a terminal of the size the client sends, output on stdout', async () => {
      const url = await execUrl(box, ['/bin/sh', '-c', 'read x; test -t 0 && echo is-a-tty; stty size'], { stdin: true, tty: true });
      const r = await spdyCommand(url, { tty: true, stdin: 'go\n', resize: { Width: 123, Height: 45 }, keepStdinOpen: true });
      const text = r.stdout.toString();
      expect(text).to.contain('is-a-tty\r\n');
      expect(text).to.contain('45 123\r\n');
      expect(JSON.parse(r.error).status).to.equal('Success');
    });

    it('passes 1 MiB through stdin and back intact (a slow reader is waited for, not dropped)', async () => {
      const data = randomBytes(1 << 20);
      const url = await execUrl(box, ['/bin/cat'], { stdin: true });
      const r = await spdyCommand(url, { stdin: data });
      expect(r.stdout.length).to.equal(data.length);
      expect(sha(r.stdout)).to.equal(sha(data));
    });

    it('reports a command that does not exist with exit code 127 and its reason on stderr', async () => {
      const r = await spdyCommand(await execUrl(box, ['/no/such/program'], { stderr: true }), { stderr: true });
      expect(JSON.parse(r.error).details.causes[0].message).to.equal('127');
      expect(r.stderr.toString()).to.match(/no\/such\/program/);
    });

    it('serves a token once: a second connection gets 404, so does a made-up token', async () => {
      const url = await execUrl(box, ['true']);
      await spdyCommand(url, {});
      const again = await spdyUpgrade(url, ['v4.channel.k8s.io']);
      expect(isUpgraded(again) ? 101 : again.status).to.equal(404);
      const made = await spdyUpgrade(url.replace(/[^/]+$/, 'AAAAAAAAAAAAAAAAAAAAAA'), ['v4.channel.k8s.io']);
      expect(isUpgraded(made) ? 101 : made.status).to.equal(404);
    });

    it('refuses a client whose protocols it does not speak with 403, naming its own', async () => {
      const r = await spdyUpgrade(await execUrl(box, ['true']), ['v9.channel.k8s.io']);
      expect(isUpgraded(r)).to.equal(false);
      if (isUpgraded(r)) return;
      expect(r.status).to.equal(403);
      expect(r.headers['x-accepted-stream-protocol-versions']).to.contain('v4.channel.k8s.io');
    });

    it('ends the command when the client goes away mid-session', async () => {
      const marker = `${4000 + (process.pid % 1000)}`;
      const url = await execUrl(box, ['/bin/sleep', marker]);
      const up = await spdyUpgrade(url, ['v4.channel.k8s.io']);
      if (!isUpgraded(up)) throw new Error('no upgrade');
      await up.session.openStream({ streamType: 'error' });
      await up.session.openStream({ streamType: 'stdout' });
      for (let i = 0; i < 100 && processesWith(`sleep ${marker}`).length === 0; i++) await sleep(20);
      expect(processesWith(`sleep ${marker}`)).to.have.length.greaterThan(0);
      up.socket.destroy();
      for (let i = 0; i < 150 && processesWith(`sleep ${marker}`).length > 0; i++) await sleep(20);
      expect(processesWith(`sleep ${marker}`)).to.deep.equal([]);
    });

    it('ends what the command started too, in a new session or double-forked, when the client goes away', async () => {
      const marks = [1, 2, 3].map((i) => `sleep ${6000 + (process.pid % 1000) * 10 + i}`);
      const [a, b, c] = marks;
      const url = await execUrl(box, ['/bin/sh', '-c', `setsid ${a} & (${b} &) ; ${c}`]);
      const up = await spdyUpgrade(url, ['v4.channel.k8s.io']);
      if (!isUpgraded(up)) throw new Error('no upgrade');
      await up.session.openStream({ streamType: 'error' });
      await up.session.openStream({ streamType: 'stdout' });
      const running = () => marks.filter((m) => processesRunning(m).length > 0);
      for (let i = 0; i < 100 && running().length < 3; i++) await sleep(20);
      expect(running()).to.deep.equal(marks);
      up.socket.destroy();
      for (let i = 0; i < 150 && running().length > 0; i++) await sleep(20);
      expect(running()).to.deep.equal([]);
    });
  });

  describe('exec: a client that leaves while its output is held back', () => {
    it('ends the command and its session monitor, and the daemon stops waiting for it', async () => {
      const marker = `skiff-marker-${process.pid}`;
      const monitorsBefore = processesWith('skiff-monitor').length;
      const url = await execUrl(box, ['/bin/yes', marker]);
      const up = await spdyUpgrade(url, ['v4.channel.k8s.io']);
      if (!isUpgraded(up)) throw new Error('no upgrade');
      await up.session.openStream({ streamType: 'error' });
      // Nobody reads stdout: the output backs up to the command, which must then wait.
      await up.session.openStream({ streamType: 'stdout' });
      for (let i = 0; i < 100 && processesWith(marker).length === 0; i++) await sleep(20);
      expect(processesWith(marker)).to.have.length.greaterThan(0);
      await sleep(300);
      up.socket.destroy();
      for (let i = 0; i < 150 && (processesWith(marker).length > 0 || processesWith('skiff-monitor').length > monitorsBefore); i++) await sleep(20);
      expect(processesWith(marker)).to.deep.equal([]);
      expect(processesWith('skiff-monitor').length).to.equal(monitorsBefore);
      // The daemon still serves execs (nothing of it waits on the dead session).
      const r = await spdyCommand(await execUrl(box, ['/bin/echo', 'still here']), {});
      expect(r.stdout.toString()).to.equal('still here\n');
    });
  });

  describe('exec requests the RPC refuses', () => {
    it('refuses no stdio at all, and tty with stderr, as InvalidArgument', async () => {
      await expectCode(execUrl(box, ['true'], { stdout: false }), grpcStatus.INVALID_ARGUMENT);
      await expectCode(execUrl(box, ['true'], { tty: true, stderr: true }), grpcStatus.INVALID_ARGUMENT);
      await expectCode(execUrl(box, []), grpcStatus.INVALID_ARGUMENT);
    });

    it('refuses a stopped container with FailedPrecondition and starts nothing', async () => {
      const id = await create({ command: ['/bin/true'] });
      for (let i = 0; i < 100; i++) {
        const s = await call<object, { status: { state: number } }>(d.runtime, 'containerStatus', { containerId: id });
        if (s.status.state === 2) break;
        await sleep(20);
      }
      const before = processesWith('skiff-monitor').length;
      await expectCode(execUrl(id, ['/bin/echo', 'never']), grpcStatus.FAILED_PRECONDITION);
      await expectCode(call(d.runtime, 'attach', { containerId: id, stdout: true }), grpcStatus.FAILED_PRECONDITION);
      expect(processesWith('skiff-monitor').length).to.equal(before);
      await expectCode(execUrl('no-such-container', ['true']), grpcStatus.NOT_FOUND);
    });
  });

  describe('exec over WebSocket', () => {
    const wsExec = (url: string, protocol: string, send: (ws: WebSocket) => void) =>
      new Promise<{ frames: [number, Buffer][]; protocol: string }>((resolve, reject) => {
        const ws = new WebSocket(url.replace(/^http/, 'ws'), [protocol]);
        const frames: [number, Buffer][] = [];
        ws.on('open', () => send(ws));
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) frames.push([data[0]!, data.subarray(1)]);
          else frames.push([data[0]! - 48, Buffer.from(data.subarray(1).toString(), 'base64')]);
        });
        ws.on('close', () => resolve({ frames, protocol: ws.protocol }));
        ws.on('error', reject);
      });
    const channel = (frames: [number, Buffer][], n: number) => Buffer.concat(frames.filter(([c]) => c === n).map(([, b]) => b)).toString();

    it('speaks v5.channel.k8s.io: stdin ends with the close channel, the exit code comes as a Status', async () => {
      const url = await execUrl(box, ['/bin/sh', '-c', 'cat; exit 2'], { stdin: true });
      const r = await wsExec(url, 'v5.channel.k8s.io', (ws) => {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('over websocket\n')]));
        ws.send(Buffer.from([255, 0]));
      });
      expect(r.protocol).to.equal('v5.channel.k8s.io');
      // kubelet's first message: empty, on the lowest channel it writes.
      expect(r.frames[0]).to.deep.equal([1, Buffer.alloc(0)]);
      expect(channel(r.frames, 1)).to.equal('over websocket\n');
      expect(JSON.parse(channel(r.frames, 3)).details.causes[0].message).to.equal('2');
    });

    it('speaks base64.channel.k8s.io: text messages, a digit for the channel', async () => {
      const url = await execUrl(box, ['/bin/sh', '-c', 'echo out; echo err >&2; exit 1'], { stderr: true });
      const r = await wsExec(url, 'base64.channel.k8s.io', () => {});
      expect(channel(r.frames, 1)).to.equal('out\n');
      expect(channel(r.frames, 2)).to.equal('err\n');
      expect(channel(r.frames, 3)).to.match(/non-zero exit code/);
    });
  });

  describe('attach', () => {
    it('joins two clients to a container echoing its stdin; both see the output', async () => {
      const id = await create({ command: ['/bin/cat'], stdin: true });
      const urlOf = async (stdin: boolean) => (await call<object, { url: string }>(d.runtime, 'attach', { containerId: id, stdin, stdout: true, stderr: true })).url;
      const open = async (url: string, stdin: boolean) => {
        const up = await spdyUpgrade(url, ['v4.channel.k8s.io']);
        if (!isUpgraded(up)) throw new Error(`attach refused: ${up.status}`);
        await up.session.openStream({ streamType: 'error' });
        const si = stdin ? await up.session.openStream({ streamType: 'stdin' }) : undefined;
        const so = await up.session.openStream({ streamType: 'stdout' });
        await up.session.openStream({ streamType: 'stderr' });
        let text = '';
        so.on('data', (b: Buffer) => (text += b.toString()));
        return { up, si, text: () => text };
      };
      const watcher = await open(await urlOf(false), false);
      const writer = await open(await urlOf(true), true);
      await sleep(100);
      writer.si!.write('first line\n');
      for (let i = 0; i < 100 && !(watcher.text().includes('first line') && writer.text().includes('first line')); i++) await sleep(20);
      expect(watcher.text()).to.equal('first line\n');
      expect(writer.text()).to.equal('first line\n');
      watcher.up.socket.destroy();
      writer.up.socket.destroy();
      // Detaching does not stop the container.
      const s = await call<object, { status: { state: number } }>(d.runtime, 'containerStatus', { containerId: id });
      expect(s.status.state).to.equal(1);
    });
  });

  describe('attach: stdin_once and tty', () => {
    const attachUrl = async (containerId: string, o: { stdin: boolean; tty: boolean }) =>
      (await call<object, { url: string }>(d.runtime, 'attach', { containerId, stdin: o.stdin, stdout: true, stderr: !o.tty, tty: o.tty })).url;
    const state = async (id: string) => (await call<object, { status: { state: number; exitCode: number } }>(d.runtime, 'containerStatus', { containerId: id })).status;

    it('closes the container\'s stdin when an attached client ends its stdin, for stdin_once', async () => {
      const id = await create({ command: ['/bin/sh', '-c', 'cat; echo stdin-closed'], stdin: true, stdinOnce: true });
      const r = await spdyCommand(await attachUrl(id, { stdin: true, tty: false }), { stdin: 'once\n', stderr: true });
      expect(r.stdout.toString()).to.equal('once\nstdin-closed\n');
      expect(JSON.parse(r.error).status).to.equal('Success');
      for (let i = 0; i < 100 && (await state(id)).state !== 2; i++) await sleep(20);
      expect(await state(id)).to.include({ state: 2, exitCode: 0 });
    });

    it('leaves the container\'s stdin open when a client ends its stdin without stdin_once', async () => {
      const id = await create({ command: ['/bin/cat'], stdin: true });
      const up = await spdyUpgrade(await attachUrl(id, { stdin: true, tty: false }), ['v4.channel.k8s.io']);
      if (!isUpgraded(up)) throw new Error('attach refused');
      await up.session.openStream({ streamType: 'error' });
      const si = await up.session.openStream({ streamType: 'stdin' });
      const so = await up.session.openStream({ streamType: 'stdout' });
      await up.session.openStream({ streamType: 'stderr' });
      let text = '';
      so.on('data', (b: Buffer) => (text += b.toString()));
      si.end('kept\n');
      for (let i = 0; i < 100 && !text.includes('kept'); i++) await sleep(20);
      await sleep(200);
      expect(text).to.equal('kept\n');
      expect((await state(id)).state).to.equal(1);
      up.socket.destroy();
    });

    it('attaches to a tty container: the window size reaches its terminal', async () => {
      const id = await create({ command: ['/bin/sh', '-c', 'read x; stty size; read y'], stdin: true, tty: true });
      const up = await spdyUpgrade(await attachUrl(id, { stdin: true, tty: true }), ['v4.channel.k8s.io']);
      if (!isUpgraded(up)) throw new Error('attach refused');
      await up.session.openStream({ streamType: 'error' });
      const si = await up.session.openStream({ streamType: 'stdin' });
      const so = await up.session.openStream({ streamType: 'stdout' });
      const rs = await up.session.openStream({ streamType: 'resize' });
      let text = '';
      so.on('data', (b: Buffer) => (text += b.toString()));
      rs.write(JSON.stringify({ Width: 91, Height: 33 }));
      await sleep(100);
      si.write('go\n');
      for (let i = 0; i < 100 && !text.includes('33 91'); i++) await sleep(20);
      expect(text).to.contain('33 91\r\n');
      up.socket.destroy();
    });
  });

  describe('port-forward', () => {
    let pfPod: string;
    before(async () => {
      // busybox nc echoes every connection (-ll: keep listening) through cat.
      await create({ command: ['/bin/nc', '-ll', '-p', '8080', '-e', '/bin/cat'] });
      pfPod = podId;
      await sleep(300);
    });

    const forward = async (url: string, port: number, requests: Buffer[]) => {
      const up = await spdyUpgrade(url, ['portforward.k8s.io']);
      if (!isUpgraded(up)) throw new Error(`port-forward refused: ${up.status}`);
      expect(up.protocol).to.equal('portforward.k8s.io');
      const results = await Promise.all(
        requests.map(async (data, i) => {
          const headers = { port: String(port), requestID: String(i) };
          const error = await up.session.openStream({ ...headers, streamType: 'error' });
          const stream = await up.session.openStream({ ...headers, streamType: 'data' });
          const back = collect(stream);
          const err = collect(error);
          stream.end(data);
          return { data: await back, error: (await err).toString() };
        }),
      );
      up.session.close();
      return results;
    };

    it('carries 1 MiB each way, intact, on two connections at once', async () => {
      const url = (await call<object, { url: string }>(d.runtime, 'portForward', { podSandboxId: pfPod, port: [8080] })).url;
      expect(url).to.match(/\/portforward\//);
      const a = randomBytes(1 << 20);
      const b = randomBytes(1 << 20);
      const [ra, rb] = await forward(url, 8080, [a, b]);
      expect(sha(ra!.data)).to.equal(sha(a));
      expect(sha(rb!.data)).to.equal(sha(b));
      expect(ra!.error).to.equal('');
    });

    it('ends the error stream when the client resets its data stream, though the pod keeps the connection', async () => {
      await create({ command: ['/bin/nc', '-ll', '-p', '8082', '-e', '/bin/sleep', '30'] });
      await sleep(300);
      const url = (await call<object, { url: string }>(d.runtime, 'portForward', { podSandboxId: pfPod, port: [8082] })).url;
      const up = await spdyUpgrade(url, ['portforward.k8s.io']);
      if (!isUpgraded(up)) throw new Error('refused');
      const error = await up.session.openStream({ port: '8082', requestID: '0', streamType: 'error' });
      const data = await up.session.openStream({ port: '8082', requestID: '0', streamType: 'data' });
      const errorEnded = collect(error);
      data.write('x');
      await sleep(200);
      // What kubectl does once either direction of a forwarded connection is done.
      data.reset();
      const t0 = Date.now();
      expect((await errorEnded).toString()).to.equal('');
      expect(Date.now() - t0).to.be.below(3000);
      up.session.close();
    });

    it('gives the client EOF when the pod closes the connection first', async () => {
      await create({ command: ['/bin/nc', '-ll', '-p', '8083', '-e', '/bin/echo', 'from-the-pod'] });
      await sleep(300);
      const url = (await call<object, { url: string }>(d.runtime, 'portForward', { podSandboxId: pfPod, port: [8083] })).url;
      const up = await spdyUpgrade(url, ['portforward.k8s.io']);
      if (!isUpgraded(up)) throw new Error('refused');
      const error = await up.session.openStream({ port: '8083', requestID: '0', streamType: 'error' });
      const data = await up.session.openStream({ port: '8083', requestID: '0', streamType: 'data' });
      // The client never ends its side: the pod's close alone must end the stream.
      const [got, err] = await Promise.all([collect(data), collect(error)]);
      expect(got.toString()).to.equal('from-the-pod\n');
      expect(err.toString()).to.equal('');
      up.session.close();
    });

    it('reports a port nothing listens on through the error stream', async () => {
      const url = (await call<object, { url: string }>(d.runtime, 'portForward', { podSandboxId: pfPod, port: [8081] })).url;
      const [r] = await forward(url, 8081, [Buffer.from('x')]);
      expect(r!.error).to.match(/8081/);
      expect(r!.data.length).to.equal(0);
    });

    it('refuses an unknown pod and a missing id', async () => {
      await expectCode(call(d.runtime, 'portForward', { podSandboxId: 'nope', port: [] }), grpcStatus.NOT_FOUND);
      await expectCode(call(d.runtime, 'portForward', { podSandboxId: '', port: [] }), grpcStatus.INVALID_ARGUMENT);
    });
  });
});
