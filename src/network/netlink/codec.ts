// Netlink framing: nlmsghdr and (nested) attributes, both 4-byte aligned, host byte order
// (little-endian on every machine we build for). Requests are described as attribute trees and
// written in one pass into one buffer.
//
// Speed note: this code runs a handful of times per pod, so V8 mostly interprets it. Plain index
// stores (put16/put32) cost a fraction of Buffer#writeUInt16LE's checked calls there, and the
// receive loop reads headers the same way.
import { internal } from '../../core/errors.js';
import { NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } from './constants.js';

export const align4 = (n: number): number => (n + 3) & ~3;

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function get16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function get32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** UTF-8 length; interface names and link kinds are ASCII, which needs no encoder at all. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}

function writeString(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return b.write(s, o, 'utf8');
    b[o + i] = c;
  }
  return s.length;
}

/**
 * An attribute to send. Scalars and strings are kept as values and written straight into the
 * message buffer: building a pod's requests allocates one buffer per datagram, not one per
 * attribute. A nest carries an optional fixed header (VETH_INFO_PEER's ifinfomsg) and children.
 */
export type Attr =
  | { readonly type: number; readonly kind: 'bytes'; readonly data: Uint8Array }
  | { readonly type: number; readonly kind: 'u8' | 'u16' | 'u32' | 's32'; readonly value: number }
  | { readonly type: number; readonly kind: 'str'; readonly value: string }
  | { readonly type: number; readonly kind: 'nest'; readonly header: Uint8Array | undefined; readonly children: readonly Attr[] };

export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Everything after the 16-byte header: the fixed struct, then attributes. */
  readonly payload: Buffer;
}

export const attr = {
  bytes: (type: number, data: Uint8Array): Attr => ({ type, kind: 'bytes', data }),
  u8: (type: number, value: number): Attr => ({ type, kind: 'u8', value }),
  u16: (type: number, value: number): Attr => ({ type, kind: 'u16', value }),
  u32: (type: number, value: number): Attr => ({ type, kind: 'u32', value }),
  s32: (type: number, value: number): Attr => ({ type, kind: 's32', value }),
  /** NUL-terminated, as the kernel's NLA_STRING / NLA_NUL_STRING policies expect. */
  str: (type: number, value: string): Attr => ({ type, kind: 'str', value }),
  nest: (type: number, children: readonly Attr[], header?: Uint8Array): Attr => ({ type, kind: 'nest', header, children }),
};

/** nla_len: header and content, without the trailing padding. */
function attrLength(a: Attr): number {
  switch (a.kind) {
    case 'bytes':
      return NLA_HDRLEN + a.data.length;
    case 'u8':
      return NLA_HDRLEN + 1;
    case 'u16':
      return NLA_HDRLEN + 2;
    case 'u32':
    case 's32':
      return NLA_HDRLEN + 4;
    case 'str':
      return NLA_HDRLEN + utf8Length(a.value) + 1;
    case 'nest': {
      let n = NLA_HDRLEN + (a.header ? align4(a.header.length) : 0);
      for (const c of a.children) n += align4(attrLength(c));
      return n;
    }
  }
}

export function attrsSize(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += align4(attrLength(a));
  return n;
}

/** Writes a into a zeroed buffer at off; returns the aligned end. Nest lengths are patched after. */
function writeAttr(buf: Buffer, off: number, a: Attr): number {
  const p = off + NLA_HDRLEN;
  let end: number;
  switch (a.kind) {
    case 'bytes':
      buf.set(a.data, p);
      end = p + a.data.length;
      break;
    case 'u8':
      buf[p] = a.value & 0xff;
      end = p + 1;
      break;
    case 'u16':
      put16(buf, p, a.value);
      end = p + 2;
      break;
    case 'u32':
    case 's32':
      put32(buf, p, a.value);
      end = p + 4;
      break;
    case 'str':
      end = p + writeString(buf, p, a.value) + 1; // the NUL is already there: the buffer is zeroed
      break;
    case 'nest': {
      end = p;
      if (a.header) {
        buf.set(a.header, p);
        end = p + align4(a.header.length);
      }
      for (const c of a.children) end = writeAttr(buf, end, c);
      break;
    }
  }
  const len = end - off;
  if (len > 0xffff) throw internal(`netlink attribute ${a.type} is ${len} bytes, over the 64 KiB limit`);
  put16(buf, off, len);
  put16(buf, off + 2, a.type);
  return off + align4(len);
}

