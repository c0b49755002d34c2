// SPDY/3.1 framing and header compression: what kubelet's and crictl's SPDY library (moby/
// spdystream) must be able to read from us, and we from it.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../../src/streaming/spdy/dictionary.js';
import {
  FrameParser,
  FrameType,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  goAwayFrame,
  rstStreamFrame,
  synReplyFrame,
  synStreamFrame,
} from '../../../src/streaming/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor } from '../../../src/streaming/spdy/header-zlib.js';
import { SpdySession } from '../../../src/streaming/spdy/session.js';
import { duplexPair } from '../../support/socket-pair.js';

describe('SPDY/3.1', () => {
  it('builds the SPDY/3 header dictionary byte for byte (1423 bytes, pinned by sha256)', () => {
    expect(SPDY3_DICTIONARY.length).to.equal(1423);
    // The digest of the dictionary as the SPDY/3 spec (and Go's spdy package) lists it.
    expect(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex')).to.equal('51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('compresses header blocks as one zlib stream whose first block names the dictionary', async () => {
    const c = new HeaderCompressor();
    const first = await c.run(encodeHeaderBlock(new Map([['streamtype', ['stdout']]])));
    // FDICT is set and the dictionary id is its Adler-32: a peer without it cannot read the block.
    expect(first[1]! & 0x20).to.equal(0x20);
    const adler = first.readUInt32BE(2);
    const d = new HeaderDecompressor();
    expect(decodeHeaderBlock(await d.run(first)).get('streamtype')).to.deep.equal(['stdout']);
    // Later blocks continue the same stream: they decompress only in order, with the same context.
    const second = await c.run(encodeHeaderBlock(new Map([['streamtype', ['stderr']], ['port', ['80']]])));
    expect(decodeHeaderBlock(await d.run(second))).to.deep.equal(new Map([['streamtype', ['stderr']], ['port', ['80']]]));
    expect(() => zlib.inflateSync(second)).to.throw();
    expect(adler).to.equal(adler32(SPDY3_DICTIONARY));
    c.close();
    d.close();
  });

  it('parses frames split at any byte and leaves an incomplete frame for later', () => {
    const bytes = Buffer.concat([dataFrame(1, Buffer.from('hello'), false), rstStreamFrame(3, 5), dataFrame(5, Buffer.alloc(0), true)]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const p = new FrameParser();
      const frames = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
      expect(frames.map((f) => (f.kind === 'data' ? `d${f.streamId}:${f.data}:${f.flags}` : `c${f.type}`))).to.deep.equal(['d1:hello:0', `c${FrameType.RST_STREAM}`, 'd5::1']);
    }
  });

  it('refuses another SPDY version and oversized frames', () => {
    const v2 = synReplyFrame(1, Buffer.alloc(4), false);
    v2.writeUInt16BE(0x8002, 0);
    expect(() => new FrameParser().push(v2)).to.throw(/version 2/);
    const big = dataFrame(1, Buffer.alloc(0), false);
    big.writeUInt32BE(0x00ffffff, 4);
    expect(() => new FrameParser().push(big)).to.throw(/too large/);
  });

  it('keeps several values of a header NUL-separated and names lower-case', () => {
    const block = encodeHeaderBlock(new Map([['StreamType', ['a', 'b']]]));
    expect(decodeHeaderBlock(block)).to.deep.equal(new Map([['streamtype', ['a', 'b']]]));
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).to.throw(/truncated/);
  });

  it('replies to each stream the client opens, carries data both ways and ends with GOAWAY', async () => {
    const [a, b] = await duplexPair();
    const server = new SpdySession(a, 'server');
    const client = new SpdySession(b, 'client');
    const got: string[] = [];
    server.on('stream', (s) => {
      got.push(s.header('streamType') ?? '');
      s.on('data', (d: Buffer) => s.write(Buffer.from(d.toString().toUpperCase())));
      s.on('end', () => s.end());
    });
    const s = await client.openStream({ streamType: 'stdin' });
    const echoed: Buffer[] = [];
    s.on('data', (d: Buffer) => echoed.push(d));
    s.end('abc');
    await new Promise<void>((r) => s.on('end', () => r()));
    expect(got).to.deep.equal(['stdin']);
    expect(Buffer.concat(echoed).toString()).to.equal('ABC');
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    server.close();
    await closed;
  });

  it('answers a stream id that goes backwards with RST_STREAM and keeps the connection', async () => {
    const [a, b] = await duplexPair();
    const server = new SpdySession(a, 'server');
    const seen: number[] = [];
    server.on('stream', (s) => seen.push(s.id));
    const out: Buffer[] = [];
    b.on('data', (d: Buffer) => out.push(d));
    const c = new HeaderCompressor();
    b.write(synStreamFrame(5, await c.run(encodeHeaderBlock(new Map())), false));
    b.write(synStreamFrame(3, await c.run(encodeHeaderBlock(new Map())), false));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).to.deep.equal([5]);
    const types = new FrameParser().push(Buffer.concat(out)).map((f) => (f.kind === 'control' ? f.type : -1));
    expect(types).to.deep.equal([FrameType.SYN_REPLY, FrameType.RST_STREAM]);
    expect(server.isClosed).to.equal(false);
    b.write(goAwayFrame(0, 0));
    c.close();
    server.close();
  });
});

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of buf) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

