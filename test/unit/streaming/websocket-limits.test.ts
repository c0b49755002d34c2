// The WebSocket side of the streaming server takes messages from whoever holds an exec or attach
// URL. ws buffers a whole message (and every fragment of one) before it hands it on, up to its
// maxPayload, 100 MiB unless told otherwise: one connection could make the daemon hold 100 MiB,
// and three times that for a base64 protocol. Real clients send stdin in chunks of tens of KiB.
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { silentLogger } from '../../../src/log/logger.js';
import { StreamingServer } from '../../../src/streaming/server.js';

const MiB = 1024 * 1024;

describe('streaming: WebSocket message size', function () {
  this.timeout(20_000);
  let server: StreamingServer;

  beforeEach(async function () {
    server = new StreamingServer({ address: '127.0.0.1', port: 0, idleTimeoutMs: 60_000, creationTimeoutMs: 5_000, log: silentLogger() });
    await server.start();
  });
  afterEach(async function () {
    await server.stop();
  });

  it('closes a connection whose message is over 1 MiB (1009, message too big) before buffering it', async function () {
    let stdinBytes = 0;
    const url = server.url({
      kind: 'exec',
      target: 'c',
      streams: { stdin: true, stdout: true, stderr: false, tty: false },
      run: async (s) => {
        for await (const chunk of s.stdin!) stdinBytes += (chunk as Buffer).length;
        return { exitCode: 0 };
      },
    });
    const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
    // Channel 0 (stdin), then 2 MiB.
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(2 * MiB, 0x61)]));
    const code = await Promise.race([closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 3000))]);
    ws.terminate();
    expect(code, `the message reached stdin (${stdinBytes} bytes) and the connection stayed open`).to.equal(1009);
    expect(stdinBytes).to.equal(0);
  });
});
