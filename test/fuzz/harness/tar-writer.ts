// A tar writer for fuzz inputs: it writes what tar-stream's pack refuses to (names with "..",
// lying sizes, unknown type flags, base-256 numbers, PAX and GNU long-name records with any
// content), and it gets the header checksums right, so that inputs get past the first check of a
// reader and reach the code behind it. `fixChecksums` repairs them again after byte mutations.

export interface RawEntry {
  readonly name: string;
  /** The typeflag byte as a character: '0' file, '1' hard link, '2' symlink, '5' dir, 'x' PAX, 'L' GNU long name… */
  readonly type: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** The size field; when absent, the body's length. A different value is a lie the reader must survive. */
  readonly size?: number;
  readonly mtime?: number;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  readonly body?: Buffer;
  /** PAX records written as an 'x' entry right before this one. */
  readonly pax?: ReadonlyArray<readonly [string, Buffer | string]>;
  /** A GNU long name ('L') entry before this one. */
  readonly longName?: string;
  readonly format?: 'ustar' | 'gnu' | 'v7';
}

const BLOCK = 512;

/** Octal with a NUL, or base-256 (0x80 first) when it does not fit, as GNU tar writes large numbers. */
function writeNumber(h: Buffer, off: number, len: number, value: number): void {
  if (value >= 0 && value < 8 ** (len - 1)) {
    h.write(`${Math.floor(value).toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
    return;
  }
  let v = BigInt(Math.trunc(value));
  if (v < 0n) v = (1n << BigInt(8 * len)) + v; // two's complement, first byte 0xff
  for (let i = len - 1; i >= 0; i--) {
    h[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (value >= 0) h[off] = 0x80;
}

function setChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(e.name, 0, 100, 'utf8');
  writeNumber(h, 100, 8, e.mode ?? 0o644);
  writeNumber(h, 108, 8, e.uid ?? 0);
  writeNumber(h, 116, 8, e.gid ?? 0);
  writeNumber(h, 124, 12, e.size ?? size);
  writeNumber(h, 136, 12, e.mtime ?? 1_600_000_000);
  h.write(e.type.slice(0, 1) || '\0', 156, 1, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  const format = e.format ?? 'ustar';
  if (format === 'ustar') h.write('ustar\u000000', 257, 8, 'latin1');
  else if (format === 'gnu') h.write('ustar  \0', 257, 8, 'latin1');
  writeNumber(h, 329, 8, e.devmajor ?? 0);
  writeNumber(h, 337, 8, e.devminor ?? 0);
  setChecksum(h);
  return h;
}

function padded(body: Buffer): Buffer[] {
  const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
  return pad ? [body, Buffer.alloc(pad)] : [body];
}

/** "<len> <key>=<value>\n", len counting the whole record. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function writeTar(entries: readonly RawEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.longName !== undefined) {
      const body = Buffer.from(`${e.longName}\0`);
      parts.push(header({ name: '././@LongLink', type: 'L', format: 'gnu' }, body.length), ...padded(body));
    }
    if (e.pax) {
      const body = Buffer.concat(e.pax.map(([k, v]) => paxRecord(k, v)));
      parts.push(header({ name: 'PaxHeader', type: 'x' }, body.length), ...padded(body));
    }
    const body = e.body ?? Buffer.alloc(0);
    parts.push(header(e, body.length), ...padded(body));
  }
  if (opts.end ?? true) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function readSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    let v = 0;
    for (let i = 125; i < 136; i++) v = v * 256 + h[i]!;
    return v;
  }
  const n = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Walks the archive as a reader would (header, body rounded up to blocks, next header) and
 * rewrites each header's checksum, so a mutated field is seen by the code that reads it.
 */
export function fixChecksums(tar: Buffer): Buffer {
  const out = Buffer.from(tar);
  let off = 0;
  while (off + BLOCK <= out.length) {
    const h = out.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) {
      off += BLOCK;
      continue;
    }
    setChecksum(h);
    const size = readSize(h);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
