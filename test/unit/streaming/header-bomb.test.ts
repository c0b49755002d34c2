// A SPDY header block is zlib data from the client: one that inflates to many MiB (a "header
// bomb", ~1000:1) is refused at 1 MiB, and the connection it came on is closed.
import { expect } from 'chai';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../../src/streaming/spdy/dictionary.js';
import { encodeHeaderBlock, FrameParser, FrameType, synStreamFrame } from '../../../src/streaming/spdy/frames.js';
import { HeaderDecompressor } from '../../../src/streaming/spdy/header-zlib.js';
import { SpdySession } from '../../../src/streaming/spdy/session.js';
import { duplexPair } from '../../support/socket-pair.js';

const MiB = 1024 * 1024;
/** Go's http.DefaultMaxHeaderBytes, the limit header-zlib.ts keeps to. */
const MAX_HEADER_BLOCK_BYTES = MiB;

/** A header block whose one value is `mib` MiB of zeros: ~1 KiB compressed per MiB. */
function bomb(mib: number): Buffer {
  const raw = encodeHeaderBlock(new Map([['x-bomb', [Buffer.alloc(mib * MiB).toString('latin1')]]]));
  return zlib.deflateSync(raw, { dictionary: SPDY3_DICTIONARY, level: 9 });
}

describe('SPDY header blocks inflate into a bounded buffer', function () {
  this.timeout(20_000);
  let big: Buffer;
  before(() => {
    big = bomb(128);
  });

  it('refuses a 128 MiB block sent as ~130 KiB, without holding it in memory', async function () {
    expect(big.length).to.be.below(MAX_HEADER_BLOCK_BYTES);
    const d = new HeaderDecompressor();
    const rss = process.memoryUsage().rss;
    let error: Error | undefined;
    await d.run(big).catch((e: Error) => (error = e));
    expect(error?.message).to.equal(`a header block decompresses to more than ${MAX_HEADER_BLOCK_BYTES} bytes`);
    expect(process.memoryUsage().rss - rss).to.be.below(48 * MiB);
    // The inflater is gone: later blocks of that connection fail too, rather than decode garbage.
    let again: Error | undefined;
    await d.run(Buffer.from([0])).catch((e: Error) => (again = e));
    expect(again).to.equal(error);
    d.close();
  });

  it('still reads a block at the limit', async function () {
    const raw = encodeHeaderBlock(new Map([['x', ['y'.repeat(MAX_HEADER_BLOCK_BYTES - 64)]]]));
    expect(raw.length).to.be.at.most(MAX_HEADER_BLOCK_BYTES);
    const d = new HeaderDecompressor();
    expect((await d.run(zlib.deflateSync(raw, { dictionary: SPDY3_DICTIONARY }))).length).to.equal(raw.length);
    d.close();
  });

  it('closes the connection whose SYN_STREAM carries one, with GOAWAY, and opens no stream', async function () {
    const [a, b] = await duplexPair();
    const server = new SpdySession(a, 'server');
    const streams: number[] = [];
    const errors: string[] = [];
    server.on('stream', (s) => streams.push(s.id));
    server.on('error', (e) => errors.push(e.message));
    const out: Buffer[] = [];
    b.on('data', (d: Buffer) => out.push(d));
    const ended = new Promise<void>((r) => b.once('end', () => r()));
    const closed = new Promise<void>((r) => server.once('close', () => r()));
    b.write(synStreamFrame(1, big, false));
    await Promise.all([closed, ended]);
    expect(streams).to.deep.equal([]);
    expect(errors).to.deep.equal([`a header block decompresses to more than ${MAX_HEADER_BLOCK_BYTES} bytes`]);
    const frames = new FrameParser().push(Buffer.concat(out));
    expect(frames.map((f) => (f.kind === 'control' ? f.type : -1))).to.deep.equal([FrameType.GOAWAY]);
    b.destroy();
  });
});

