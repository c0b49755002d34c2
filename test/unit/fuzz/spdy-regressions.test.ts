// Inputs the fuzz targets found (test/fuzz/targets/spdy.ts), each cut down to what shows the
// problem: costs that grew with the square of the input, and a header block that inflated
// without bound.
import { expect } from 'chai';
import { Duplex } from 'node:stream';
import { FrameError, FrameParser, dataFrame, decodeHeaderBlock, synStreamFrame } from '../../../src/streaming/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor } from '../../../src/streaming/spdy/header-zlib.js';
import { SpdySession } from '../../../src/streaming/spdy/session.js';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('fuzz findings: SPDY', () => {
  it('decodes a header block that repeats one name 30,000 times in linear time', () => {
    const entry = Buffer.concat([u32(1), Buffer.from('a'), u32(1), Buffer.from('b')]);
    const block = Buffer.concat([u32(30_000), ...Array<Buffer>(30_000).fill(entry)]);
    const started = performance.now();
    const headers = decodeHeaderBlock(block);
    expect(headers.get('a')).to.have.length(30_000);
    // Quadratic (a copy of the list per repeat) this took ~14 s here, and 100,000 repeats (one
    // 1 MiB frame) ~150 s of the daemon's event loop; linear it takes a few ms.
    expect(performance.now() - started).to.be.below(1000);
  });

  it('reassembles a frame that arrives a few bytes at a time in linear time', () => {
    const frame = dataFrame(1, Buffer.alloc(512 * 1024, 7), true);
    const parser = new FrameParser();
    const started = performance.now();
    const frames = [];
    for (let off = 0; off < frame.length; off += 8) frames.push(...parser.push(frame.subarray(off, off + 8)));
    expect(frames).to.have.length(1);
    expect(frames[0]!.kind === 'data' && frames[0]!.data.length).to.equal(512 * 1024);
    // Copying the whole buffer on every push took seconds here; each byte is copied once now.
    expect(performance.now() - started).to.be.below(1000);
  });

  it('reassembles a frame that arrives one byte at a time in linear time', () => {
    const frame = dataFrame(1, Buffer.alloc(16 * 1024, 7), true);
    const parser = new FrameParser();
    const started = performance.now();
    const frames = [];
    for (let off = 0; off < frame.length; off++) frames.push(...parser.push(frame.subarray(off, off + 1)));
    expect(frames).to.have.length(1);
    // Reading the 8-byte header by joining every chunk buffered so far was quadratic in the
    // number of chunks: ~17 s for these 16 KiB. Only the chunks it needs are read now.
    expect(performance.now() - started).to.be.below(1000);
  });

  it('refuses a header block that inflates past 1 MiB, before holding it in memory', async () => {
    const c = new HeaderCompressor();
    const bomb = await c.run(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros: ~64 KiB compressed
    c.close();
    expect(bomb.length).to.be.below(128 * 1024);
    const d = new HeaderDecompressor();
    let error: unknown;
    try {
      await d.run(bomb);
    } catch (e) {
      error = e;
    }
    d.close();
    expect(error).to.be.instanceOf(FrameError);
    expect((error as Error).message).to.match(/more than 1048576 bytes/);
  });

  it('ends a session whose client sends such a block with a FrameError', async () => {
    const c = new HeaderCompressor();
    const frame = synStreamFrame(1, await c.run(Buffer.alloc(8 * 1024 * 1024)), false);
    c.close();
    const socket = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    const session = new SpdySession(socket, 'server');
    const errors: Error[] = [];
    session.on('error', (e) => errors.push(e));
    const streams: unknown[] = [];
    session.on('stream', (s) => streams.push(s));
    const closed = new Promise<void>((resolve) => session.once('close', resolve));
    socket.push(frame);
    socket.push(null);
    await closed;
    expect(streams).to.deep.equal([]);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(FrameError);
  });
});
