// The streaming server's SPDY/3.1 side, which reads whatever an exec/attach/port-forward client
// sends: frames, zlib-compressed header blocks, and the terminal sizes of the resize stream.
import fc from 'fast-check';
import { Duplex } from 'node:stream';
import { AttachConnection } from '../../../src/runtime/attach-connection.js';
import { ResizeParser } from '../../../src/streaming/remotecommand/status.js';
import {
  FrameError, FrameParser, FrameType, MAX_FRAME_PAYLOAD, controlStreamId, dataFrame, decodeHeaderBlock, encodeHeaderBlock,
  goAwayFrame, pingFrame, rstStreamFrame, synReplyFrame, synStreamFrame, windowUpdateFrame,
} from '../../../src/streaming/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor } from '../../../src/streaming/spdy/header-zlib.js';
import { SpdySession } from '../../../src/streaming/spdy/session.js';
import { inputMix } from '../harness/mutate.js';
import { violation, type FuzzTarget } from '../harness/target.js';

const isFrameError = (e: unknown) => e instanceof FrameError;
/** What one header block may inflate to: kubelet's and crictl's are a few hundred bytes. */
export const HEADER_BLOCK_BOUND = MAX_FRAME_PAYLOAD;

const headerName = fc.oneof(fc.constantFrom('streamtype', 'port', 'requestid', 'StreamType', ':version', ''), fc.string({ maxLength: 12 }));
const headerValue = fc.oneof(fc.constantFrom('stdin', 'stdout', 'stderr', 'error', 'resize', 'data', '80', 'a\0b'), fc.string({ maxLength: 24 }));

interface BlockSpec {
  readonly entries: ReadonlyArray<readonly [string, string]>;
  /** The count field: the true one, or a lie. */
  readonly count: number | undefined;
  /** The entries written this many times over (a block that repeats one header). */
  readonly times: number;
}