/** Bytes a message takes in a datagram, padding included. */
export function messageSize(header: Uint8Array, attrs: readonly Attr[] = []): number {
  return NLMSG_HDRLEN + align4(header.length) + attrsSize(attrs);
}

/** Writes one message into a zeroed buffer at off; returns where the next one starts. */
export function writeMessage(
  buf: Buffer,
  off: number,
  m: { type: number; flags: number; seq: number },
  header: Uint8Array,
  attrs: readonly Attr[] = [],
): number {
  buf.set(header, off + NLMSG_HDRLEN);
  let p = off + NLMSG_HDRLEN + align4(header.length);
  for (const a of attrs) p = writeAttr(buf, p, a);
  put32(buf, off, p - off);
  put16(buf, off + 4, m.type);
  put16(buf, off + 6, m.flags);
  put32(buf, off + 8, m.seq);
  return p;
}

/** A message payload on its own: the fixed struct (padded to 4), then the attributes. */
export function encodePayload(header: Uint8Array, attrs: readonly Attr[] = []): Buffer {
  const buf = Buffer.alloc(messageSize(header, attrs));
  writeMessage(buf, 0, { type: 0, flags: 0, seq: 0 }, header, attrs);
  return buf.subarray(NLMSG_HDRLEN);
}

/** One whole message; nlmsg_len counts the payload as given, the buffer is padded to 4. */
export function encodeMessage(type: number, flags: number, seq: number, payload: Uint8Array): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + align4(payload.length));
  buf.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.set(payload, NLMSG_HDRLEN);
  return buf;
}

/** Splits a datagram into messages; payloads are views into buf. */
export function decodeMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = get32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw internal(`malformed netlink reply: message of ${len} bytes at offset ${off} of ${buf.length}`);
    }
    out.push({
      type: get16(buf, off + 4),
      flags: get16(buf, off + 6),
      seq: get32(buf, off + 8),
      pid: get32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/**
 * Attributes by type (flags masked off); a type given twice keeps the last, as the kernel's own
 * parser does. Values are views into buf; `only` limits them to the types the caller reads (a
 * link reply carries some fifty). A truncated attribute ends the list: the kernel pads, it does
 * not send half attributes, so what came before is still good.
 */
export function decodeAttrs(buf: Buffer, offset = 0, only?: ReadonlySet<number>): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = offset;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = get16(buf, off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    const type = get16(buf, off + 2) & NLA_TYPE_MASK;
    if (!only || only.has(type)) out.set(type, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** Up to the first NUL; ASCII (every name and kind we read) without going through a decoder. */
export function readString(v: Buffer | undefined): string | undefined {
  if (!v) return undefined;
  let s = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === 0) return s;
    if (c > 0x7f) {
      const nul = v.indexOf(0, i);
      return v.toString('utf8', 0, nul < 0 ? v.length : nul);
    }
    s += String.fromCharCode(c);
  }
  return s;
}

export function readU32(v: Buffer | undefined): number | undefined {
  return v && v.length >= 4 ? get32(v, 0) : undefined;
}

export function readS32(v: Buffer | undefined): number | undefined {
  return v && v.length >= 4 ? get32(v, 0) | 0 : undefined;
}

export function readU8(v: Buffer | undefined): number | undefined {
  return v && v.length >= 1 ? v[0] : undefined;
}
