// IP and MAC addresses between their text forms and the bytes netlink carries.
import { isIPv6 } from 'node:net';
import { invalidArgument } from '../../core/errors.js';
import { parseCidr } from '../../util/cidr.js';
import { AF_INET, AF_INET6 } from './constants.js';

export interface IpBytes {
  readonly family: typeof AF_INET | typeof AF_INET6;
  readonly bytes: Buffer;
}

export interface CidrBytes extends IpBytes {
  readonly prefix: number;
}

function v4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

/** Dotted quad without leading zeros, or undefined: the common case, without a regex. */
function parseV4(s: string): Buffer | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const b = Buffer.allocUnsafe(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p.charCodeAt(0) === 48)) return undefined;
    let n = 0;
    for (let j = 0; j < p.length; j++) {
      const d = p.charCodeAt(j) - 48;
      if (d < 0 || d > 9) return undefined;
      n = n * 10 + d;
    }
    if (n > 255) return undefined;
    b[i] = n;
  }
  return b;
}

export function ipToBytes(s: string): IpBytes {
  const v4 = parseV4(s);
  if (v4) return { family: AF_INET, bytes: v4 };
  if (!isIPv6(s) || s.includes('%')) throw invalidArgument(`${JSON.stringify(s)} is not an IP address`);
  let head = s;
  let tail: number[] = [];
  if (s.includes('.')) {
    // An embedded IPv4 address (::ffff:1.2.3.4) fills the last two groups.
    const i = s.lastIndexOf(':');
    tail = v4Bytes(s.slice(i + 1));
    head = s.slice(0, i + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = tail.length ? 6 : 8;
  const [left = '', right] = head.split('::');
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const zeros = right === undefined ? 0 : groupsWanted - l.length - r.length;
  const groups = [...l, ...Array<string>(zeros).fill('0'), ...r].map((g) => parseInt(g, 16));
  const b = Buffer.allocUnsafe(16).fill(0);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  b.set(tail, 12);
  return { family: AF_INET6, bytes: b };
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
export function bytesToIp(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return b.toString('hex');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidrBytes(text: string): CidrBytes {
  // The usual "10.88.0.7/16" is read directly; anything else goes through the full parser.
  const slash = text.indexOf('/');
  const v4 = slash > 0 ? parseV4(text.slice(0, slash)) : undefined;
  const prefixText = text.slice(slash + 1);
  if (v4 && /^\d{1,2}$/.test(prefixText) && Number(prefixText) <= 32) {
    return { family: AF_INET, bytes: v4, prefix: Number(prefixText) };
  }
  const c = parseCidr(text);
  if (typeof c === 'string') throw invalidArgument(c);
  return { ...ipToBytes(c.address), prefix: c.prefix };
}

/** The broadcast address of an IPv4 network (host bits all ones). */
export function ipv4Broadcast(addr: Buffer, prefix: number): Buffer {
  const n = addr.readUInt32BE(0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE((n | ~mask) >>> 0);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatMac(b: Buffer): string {
  let s = HEX[b[0]!] ?? '';
  for (let i = 1; i < b.length; i++) s += `:${HEX[b[i]!]}`;
  return s;
}

/** A random unicast, locally administered MAC (bit 1 of the first byte set, bit 0 clear). */
export function randomLocalMac(random: (n: number) => Buffer): Buffer {
  const b = random(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return b;
}
