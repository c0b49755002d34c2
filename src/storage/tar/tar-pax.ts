// PAX extended header records: "<len> <key>=<value>\n", len counting the whole record in bytes.
// Parsed as strictly as Go's archive/tar does, and values kept as raw bytes: an xattr such as
// security.capability is binary, and decoding it as UTF-8 would corrupt it. Pure.

export type PaxRecords = ReadonlyMap<string, Buffer>;

/** Keys whose values name something: a NUL in them would cut the name short somewhere else. */
const NAME_KEYS = new Set(['path', 'linkpath', 'uname', 'gname']);

/** The records; a PaxError says where and why the header is malformed. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const space = buf.indexOf(0x20, off);
    // A length is a few digits; a missing or absurd one is not worth searching a megabyte for.
    if (space === -1 || space - off > 20) throw malformed(off, 'no length');
    const lenText = buf.toString('latin1', off, space);
    if (!/^[0-9]+$/.test(lenText)) throw malformed(off, `length ${JSON.stringify(lenText)} is not a number`);
    const len = Number(lenText);
    const end = off + len;
    if (len <= space - off + 1 || end > buf.length) throw malformed(off, `length ${len} does not fit`);
    if (buf[end - 1] !== 0x0a) throw malformed(off, 'record does not end in a newline');
    const eq = buf.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= end - 1) throw malformed(off, 'record has no "="');
    const key = buf.toString('utf8', space + 1, eq);
    const value = buf.subarray(eq + 1, end - 1);
    if (key === '') throw malformed(off, 'empty key');
    if (NAME_KEYS.has(key) ? value.includes(0) : key.includes('\0')) throw malformed(off, `NUL in ${JSON.stringify(key)}`);
    // A copy: the header buffer (up to 1 MiB) must not live as long as the entry does.
    out.set(key, Buffer.from(value));
    off = end;
  }
  return out;
}

export class PaxError extends Error {}

function malformed(off: number, why: string): PaxError {
  return new PaxError(`record at byte ${off} of the header: ${why}`);
}

/** A decimal integer as Go's strconv.ParseInt reads it; undefined when it is not one. */
export function paxInt(v: Buffer): number | undefined {
  const s = v.toString('latin1');
  if (!/^[+-]?[0-9]{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** "<seconds>[.<fraction>]", as in mtime=1700000000.123456789. */
export function paxTime(v: Buffer): number | undefined {
  const m = /^([+-]?[0-9]{1,16})(?:\.([0-9]*))?$/.exec(v.toString('latin1'));
  if (!m) return undefined;
  const secs = Number(m[1]);
  const frac = m[2] ? Number(`0.${m[2].slice(0, 9)}`) : 0;
  return m[1]!.startsWith('-') ? secs - frac : secs + frac;
}
