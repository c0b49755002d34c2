// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 with the 3.1 session window): pure encoders and
// an incremental parser. Header blocks stay compressed here; session.ts owns the zlib contexts.

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
} as const;

export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** Larger frames are a protocol error here: nothing kubelet or crictl sends comes close. */
export const MAX_FRAME_PAYLOAD = 1 << 20;

export type Frame =
  | { readonly kind: 'data'; readonly streamId: number; readonly flags: number; readonly data: Buffer }
  | { readonly kind: 'control'; readonly type: number; readonly flags: number; readonly payload: Buffer };

export class FrameError extends Error {}

/**
 * Collects bytes and hands out whole frames. Chunks are kept as they came and joined once per
 * frame: joining the buffer with every chunk copied it again each time, so a 1 MiB frame sent a
 * few bytes per packet cost the event loop seconds (found by the spdy-frames fuzz target).
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= 8) {
      const head = this.peek(8);
      const length = head.readUInt32BE(4) & 0xffffff;
      if (length > MAX_FRAME_PAYLOAD) throw new FrameError(`frame of ${length} bytes is too large`);
      if (this.buffered < 8 + length) break;
      const flags = head[4]!;
      const first = head.readUInt32BE(0);
      const payload = this.take(8 + length).subarray(8);
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new FrameError(`SPDY version ${version} is not supported`);
        frames.push({ kind: 'control', type: first & 0xffff, flags, payload });
      } else {
        frames.push({ kind: 'data', streamId: first & 0x7fffffff, flags, data: payload });
      }
    }
    return frames;
  }

  /** The first n buffered bytes, copied only when they span chunks (and only those chunks). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const out = Buffer.alloc(n);
    let have = 0;
    for (const c of this.chunks) {
      have += c.copy(out, have, 0, Math.min(c.length, n - have));
      if (have === n) break;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      let i = 0;
      let have = 0;
      while (have < n) have += this.chunks[i++]!.length;
      const joined = Buffer.concat(this.chunks.slice(0, i));
      out = joined.subarray(0, n);
      this.chunks = have > n ? [joined.subarray(n), ...this.chunks.slice(i)] : this.chunks.slice(i);
    }
    this.buffered -= n;
    return out;
  }
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type, 0);
  head.writeUInt32BE(flags * 0x1000000 + payload.length, 4);
  return Buffer.concat([head, payload]);
}

export function dataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE((fin ? FLAG_FIN : 0) * 0x1000000 + data.length, 4);
  return Buffer.concat([head, data]);
}

export function synStreamFrame(streamId: number, headerBlock: Buffer, fin: boolean): Buffer {
  const p = Buffer.alloc(10);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(0, 4); // associated-to-stream-id
  return control(FrameType.SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.concat([p, headerBlock]));
}

export function synReplyFrame(streamId: number, headerBlock: Buffer, fin: boolean): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  return control(FrameType.SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([p, headerBlock]));
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return control(FrameType.RST_STREAM, 0, p);
}

export function pingFrame(id: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(id >>> 0, 0);
  return control(FrameType.PING, 0, p);
}

export function goAwayFrame(lastGoodStreamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return control(FrameType.GOAWAY, 0, p);
}

export function windowUpdateFrame(streamId: number, delta: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(delta & 0x7fffffff, 4);
  return control(FrameType.WINDOW_UPDATE, 0, p);
}

/** The stream id a control frame's payload starts with (SYN_STREAM, SYN_REPLY, RST, HEADERS, WINDOW_UPDATE). */
export function controlStreamId(payload: Buffer): number {
  if (payload.length < 4) throw new FrameError('control frame too short for its stream id');
  return payload.readUInt32BE(0) & 0x7fffffff;
}

/** The name/value block before compression: a count, then length-prefixed names and values. */
export function encodeHeaderBlock(headers: ReadonlyMap<string, readonly string[]>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(headers.size));
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    // Several values of one name travel NUL-separated.
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes a decompressed block; linear in its size however often a name repeats. */
export function decodeHeaderBlock(block: Buffer): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let off = 0;
  const u32 = () => {
    if (off + 4 > block.length) throw new FrameError('header block truncated');
    const n = block.readUInt32BE(off);
    off += 4;
    return n;
  };
  const bytes = (n: number) => {
    if (off + n > block.length) throw new FrameError('header block truncated');
    const b = block.subarray(off, off + n);
    off += n;
    return b;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32()).toString('utf8').toLowerCase();
    const values = bytes(u32()).toString('utf8').split('\0');
    if (name === '') throw new FrameError('empty header name');
    const known = headers.get(name);
    if (known) for (const v of values) known.push(v);
    else headers.set(name, values);
  }
  return headers;
}
