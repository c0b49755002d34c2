// One 512-byte tar header block, decoded as Go's archive/tar reads it (the reader containerd and
// CRI-O unpack layers with): V7, USTAR (and PAX), GNU and STAR blocks; octal or base-256 numbers;
// a checksum that matches as unsigned or as signed bytes. Pure: bytes in, fields or an error out.
import { invalidArgument, type SkiffError } from '../../core/errors.js';

export const BLOCK = 512;

/** What a typeflag byte makes of an entry; 'other' for flags no unpacker here knows. */
export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file'
  | 'other';

/** The fields of one header block, before any PAX record or GNU long name applies. */
export interface BlockFields {
  readonly typeflag: number;
  /** Prefix and name joined, as raw bytes (decoded once the long forms are known). */
  readonly name: Buffer;
  readonly linkname: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** May be negative: only entries with a body use it, and those check it. */
  readonly size: number;
  readonly mtime: number;
  readonly devmajor: number;
  readonly devminor: number;
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

export function isZeroBlock(block: Buffer): boolean {
  return block.equals(ZERO_BLOCK);
}

/** The bytes of a NUL-terminated field (the whole field when it has no NUL). */
export function cString(b: Buffer, start = 0, len = b.length - start): Buffer {
  const nul = b.indexOf(0, start);
  return b.subarray(start, nul === -1 || nul > start + len ? start + len : nul);
}

/** Octal, padded with spaces or NULs on either side; an empty field is 0. */
function parseOctal(b: Buffer, start: number, len: number, what: string, at: number): number {
  let lo = start;
  let hi = start + len;
  while (lo < hi && (b[lo] === 0x20 || b[lo] === 0)) lo++;
  while (hi > lo && (b[hi - 1] === 0x20 || b[hi - 1] === 0)) hi--;
  const digits = cString(b, lo, hi - lo).toString('latin1');
  if (digits === '') return 0;
  // Fields are at most 12 bytes: 12 octal digits fit a double exactly.
  if (!/^[0-7]+$/.test(digits)) throw bad(at, `${what} field ${JSON.stringify(digits)} is not an octal number`);
  return parseInt(digits, 8);
}

/**
 * A numeric field: base-256 (two's complement, big-endian, top bit of the first byte set) or
 * octal. Values beyond what a double holds exactly are refused; no real archive has them.
 */
export function parseNumeric(b: Buffer, start: number, len: number, what: string, at: number): number {
  if ((b[start]! & 0x80) === 0) return parseOctal(b, start, len, what, at);
  const inv = (b[start]! & 0x40) !== 0 ? 0xff : 0;
  let x = 0n;
  for (let i = start; i < start + len; i++) {
    let c = b[i]! ^ inv;
    if (i === start) c &= 0x7f;
    x = (x << 8n) | BigInt(c);
  }
  const value = inv ? -x - 1n : x;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw bad(at, `${what} field holds ${value}, too large`);
  }
  return Number(value);
}

/** Sums with the checksum field read as spaces: bytes unsigned, and as signed bytes (old tars). */
function checksums(block: Buffer): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += c;
    signed += c < 0x80 ? c : c - 0x100;
  }
  return [unsigned, signed];
}

type Format = 'v7' | 'ustar' | 'gnu' | 'star';

function formatOf(block: Buffer): Format {
  const magic = block.toString('latin1', 257, 263);
  if (magic === 'ustar\0') return block.toString('latin1', 508, 512) === 'tar\0' ? 'star' : 'ustar';
  if (magic === 'ustar ' && block[263] === 0x20 && block[264] === 0) return 'gnu';
  return 'v7';
}

/** Decodes a block that is not all zeros; `at` is its offset in the archive, for messages. */
export function decodeBlock(block: Buffer, at: number): BlockFields {
  const stored = parseOctal(block, 148, 8, 'checksum', at);
  const [unsigned, signed] = checksums(block);
  if (stored !== unsigned && stored !== signed) {
    throw bad(at, 'header checksum does not match: not a tar archive, or a damaged one');
  }
  const format = formatOf(block);
  let name = cString(block, 0, 100);
  let devmajor = 0;
  let devminor = 0;
  if (format !== 'v7') {
    devmajor = parseNumeric(block, 329, 8, 'devmajor', at);
    devminor = parseNumeric(block, 337, 8, 'devminor', at);
    // GNU keeps times where USTAR keeps the prefix; STAR's prefix is shorter.
    const prefix = format === 'ustar' ? cString(block, 345, 155) : format === 'star' ? cString(block, 345, 131) : undefined;
    if (prefix !== undefined && prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  return {
    typeflag: block[156]!,
    name,
    linkname: cString(block, 157, 100),
    mode: parseNumeric(block, 100, 8, 'mode', at),
    uid: parseNumeric(block, 108, 8, 'uid', at),
    gid: parseNumeric(block, 116, 8, 'gid', at),
    size: parseNumeric(block, 124, 12, 'size', at),
    mtime: parseNumeric(block, 136, 12, 'mtime', at),
    devmajor,
    devminor,
  };
}

export function entryType(typeflag: number): TarEntryType {
  switch (typeflag) {
    case 0x30: // '0'
    case 0:
      return 'file';
    case 0x31:
      return 'link';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'character-device';
    case 0x34:
      return 'block-device';
    case 0x35:
      return 'directory';
    case 0x36:
      return 'fifo';
    case 0x37:
      return 'contiguous-file';
    default:
      return 'other';
  }
}

/** Types whose size field is ignored: they never have a body (as in Go's reader). */
export function isHeaderOnly(type: TarEntryType): boolean {
  return type !== 'file' && type !== 'contiguous-file' && type !== 'other';
}

export function bad(at: number, problem: string): SkiffError {
  return invalidArgument(`${problem} (tar header at byte ${at})`);
}
