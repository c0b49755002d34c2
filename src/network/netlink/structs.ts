// The fixed headers in front of rtnetlink attributes: ifinfomsg (links), ifaddrmsg (addresses),
// rtmsg (routes). Padding bytes stay zero: strict checking (NETLINK_GET_STRICT_CHK) rejects others.
import { internal } from '../../core/errors.js';
import { put16, put32 } from './codec.js';

/**
 * A zeroed buffer from Node's pool: Buffer.alloc gives every small struct its own ArrayBuffer,
 * and those cost more in the garbage collector than all the encoding together.
 */
export function smallZeroed(n: number): Buffer {
  return Buffer.allocUnsafe(n).fill(0);
}

export interface IfInfoMsg {
  readonly family: number;
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  /** Which bits of flags the request changes. */
  readonly change: number;
}

export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;

export function encodeIfInfo(m: Partial<IfInfoMsg> = {}): Buffer {
  const b = smallZeroed(IFINFOMSG_LEN);
  b[0] = m.family ?? 0;
  put16(b, 2, m.type ?? 0);
  put32(b, 4, m.index ?? 0);
  put32(b, 8, m.flags ?? 0);
  put32(b, 12, m.change ?? 0);
  return b;
}

function need(p: Buffer, len: number, what: string): void {
  if (p.length < len) throw internal(`malformed netlink reply: ${what} needs ${len} bytes, got ${p.length}`);
}

export function decodeIfInfo(p: Buffer): IfInfoMsg {
  need(p, IFINFOMSG_LEN, 'ifinfomsg');
  return {
    family: p.readUInt8(0),
    type: p.readUInt16LE(2),
    index: p.readInt32LE(4),
    flags: p.readUInt32LE(8),
    change: p.readUInt32LE(12),
  };
}

export interface IfAddrMsg {
  readonly family: number;
  readonly prefixLen: number;
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
}

export function encodeIfAddr(m: Partial<IfAddrMsg> = {}): Buffer {
  const b = smallZeroed(IFADDRMSG_LEN);
  b[0] = m.family ?? 0;
  b[1] = m.prefixLen ?? 0;
  b[2] = m.flags ?? 0;
  b[3] = m.scope ?? 0;
  put32(b, 4, m.index ?? 0);
  return b;
}

export function decodeIfAddr(p: Buffer): IfAddrMsg {
  need(p, IFADDRMSG_LEN, 'ifaddrmsg');
  return {
    family: p.readUInt8(0),
    prefixLen: p.readUInt8(1),
    flags: p.readUInt8(2),
    scope: p.readUInt8(3),
    index: p.readUInt32LE(4),
  };
}

export interface RtMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

export function encodeRtMsg(m: Partial<RtMsg> = {}): Buffer {
  const b = smallZeroed(RTMSG_LEN);
  b[0] = m.family ?? 0;
  b[1] = m.dstLen ?? 0;
  b[2] = m.srcLen ?? 0;
  b[3] = m.tos ?? 0;
  b[4] = m.table ?? 0;
  b[5] = m.protocol ?? 0;
  b[6] = m.scope ?? 0;
  b[7] = m.type ?? 0;
  put32(b, 8, m.flags ?? 0);
  return b;
}

export function decodeRtMsg(p: Buffer): RtMsg {
  need(p, RTMSG_LEN, 'rtmsg');
  return {
    family: p.readUInt8(0),
    dstLen: p.readUInt8(1),
    srcLen: p.readUInt8(2),
    tos: p.readUInt8(3),
    table: p.readUInt8(4),
    protocol: p.readUInt8(5),
    scope: p.readUInt8(6),
    type: p.readUInt8(7),
    flags: p.readUInt32LE(8),
  };
}
