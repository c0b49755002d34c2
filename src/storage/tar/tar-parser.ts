// The tar format as a push parser: bytes go in chunk by chunk, events come out (an entry's header,
// its body as slices of the chunks, its end, the end of the archive). It follows Go's archive/tar,
// and it never holds more than one header block and one extended header, so a hostile archive
// cannot make it buffer more than that:
//   - PAX headers (x, g) and GNU long names (L, K) are refused from their header block when they
//     declare more than 1 MiB (Go's limit), before a byte of them is read;
//   - names and link targets longer than PATH_MAX are refused, so are GNU sparse files;
//   - the entry count and the body size of one entry are capped by the caller's limits.
// Pure and synchronous (no I/O, no clock), so a fuzzer can drive it directly.
import { SkiffError } from '../../core/errors.js';
import { bad, BLOCK, cString, decodeBlock, entryType, isHeaderOnly, isZeroBlock, type BlockFields, type TarEntryType } from './tar-header.js';
import { PaxError, paxInt, parsePaxRecords, paxTime, type PaxRecords } from './tar-pax.js';

export type { TarEntryType } from './tar-header.js';
export type { PaxRecords } from './tar-pax.js';

export interface TarLimits {
  /** Entries (files, directories, links, …) one archive may hold; extended headers do not count. */
  readonly maxEntries: number;
  /** The largest body one entry may have. */
  readonly maxEntryBytes: number;
}

/** Go's archive/tar reads PAX headers and GNU long names up to this size and no further. */
export const MAX_META_BYTES = 1024 * 1024;
/** Linux's PATH_MAX: a longer name could not be created anyway. */
export const MAX_NAME_BYTES = 4096;

export interface TarHeader {
  readonly name: string;
  readonly linkname: string;
  readonly type: TarEntryType;
  /** The raw typeflag character, for messages about types no one handles. */
  readonly typeflag: string;
  /** Bytes of body that follow: 0 for links, directories, devices and fifos whatever the header says. */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch; fractional when a PAX record says so. */
  readonly mtime: number;
  /** From a PAX record only. */
  readonly atime: number | undefined;
  readonly devmajor: number;
  readonly devminor: number;
  /** The records of the entry's PAX header (xattrs among them), raw. */
  readonly pax: PaxRecords | undefined;
  /** Where the entry's header block starts in the archive. */
  readonly offset: number;
}

export type TarEvent =
  | { readonly type: 'entry'; readonly header: TarHeader }
  | { readonly type: 'data'; readonly bytes: Buffer }
  | { readonly type: 'entry-end' }
  /** The end-of-archive marker (two zero blocks): whatever follows is ignored, as Go does. */
  | { readonly type: 'end' };

type MetaKind = 'x' | 'g' | 'L' | 'K';

const META: Readonly<Record<number, MetaKind>> = { 0x78: 'x', 0x67: 'g', 0x4c: 'L', 0x4b: 'K' };
const META_NAMES: Readonly<Record<MetaKind, string>> = {
  x: 'PAX header',
  g: 'global PAX header',
  L: 'GNU long name',
  K: 'GNU long link name',
};
const GNU_SPARSE = 0x53; // 'S'
const ENTRY_END: TarEvent = { type: 'entry-end' };
const END: TarEvent = { type: 'end' };

type State = 'header' | 'meta' | 'body' | 'pad' | 'trailing';

const padOf = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

export class TarParser {
  /** Bytes taken so far. */
  offset = 0;
  /** Entries seen so far. */
  entries = 0;
  private state: State = 'header';
  /** A header block split across chunks, gathered here. */
  private readonly block = Buffer.alloc(BLOCK);
  private fill = 0;
  /** One zero block was read; a second one ends the archive. */
  private zeroSeen = false;
  /** Bytes of the current body or extended header still to come, then of padding. */
  private left = 0;
  private pad = 0;
  private meta: { kind: MetaKind; buf: Buffer; fill: number; at: number } | undefined;
  private pax: PaxRecords | undefined;
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  /** What the bytes being read belong to, for messages. */
  private current = 'a header block';

