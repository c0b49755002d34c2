// A SPDY peer is whoever holds a streaming URL: with kubelet's proxy in between, any user allowed
// `pods/exec` or `pods/portforward` on one pod, whose frames reach skiffd unchanged. Whatever such
// a peer sends, it must cost the daemon a bounded amount of memory and event-loop time, and a
// connection that cannot go on must close.
import { expect } from 'chai';
import { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeHeaderBlock, FrameParser, FrameType, pingFrame, synStreamFrame } from '../../../src/streaming/spdy/frames.js';
import { SpdySession } from '../../../src/streaming/spdy/session.js';
import { duplexPair } from '../../support/socket-pair.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;

/** An uncompressed name/value block: `count` headers all named "a", the first with `nuls` NULs (nuls + 1 values). */
function repeatedNameBlock(count: number, nuls: number): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const parts = [u32(count + 1), u32(1), Buffer.from('a'), u32(nuls), Buffer.alloc(nuls)];
  for (let i = 0; i < count; i++) parts.push(u32(1), Buffer.from('a'), u32(0));
  return Buffer.concat(parts);
}

describe('SPDY: a hostile peer', function () {
  this.timeout(20_000);

  it('whose SYN_STREAM header block is not zlib data gets its connection closed with GOAWAY', async function () {
    const [a, b] = await duplexPair();
    const server = new SpdySession(a, 'server');
    const errors: string[] = [];
    server.on('error', (e) => errors.push(e.message));
    const out: Buffer[] = [];
    b.on('data', (d: Buffer) => out.push(d));
    const closed = new Promise<void>((r) => server.once('close', () => r()));
    const ended = new Promise<void>((r) => b.once('end', () => r()));
    b.write(synStreamFrame(1, Buffer.from('this is not a zlib stream'), false));
    const outcome = await Promise.race([
      Promise.all([closed, ended]).then(() => 'closed' as const),
      new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 3000)),
    ]);
    b.destroy();
    a.destroy();
    // Stuck, every later frame of the connection queues behind the header block forever.
    expect(outcome).to.equal('closed');
    expect(errors).to.have.length(1);
    const frames = new FrameParser().push(Buffer.concat(out));
    expect(frames.map((f) => (f.kind === 'control' ? f.type : -1))).to.deep.equal([FrameType.GOAWAY]);
  });

  it('cannot make one header block cost seconds of event-loop time (one name, many values)', function () {
    // ~118 KiB uncompressed, ~200 bytes deflated: well under the 1 MiB block limit.
    const raw = repeatedNameBlock(1000, 100_000);
    const started = performance.now();
    const headers = decodeHeaderBlock(raw);
    const ms = performance.now() - started;
    expect(headers.get('a')).to.have.length(100_001 + 1000);
    expect(ms, `decoding took ${ms.toFixed(0)} ms`).to.be.below(300);
  });

  it('that sends PINGs and never reads its answers cannot make the server queue them without bound', async function () {
    // The connection as the server sees it when the peer reads nothing: writes are never taken
    // (kernel buffers, which hold a few MiB on loopback, are full from the start).
    const socket = new Duplex({ read() {}, write() {} });
    const server = new SpdySession(socket, 'server');
    server.on('error', () => {});
    gc();
    const before = process.memoryUsage().heapUsed;
    // 200,000 PINGs: 2.4 MB on the wire. The peer's pings are odd; the server echoes each one.
    const ping = pingFrame(1);
    socket.push(Buffer.concat(Array.from({ length: 200_000 }, () => ping)));
    await new Promise((r) => setTimeout(r, 1000));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    const closed = server.isClosed;
    socket.destroy();
    // Either bound is fine: stop reading while answers are unsent, or close a connection that
    // keeps too many of them waiting (Go's http2 closes past 10,000 queued control frames).
    expect(closed || grown < 32 * MiB, `heap grew by ${(grown / MiB).toFixed(0)} MiB and the connection is open`).to.equal(true);
  });
});
