// Streams an exec or a port-forward will never use are reset, not kept until the connection ends.
import { expect } from 'chai';
import { MAX_PENDING_REQUESTS, servePortForward } from '../../../src/streaming/portforward/spdy-portforward.js';
import { serveSpdyCommand } from '../../../src/streaming/remotecommand/spdy-command.js';
import { SpdySession, type SpdyStream } from '../../../src/streaming/spdy/session.js';
import { duplexPair } from '../../support/socket-pair.js';

/** Whether the stream is closed (the server reset it) within `ms`. */
function closesWithin(s: SpdyStream, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('SPDY handlers: streams nothing will use', function () {
  this.timeout(20_000);

  it('an exec resets a stream opened after its expected streams are all there', async function () {
    const [a, b] = await duplexPair();
    const errors: string[] = [];
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const served = serveSpdyCommand(
      a,
      { protocol: 'v4.channel.k8s.io', streams: { stdin: false, stdout: true, stderr: false, tty: false }, creationTimeoutMs: 5000, onError: (m) => errors.push(m) },
      () => {
        started();
        return new Promise((r) => (release = () => r({ exitCode: 0 })));
      },
    );
    const client = new SpdySession(b, 'client');
    client.on('error', () => {});
    try {
      await client.openStream({ streamType: 'error' });
      await client.openStream({ streamType: 'stdout' });
      await running;
      const extra = await client.openStream({ streamType: 'stdout' });
      expect(await closesWithin(extra, 2000), 'the extra stream was reset').to.equal(true);
      expect(errors.join('\n')).to.match(/unexpected stream "stdout"/);
    } finally {
      release?.();
      b.destroy();
      a.destroy();
      await served;
    }
  });

  it(`a port-forward resets a request's first stream past ${MAX_PENDING_REQUESTS} requests waiting for their second`, async function () {
    const [a, b] = await duplexPair();
    const errors: string[] = [];
    const served = servePortForward(a, { creationTimeoutMs: 30_000, onError: (m) => errors.push(m) }, async () => {});
    const client = new SpdySession(b, 'client');
    client.on('error', () => {});
    try {
      const firsts: SpdyStream[] = [];
      for (let i = 0; i <= MAX_PENDING_REQUESTS; i++) firsts.push(await client.openStream({ streamType: 'error', port: '80', requestID: String(i) }));
      expect(await closesWithin(firsts[MAX_PENDING_REQUESTS]!, 2000), 'the last request was reset').to.equal(true);
      expect(await closesWithin(firsts[0]!, 50), 'the first request is still waiting').to.equal(false);
      expect(errors.join('\n')).to.match(/requests wait for their other stream/);
    } finally {
      b.destroy();
      a.destroy();
      await served;
    }
  });
});