  constructor(private readonly limits: TarLimits) {}

  /** Throws a SkiffError (InvalidArgument, or ResourceExhausted past a limit) for a bad archive. */
  write(chunk: Buffer): TarEvent[] {
    const out: TarEvent[] = [];
    const base = this.offset;
    let pos = 0;
    while (pos < chunk.length) {
      const avail = chunk.length - pos;
      switch (this.state) {
        case 'header': {
          if (this.fill === 0 && avail >= BLOCK) {
            this.onBlock(chunk.subarray(pos, pos + BLOCK), base + pos, out);
            pos += BLOCK;
            break;
          }
          const n = Math.min(BLOCK - this.fill, avail);
          chunk.copy(this.block, this.fill, pos, pos + n);
          this.fill += n;
          pos += n;
          if (this.fill === BLOCK) {
            this.fill = 0;
            this.onBlock(this.block, base + pos - BLOCK, out);
          }
          break;
        }
        case 'meta': {
          const m = this.meta!;
          const n = Math.min(this.left, avail);
          chunk.copy(m.buf, m.fill, pos, pos + n);
          m.fill += n;
          this.left -= n;
          pos += n;
          if (this.left === 0) this.finishMeta();
          break;
        }
        case 'body': {
          const n = Math.min(this.left, avail);
          out.push({ type: 'data', bytes: chunk.subarray(pos, pos + n) });
          this.left -= n;
          pos += n;
          if (this.left === 0) {
            out.push(ENTRY_END);
            this.state = this.pad > 0 ? 'pad' : 'header';
          }
          break;
        }
        case 'pad': {
          const n = Math.min(this.pad, avail);
          this.pad -= n;
          pos += n;
          if (this.pad === 0) this.state = 'header';
          break;
        }
        case 'trailing':
          pos = chunk.length;
          break;
      }
    }
    this.offset = base + chunk.length;
    return out;
  }

  /** The source has ended: fine at a block boundary (with or without the end marker), else truncated. */
  end(): TarEvent[] {
    if (this.state === 'trailing' || (this.state === 'header' && this.fill === 0)) return [];
    const where = this.state === 'header' ? 'a header block' : this.current;
    throw bad(this.offset, `the archive is truncated: it ends inside ${where}`);
  }

  private onBlock(block: Buffer, at: number, out: TarEvent[]): void {
    if (isZeroBlock(block)) {
      if (this.zeroSeen) {
        this.state = 'trailing';
        out.push(END);
      }
      this.zeroSeen = true;
      return;
    }
    if (this.zeroSeen) throw bad(at, 'a header after a zero block: the archive is damaged');
    const f = decodeBlock(block, at);
    const kind = META[f.typeflag];
    if (kind !== undefined) return this.startMeta(kind, f.size, at);
    if (f.typeflag === GNU_SPARSE) {
      throw bad(at, `entry ${JSON.stringify((this.longName ?? f.name).toString('utf8'))} is a GNU sparse file, which is not supported`);
    }
    this.startEntry(f, at, out);
  }

  private startMeta(kind: MetaKind, size: number, at: number): void {
    const what = META_NAMES[kind];
    if (size < 0) throw bad(at, `${what} with a negative size`);
    if (size > MAX_META_BYTES) throw bad(at, `${what} of ${size} bytes exceeds 1 MiB`);
    this.meta = { kind, buf: Buffer.allocUnsafe(size), fill: 0, at };
    this.current = `a ${what}`;
    this.left = size;
    this.pad = padOf(size);
    this.state = 'meta';
    if (size === 0) this.finishMeta();
  }