const blockSpec: fc.Arbitrary<BlockSpec> = fc.record({
  entries: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
  count: fc.option(fc.constantFrom(0, 1, 2, 0x7fffffff, 0xffffffff), { nil: undefined }),
  times: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 60_000 }) }),
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A name/value block as encodeHeaderBlock lays it out, but with repeats and a count that may lie. */
function buildBlock(spec: BlockSpec): Buffer {
  const body = spec.entries.map(([n, v]) => {
    const nb = Buffer.from(n, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    return Buffer.concat([u32(nb.length), nb, u32(vb.length), vb]);
  });
  const one = Buffer.concat(body);
  const times = Math.max(1, Math.min(spec.times, Math.floor(MAX_FRAME_PAYLOAD / Math.max(1, one.length))));
  const count = spec.count ?? spec.entries.length * times;
  return Buffer.concat([u32(count), ...Array<Buffer>(times).fill(one)]);
}

const BLOCK_SEEDS = [
  encodeHeaderBlock(new Map([['streamtype', ['stdout']]])),
  encodeHeaderBlock(new Map([['streamtype', ['data']], ['port', ['8080']], ['requestid', ['0']]])),
  encodeHeaderBlock(new Map()),
];

export const headerBlockTarget: FuzzTarget = {
  name: 'spdy-header-block',
  about: 'streaming/spdy/frames.ts decodeHeaderBlock (a decompressed name/value block): headers, or FrameError',
  smokeRuns: 400,
  timeBoundMs: 1000,
  inputs: async () => inputMix({ structured: blockSpec.map(buildBlock), seeds: BLOCK_SEEDS, maxLength: MAX_FRAME_PAYLOAD }),
  run: (input) => {
    for (const [name, values] of decodeHeaderBlock(input)) {
      if (name === '' || name !== name.toLowerCase()) violation(`header name ${JSON.stringify(name)}`);
      if (values.length === 0) violation(`header ${name} without values`);
    }
  },
  accepts: isFrameError,
};

const FRAME_SEEDS = [
  Buffer.concat([synStreamFrame(1, Buffer.alloc(4), false), dataFrame(1, Buffer.from('hello'), true), rstStreamFrame(3, 5)]),
  Buffer.concat([pingFrame(1), goAwayFrame(0, 0), windowUpdateFrame(1, 65536), synReplyFrame(2, Buffer.alloc(4), true)]),
];

export const framesTarget: FuzzTarget = {
  name: 'spdy-frames',
  about: 'streaming/spdy/frames.ts FrameParser (bytes in any cuts) and controlStreamId: frames, or FrameError',
  smokeRuns: 500,
  inputs: async () => inputMix({ seeds: FRAME_SEEDS, maxLength: 64 * 1024 }),
  run: (input) => {
    const parser = new FrameParser();
    const cut = 1 + (input[0] ?? 0) * 7;
    let seen = 0;
    for (let off = 0; off < input.length; off += cut) {
      for (const f of parser.push(input.subarray(off, off + cut))) {
        const len = f.kind === 'data' ? f.data.length : f.payload.length;
        if (len > MAX_FRAME_PAYLOAD) violation(`a frame of ${len} bytes passed the size limit`);
        seen += 8 + len;
        if (f.kind === 'control' && [FrameType.SYN_STREAM, FrameType.SYN_REPLY, FrameType.RST_STREAM, FrameType.HEADERS, FrameType.WINDOW_UPDATE].includes(f.type as 1)) {
          const id = controlStreamId(f.payload);
          if (!(id >= 0 && id <= 0x7fffffff)) violation(`stream id ${id}`);
        }
      }
    }
    if (seen > input.length) violation(`frames of ${seen} bytes out of ${input.length}`);
  },
  accepts: isFrameError,
};

// The whole session: a script of frames, whose header blocks are compressed here (in order, on
// one zlib stream, as a real client does) so that they reach the decoder.

const OP_RAW = 0;
const OP_SYN = 1;
const OP_HEADERS = 2;

interface Step {
  readonly op: number;
  readonly flags: number;
  readonly bytes: Buffer;
}

/** Steps played at most: a script of 56,000 one-header streams spent seconds in this harness's own compression. */
const MAX_STEPS = 256;

/** Input layout: per step op:u8 flags:u8 length:u32be bytes. */
function encodeScript(steps: readonly Step[]): Buffer {
  return Buffer.concat(steps.flatMap((s) => [Buffer.from([s.op, s.flags]), u32(s.bytes.length), s.bytes]));
}

function decodeScript(input: Buffer): Step[] {
  const steps: Step[] = [];
  for (let off = 0; off + 6 <= input.length && steps.length < MAX_STEPS; ) {
    const len = Math.min(input.readUInt32BE(off + 2), input.length - off - 6);
    steps.push({ op: input[off]! % 3, flags: input[off + 1]!, bytes: input.subarray(off + 6, off + 6 + len) });
    off += 6 + len;
  }
  return steps;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant(OP_SYN), flags: fc.nat({ max: 255 }), bytes: blockSpec.map(buildBlock) }),
  fc.record({ op: fc.constant(OP_HEADERS), flags: fc.nat({ max: 255 }), bytes: blockSpec.map(buildBlock) }),
  fc.record({
    op: fc.constant(OP_RAW),
    flags: fc.constant(0),
    bytes: fc.oneof(
      fc.tuple(fc.nat({ max: 9 }), fc.uint8Array({ maxLength: 64 })).map(([id, d]) => dataFrame(id, Buffer.from(d), id % 2 === 0)),
      fc.tuple(fc.nat({ max: 9 }), fc.constantFrom(1, 2, 5, 9)).map(([id, s]) => rstStreamFrame(id, s)),
      fc.nat().map(pingFrame),
      fc.constant(goAwayFrame(0, 0)),
      fc.nat({ max: 9 }).map((id) => windowUpdateFrame(id, 4096)),
      fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
    ),
  }),
);

/** Frames whose header block is the step's bytes, compressed on the script's one zlib stream. */
async function renderScript(steps: readonly Step[]): Promise<Buffer[]> {
  const deflate = new HeaderCompressor();
  const out: Buffer[] = [];
  let nextId = 1;
  try {
    for (const s of steps) {
      if (s.op === OP_RAW) {
        out.push(s.bytes);
        continue;
      }
      const block = await deflate.run(s.bytes);
      if (s.op === OP_SYN) {
        // Mostly the next odd id; the flags' high bits pick a wrong one now and then.
        const id = s.flags & 0x80 ? s.flags & 0x0f : nextId;
        nextId += 2;
        out.push(synStreamFrame(id, block, (s.flags & 1) === 1));
        if (s.flags & 2) out[out.length - 1]![4] = s.flags; // unidirectional and unknown flags
      } else {
        const frame = synReplyFrame(s.flags & 0x0f, block, false);
        frame.writeUInt16BE(FrameType.HEADERS, 2);
        out.push(frame);
      }
    }
  } finally {
    deflate.close();
  }
  return out;
}

