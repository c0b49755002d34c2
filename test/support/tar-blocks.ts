// Tar blocks built by hand, for archives no tar writer would make: huge declared sizes, odd
// typeflags, base-256 numbers, bad checksums. Shared by the tar parser, archive and pull tests.

/** PAX records, bytes kept as they are (tar-stream's pack only writes strings). */
export function paxRecords(records: Record<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
    // The length prefix counts itself.
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

export interface BlockSpec {
  name?: string;
  /** The typeflag character ('0', 'x', 'L', …). */
  type?: string;
  /** Written in octal; or pass `sizeField` for the raw 12 bytes. */
  size?: number;
  sizeField?: Buffer;
  mode?: number;
  uid?: number;
  /** The raw 8 bytes of the uid field (base-256, say). */
  uidField?: Buffer;
  linkname?: string;
  /** 'ustar' (default), 'gnu' or 'v7'. */
  format?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  /** Store the checksum as signed-byte sum (old tars), or a wrong one. */
  checksum?: 'unsigned' | 'signed' | 'wrong';
}

const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';

export function block(spec: BlockSpec): Buffer {
  const h = Buffer.alloc(512);
  h.write(spec.name ?? 'f', 0, 100, 'utf8');
  h.write(octal(spec.mode ?? 0o644, 8), 100);
  if (spec.uidField) spec.uidField.copy(h, 108);
  else h.write(octal(spec.uid ?? 0, 8), 108);
  h.write(octal(0, 8), 116);
  if (spec.sizeField) spec.sizeField.copy(h, 124);
  else h.write(octal(spec.size ?? 0, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write(spec.type ?? '0', 156, 'latin1');
  if (spec.linkname) h.write(spec.linkname, 157, 100, 'utf8');
  const format = spec.format ?? 'ustar';
  if (format === 'ustar') {
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
  } else if (format === 'gnu') {
    h.write('ustar ', 257, 'latin1');
    h.write(' \0', 263, 'latin1');
  }
  if (spec.prefix) h.write(spec.prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += spec.checksum === 'signed' && b >= 0x80 ? b - 0x100 : b;
  if (spec.checksum === 'wrong') sum += 1;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  return h;
}

/** A body padded to whole blocks. */
export function padded(body: Buffer | string): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

/** A complete entry: header block plus padded body. */
export function entry(spec: BlockSpec, body: Buffer | string = ''): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([block({ ...spec, size: spec.size ?? b.length }), padded(b)]);
}

/** A PAX header entry ('x', or 'g' for a global one) holding these records. */
export function pax(records: Record<string, Buffer | string>, type: 'x' | 'g' = 'x'): Buffer {
  return entry({ name: 'PaxHeader', type }, paxRecords(records));
}

export const END_BLOCKS = Buffer.alloc(1024);