  private finishMeta(): void {
    const { kind, buf, at } = this.meta!;
    this.meta = undefined;
    this.state = this.pad > 0 ? 'pad' : 'header';
    switch (kind) {
      case 'x':
        // A second PAX header before the entry replaces the first, as in Go.
        this.pax = records(buf, at, META_NAMES.x);
        break;
      case 'g':
        // Checked, then ignored: Go hands global headers to its caller, and containerd skips them.
        // Go returns the 'g' header as an entry of its own, so the PAX records and GNU long names
        // read before it end with it; keeping them would name the next entry differently from Go.
        records(buf, at, META_NAMES.g);
        this.pax = this.longName = this.longLink = undefined;
        break;
      case 'L':
        this.longName = Buffer.from(cString(buf));
        break;
      case 'K':
        this.longLink = Buffer.from(cString(buf));
        break;
    }
  }

  private startEntry(f: BlockFields, at: number, out: TarEvent[]): void {
    const pax = this.pax;
    let name = f.name;
    let linkname = f.linkname;
    let { size, uid, gid, mtime } = f;
    let atime: number | undefined;
    if (pax !== undefined) {
      const num = (key: string, parse: (v: Buffer) => number | undefined, dflt: number): number => {
        const v = pax.get(key);
        if (v === undefined) return dflt;
        const n = parse(v);
        if (n === undefined) throw bad(at, `PAX record ${key}=${JSON.stringify(v.toString('latin1').slice(0, 40))} is not a number`);
        return n;
      };
      for (const key of pax.keys()) {
        if (key.startsWith('GNU.sparse.')) throw bad(at, `entry with the PAX record ${key}: GNU sparse files are not supported`);
      }
      name = pax.get('path') ?? name;
      linkname = pax.get('linkpath') ?? linkname;
      size = num('size', paxInt, size);
      uid = num('uid', paxInt, uid);
      gid = num('gid', paxInt, gid);
      mtime = num('mtime', paxTime, mtime);
      const a = pax.get('atime');
      atime = a === undefined ? undefined : num('atime', paxTime, 0);
    }
    // GNU long names win over PAX paths, as in Go.
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    this.pax = this.longName = this.longLink = undefined;

    if (name.length > MAX_NAME_BYTES) throw bad(at, `entry name of ${name.length} bytes exceeds ${MAX_NAME_BYTES} (PATH_MAX)`);
    if (linkname.length > MAX_NAME_BYTES) throw bad(at, `link target of ${linkname.length} bytes exceeds ${MAX_NAME_BYTES} (PATH_MAX)`);
    const nameText = name.toString('utf8');
    let type = entryType(f.typeflag);
    // Old archives mark directories only by the trailing slash of a '\0' entry.
    if (f.typeflag === 0 && nameText.endsWith('/')) type = 'directory';

    if (++this.entries > this.limits.maxEntries) {
      throw new SkiffError('ResourceExhausted', `more than ${this.limits.maxEntries} entries (at ${JSON.stringify(nameText)})`);
    }
    const body = isHeaderOnly(type) ? 0 : size;
    if (body < 0) throw bad(at, `entry ${JSON.stringify(nameText)} has a negative size`);
    if (body > this.limits.maxEntryBytes) {
      throw new SkiffError(
        'ResourceExhausted',
        `entry ${JSON.stringify(nameText)} of ${body} bytes exceeds the limit of ${this.limits.maxEntryBytes} bytes`,
      );
    }
    out.push({
      type: 'entry',
      header: {
        name: nameText,
        linkname: linkname.toString('utf8'),
        type,
        typeflag: String.fromCharCode(f.typeflag),
        size: body,
        mode: f.mode,
        uid,
        gid,
        mtime,
        atime,
        devmajor: f.devmajor,
        devminor: f.devminor,
        pax,
        offset: at,
      },
    });
    this.current = `entry ${JSON.stringify(nameText)}`;
    if (body === 0) {
      out.push(ENTRY_END);
      this.state = 'header';
    } else {
      this.left = body;
      this.pad = padOf(body);
      this.state = 'body';
    }
  }
}

function records(buf: Buffer, at: number, what: string): Map<string, Buffer> {
  try {
    return parsePaxRecords(buf);
  } catch (e) {
    if (e instanceof PaxError) throw bad(at, `malformed ${what}: ${e.message}`);
    throw e;
  }
}