/** The largest block the session's decompressor has handed out, watched from outside. */
let largestBlock = 0;
const originalRun = HeaderDecompressor.prototype.run;

async function runSession(input: Buffer): Promise<void> {
  const frames = await renderScript(decodeScript(input));
  largestBlock = 0;
  const socket = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
  const session = new SpdySession(socket, 'server');
  const errors: unknown[] = [];
  session.on('error', (e) => errors.push(e));
  session.on('stream', (s) => {
    s.on('data', () => {});
    s.on('error', () => {});
    s.end('ok');
  });
  const closed = new Promise<void>((resolve) => session.once('close', resolve));
  // Cuts that do not follow frame boundaries, as TCP delivers them.
  const all = Buffer.concat(frames);
  const cut = 1 + (all.length % 997);
  for (let off = 0; off < all.length; off += cut) socket.push(all.subarray(off, off + cut));
  socket.push(null);
  await closed;
  for (const e of errors) if (!(e instanceof FrameError)) throw e;
  if (largestBlock > HEADER_BLOCK_BOUND) violation(`a header block inflated to ${largestBlock} bytes (bound ${HEADER_BLOCK_BOUND})`);
}

export const sessionTarget: FuzzTarget = {
  name: 'spdy-session',
  about: 'streaming/spdy/session.ts SpdySession (server) fed a client script: streams or a FrameError on "error"; header blocks inflate to at most 1 MiB',
  smokeRuns: 120,
  timeBoundMs: 3000,
  setup: async () => {
    HeaderDecompressor.prototype.run = async function (this: HeaderDecompressor, block: Buffer) {
      const out = await originalRun.call(this, block);
      largestBlock = Math.max(largestBlock, out.length);
      return out;
    };
  },
  teardown: async () => {
    HeaderDecompressor.prototype.run = originalRun;
  },
  inputs: async () => {
    const script = fc.array(step, { minLength: 1, maxLength: 8 }).map(encodeScript);
    const seeds = [encodeScript([{ op: OP_SYN, flags: 0, bytes: BLOCK_SEEDS[0]! }, { op: OP_RAW, flags: 0, bytes: dataFrame(1, Buffer.from('x'), true) }])];
    return inputMix({ structured: script, seeds, maxLength: 4 * MAX_FRAME_PAYLOAD });
  },
  run: runSession,
  accepts: isFrameError,
};

// The resize stream: JSON terminal sizes from the client, and the monitor frame they become.

const sizeText = fc
  .array(
    fc.oneof(
      fc.record({ Width: fc.oneof(fc.integer({ min: -70000, max: 140000 }), fc.double()), Height: fc.integer({ min: -70000, max: 140000 }) }).map((o) => JSON.stringify(o)),
      fc.constantFrom('{', '}', '{"Width":1e400,"Height":2}', '{"Width":80}', 'garbage'),
    ),
    { maxLength: 6 },
  )
  .map((parts) => Buffer.from(parts.join('')));

/** Where a window size goes: the attach connection's frame writer (a connection already ended sends nothing). */
const sink = Object.create(AttachConnection.prototype, { ended: { value: true }, socket: { value: { destroyed: true } } }) as AttachConnection;

export const resizeTarget: FuzzTarget = {
  name: 'terminal-resize',
  about: 'streaming/remotecommand/status.ts ResizeParser, then AttachConnection.resize: sizes a terminal can have; never throws',
  smokeRuns: 500,
  inputs: async () => inputMix({ structured: sizeText, seeds: [Buffer.from('{"Width":80,"Height":24}{"Width":132,"Height":50}')], maxLength: 16 * 1024 }),
  run: (input) => {
    const parser = new ResizeParser();
    const cut = 1 + (input[0] ?? 0);
    for (let off = 0; off < input.length; off += cut) {
      for (const size of parser.push(input.subarray(off, off + cut))) sink.resize(size.height, size.width);
    }
  },
  accepts: () => false,
};
