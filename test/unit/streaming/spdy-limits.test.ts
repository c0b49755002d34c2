// What one SPDY connection may cost the daemon: frames waiting to be handled or to be sent stop
// the reading of the socket, and the peer's open streams are capped.
import { expect } from 'chai';
import { Duplex } from 'node:stream';
import { encodeHeaderBlock, FrameParser, FrameType, pingFrame, RstStatus, synStreamFrame, type Frame } from '../../../src/streaming/spdy/frames.js';
import { HeaderCompressor } from '../../../src/streaming/spdy/header-zlib.js';
import { MAX_CONCURRENT_STREAMS, SpdySession } from '../../../src/streaming/spdy/session.js';
import { duplexPair } from '../../support/socket-pair.js';

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('SPDY: what one connection may cost', function () {
  this.timeout(20_000);

  it('stops reading the socket while many parsed frames wait, and answers them all in the end', async function () {
    const written: Buffer[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk);
        cb();
      },
    });
    const server = new SpdySession(socket, 'server');
    server.on('error', () => {});
    // How far the frames the session has read run ahead of its answers, at worst.
    let read = 0;
    let ahead = 0;
    socket.on('data', (d: Buffer) => {
      read += d.length / 12;
      ahead = Math.max(ahead, read - written.length);
    });
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5000; i++) socket.push(pingFrame(2 * i + 1));
    await until(() => written.length === 5000);
    socket.destroy();
    expect(ahead, 'frames read ahead of their answers').to.be.at.most(1100);
    expect(server.isClosed).to.equal(false);
  });

  it('stops reading the socket while the peer leaves its answers unread', async function () {
    let release: (() => void) | undefined;
    let taken = 0;
    const socket = new Duplex({
      read() {},
      // The first write is never taken until released: the peer does not read.
      write(_chunk: Buffer, _enc, cb) {
        taken++;
        if (!release) release = () => cb();
        else cb();
      },
      highWaterMark: 1,
    });
    const server = new SpdySession(socket, 'server');
    server.on('error', () => {});
    for (let i = 0; i < 3000; i++) {
      socket.push(pingFrame(2 * i + 1));
      await new Promise((r) => setImmediate(r));
    }
    const paused = socket.isPaused();
    release?.();
    await until(() => taken === 3000);
    socket.destroy();
    expect(paused, 'reading stopped').to.equal(true);
    expect(server.isClosed).to.equal(false);
  });

  it(`refuses a stream past ${MAX_CONCURRENT_STREAMS} open ones with RST_STREAM REFUSED_STREAM`, async function () {
    const [a, b] = await duplexPair();
    const server = new SpdySession(a, 'server');
    server.on('error', () => {});
    const opened: number[] = [];
    server.on('stream', (s) => opened.push(s.id));
    const frames: Frame[] = [];
    const parser = new FrameParser();
    b.on('data', (d: Buffer) => frames.push(...parser.push(d)));
    try {
      const deflate = new HeaderCompressor();
      const block = encodeHeaderBlock(new Map([['streamtype', ['data']]]));
      const n = MAX_CONCURRENT_STREAMS + 1;
      for (let i = 0; i < n; i++) b.write(synStreamFrame(2 * i + 1, await deflate.run(block), false));
      deflate.close();
      await until(() => frames.length >= n);
      const last = 2 * (n - 1) + 1;
      const rst = frames.filter((f) => f.kind === 'control' && f.type === FrameType.RST_STREAM);
      expect(opened).to.have.length(MAX_CONCURRENT_STREAMS);
      expect(rst).to.have.length(1);
      const p = (rst[0] as { payload: Buffer }).payload;
      expect([p.readUInt32BE(0), p.readUInt32BE(4)]).to.deep.equal([last, RstStatus.REFUSED_STREAM]);
      expect(server.isClosed).to.equal(false);
    } finally {
      b.destroy();
      a.destroy();
    }
  });
});
