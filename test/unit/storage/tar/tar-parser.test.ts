import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { isKind, SkiffError } from '../../../../src/core/errors.js';
import { MAX_META_BYTES, TarParser, type TarHeader, type TarLimits } from '../../../../src/storage/tar/tar-parser.js';
import { buildTar } from '../layers/fixtures.js';
import { block, END_BLOCKS, entry, pax } from '../../../support/tar-blocks.js';

const LIMITS: TarLimits = { maxEntries: 1000, maxEntryBytes: 1 << 30 };

interface Parsed {
  header: TarHeader;
  body: Buffer;
}

/** Feeds `buf` in chunks of `chunk` bytes; returns the entries with their bodies, and whether 'end' came. */
function parse(buf: Buffer, chunk = buf.length || 1, limits = LIMITS): { entries: Parsed[]; end: boolean } {
  const p = new TarParser(limits);
  const entries: Parsed[] = [];
  let body: Buffer[] | undefined;
  let end = false;
  const take = (events: ReturnType<TarParser['write']>) => {
    for (const ev of events) {
      if (ev.type === 'entry') {
        expect(body, 'an entry inside another').to.equal(undefined);
        entries.push({ header: ev.header, body: Buffer.alloc(0) });
        body = [];
      } else if (ev.type === 'data') {
        body!.push(Buffer.from(ev.bytes));
      } else if (ev.type === 'entry-end') {
        entries[entries.length - 1]!.body = Buffer.concat(body!);
        body = undefined;
      } else end = true;
    }
  };
  for (let i = 0; i < buf.length; i += chunk) take(p.write(buf.subarray(i, i + chunk)));
  take(p.end());
  expect(body, 'an entry left open').to.equal(undefined);
  return { entries, end };
}

function refusal(buf: Buffer, limits = LIMITS, chunk?: number): SkiffError {
  try {
    parse(buf, chunk, limits);
  } catch (e) {
    if (e instanceof SkiffError) return e;
    throw e;
  }
  throw new Error('expected the parser to refuse');
}

describe('storage/tar/tar-parser', () => {
  it('reads what tar-stream writes, whatever the chunk size: names, types, modes, owners, bodies', async () => {
    const big = randomBytes(70_000);
    const tar = await buildTar([
      { name: 'dir', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 },
      { name: 'dir/small', body: 'hello', mode: 0o4755 },
      { name: 'dir/big', body: big },
      { name: `${'long/'.repeat(30)}name`, body: 'deep' },
      { name: 'link', type: 'symlink', linkname: 'dir/small' },
      { name: 'hard', type: 'link', linkname: 'dir/small' },
      { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'pipe', type: 'fifo' },
    ]);
    for (const chunk of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const { entries, end } = parse(tar, chunk);
      expect(end, `chunk ${chunk}`).to.equal(true);
      expect(entries.map((e) => [e.header.name, e.header.type]), `chunk ${chunk}`).to.deep.equal([
        ['dir', 'directory'],
        ['dir/small', 'file'],
        ['dir/big', 'file'],
        [`${'long/'.repeat(30)}name`, 'file'],
        ['link', 'symlink'],
        ['hard', 'link'],
        ['dev', 'character-device'],
        ['pipe', 'fifo'],
      ]);
      const [dir, small, bigE, deep, link, , dev] = entries;
      expect([dir!.header.mode, dir!.header.uid, dir!.header.gid]).to.deep.equal([0o750, 1000, 1001]);
      expect(small!.body.toString()).to.equal('hello');
      expect(small!.header.mode).to.equal(0o4755);
      expect(bigE!.body.equals(big)).to.equal(true);
      expect(deep!.body.toString()).to.equal('deep');
      expect(link!.header.linkname).to.equal('dir/small');
      expect([dev!.header.devmajor, dev!.header.devminor]).to.deep.equal([1, 3]);
    }
  });

  describe('extended headers are capped at 1 MiB, from their header block alone', () => {
    const cases: [string, string, RegExp][] = [
      ['x', 'PAX header', /^PAX header of 4294967296 bytes exceeds 1 MiB/],
      ['g', 'global PAX header', /^global PAX header of 4294967296 bytes exceeds 1 MiB/],
      ['L', 'GNU long name', /^GNU long name of 4294967296 bytes exceeds 1 MiB/],
      ['K', 'GNU long link name', /^GNU long link name of 4294967296 bytes exceeds 1 MiB/],
    ];
    for (const [type, what, message] of cases) {
      it(`a ${what} of 4 GiB is refused before any of it is read`, () => {
        const p = new TarParser(LIMITS);
        let err: unknown;
        try {
          // The header block alone: nothing of the body has arrived.
          p.write(block({ name: 'meta', type, size: 2 ** 32, format: type === 'L' || type === 'K' ? 'gnu' : 'ustar' }));
        } catch (e) {
          err = e;
        }
        expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
        expect((err as Error).message).to.match(message);
        expect((err as Error).message).to.contain('tar header at byte 0');
      });
    }

    it('a long name of exactly 1 MiB is read; one byte more is refused', () => {
      const name = Buffer.alloc(MAX_META_BYTES, 0x61);
      const ok = Buffer.concat([entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, name), entry({ name: 'short' }, 'x'), END_BLOCKS]);
      // Read, then refused for what it is: a name no file system takes.
      expect(refusal(ok).message).to.match(/^entry name of 1048576 bytes exceeds 4096/);
      const tooLong = entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, Buffer.alloc(MAX_META_BYTES + 1, 0x61));
      expect(refusal(tooLong).message).to.match(/^GNU long name of 1048577 bytes exceeds 1 MiB/);
    });
  });

  it('takes a GNU long name and link target for the next entry, over a PAX path', () => {
    const name = `${'n'.repeat(200)}/file`;
    const target = `${'t'.repeat(150)}/target`;
    const tar = Buffer.concat([
      pax({ path: 'from-pax' }),
      entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, `${name}\0`),
      entry({ name: '././@LongLink', type: 'K', format: 'gnu' }, target),
      entry({ name: 'truncated', type: '2', format: 'gnu' }),
      entry({ name: 'next' }, 'x'),
      END_BLOCKS,
    ]);
    const { entries } = parse(tar, 100);
    expect(entries.map((e) => [e.header.name, e.header.linkname])).to.deep.equal([
      [name, target],
      ['next', ''],
    ]);
  });

  it('applies PAX records (path, linkpath, size, owners, times) and keeps binary values raw', () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0xff, 0x00, 0x00]);
    const body = 'pax sized body';
    const tar = Buffer.concat([
      pax({
        path: 'pax/path',
        size: String(body.length),
        uid: '100000',
        gid: '200000',
        mtime: '1700000000.5',
        atime: '1600000000',
        'SCHILY.xattr.security.capability': cap,
      }),
      // The block's own size field says 0: the PAX record wins.
      Buffer.concat([block({ name: 'short', size: 0 }), Buffer.from(body), Buffer.alloc(512 - body.length)]),
      pax({ linkpath: 'pax/target' }),
      entry({ name: 'l', type: '2' }),
      END_BLOCKS,
    ]);
    const { entries } = parse(tar, 3);
    const h = entries[0]!.header;
    expect([h.name, h.size, h.uid, h.gid, h.mtime, h.atime]).to.deep.equal(['pax/path', body.length, 100000, 200000, 1700000000.5, 1600000000]);
    expect(entries[0]!.body.toString()).to.equal(body);
    expect(h.pax?.get('SCHILY.xattr.security.capability')?.equals(cap)).to.equal(true);
    expect(entries[1]!.header.linkname).to.equal('pax/target');
    expect(entries[1]!.header.pax?.has('path')).to.equal(false);
  });

  it('checks global PAX headers and then ignores them, as containerd does', () => {
    const tar = Buffer.concat([pax({ comment: 'git commit', uid: '5' }, 'g'), entry({ name: 'f', uid: 7 }, 'x'), END_BLOCKS]);
    const { entries } = parse(tar);
    expect(entries.map((e) => [e.header.name, e.header.uid])).to.deep.equal([['f', 7]]);
    expect(refusal(Buffer.concat([entry({ name: 'g', type: 'g' }, '9 a=b\n'), END_BLOCKS])).message).to.contain('malformed global PAX header');
  });

  describe('refuses malformed PAX records, naming the problem', () => {
    const raw = (records: string) => Buffer.concat([entry({ name: 'PaxHeader', type: 'x' }, records), entry({ name: 'f' }), END_BLOCKS]);
    const cases: [string, string, RegExp][] = [
      ['a record without a newline', '8 a=bcd!', /does not end in a newline/],
      ['a length past the header', '99 a=b\n', /length 99 does not fit/],
      ['a length that is not a number', 'x a=b\n', /not a number/],
      ['a record without "="', '7 abcd\n', /no "="/],
      ['a NUL in a path', '12 path=a\0b\n', /NUL in "path"/],
      ['a size that is not a number', '12 size=12x\n', /PAX record size="12x" is not a number/],
      ['an mtime that is not a time', '13 mtime=1.x\n', /PAX record mtime="1.x" is not a number/],
    ];
    for (const [what, records, message] of cases) {
      it(what, () => {
        const e = refusal(raw(records));
        expect(isKind(e, 'InvalidArgument'), e.message).to.equal(true);
        expect(e.message).to.match(message);
      });
    }
  });

  it('reads base-256 numbers, signed checksums, V7 and GNU blocks, and ustar prefixes', () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUInt32BE(3, 8);
    const tar = Buffer.concat([
      block({ name: 'b256', sizeField: size }),
      Buffer.concat([Buffer.from('abc'), Buffer.alloc(509)]),
      entry({ name: 'signed-\u00e9', checksum: 'signed' }, 'x'),
      entry({ name: 'v7', format: 'v7' }, 'y'),
      entry({ name: 'gnu', format: 'gnu', prefix: 'ignored' }, 'z'),
      entry({ name: 'name', prefix: 'the/prefix' }, 'p'),
      END_BLOCKS,
    ]);
    const { entries } = parse(tar);
    expect(entries.map((e) => [e.header.name, e.body.toString()])).to.deep.equal([
      ['b256', 'abc'],
      ['signed-\u00e9', 'x'],
      ['v7', 'y'],
      ['gnu', 'z'],
      ['the/prefix/name', 'p'],
    ]);
  });

  it('refuses a bad checksum, a negative size and a non-octal number as InvalidArgument', () => {
    const negative = Buffer.alloc(12, 0xff);
    const cases: [Buffer, RegExp][] = [
      [entry({ name: 'f', checksum: 'wrong' }, 'x'), /checksum does not match/],
      [block({ name: 'neg', sizeField: negative }), /entry "neg" has a negative size/],
      [block({ name: 'oct', sizeField: Buffer.from('0000000008x\0') }), /size field "0000000008x" is not an octal number/],
    ];
    for (const [buf, message] of cases) {
      const e = refusal(Buffer.concat([buf, END_BLOCKS]));
      expect(isKind(e, 'InvalidArgument'), e.message).to.equal(true);
      expect(e.message).to.match(message);
    }
  });

  it('caps entries and the body of one entry with ResourceExhausted, before reading the body', () => {
    const three = Buffer.concat([entry({ name: 'a' }), entry({ name: 'b' }), entry({ name: 'c' }), END_BLOCKS]);
    expect(parse(three, undefined, { ...LIMITS, maxEntries: 3 }).entries).to.have.length(3);
    const many = refusal(three, { ...LIMITS, maxEntries: 2 });
    expect(isKind(many, 'ResourceExhausted')).to.equal(true);
    expect(many.message).to.equal('more than 2 entries (at "c")');
    // Only the header: the parser refuses from the declared size.
    const big = refusal(block({ name: 'huge', size: 2 ** 33 }), { ...LIMITS, maxEntryBytes: 2 ** 32 });
    expect(isKind(big, 'ResourceExhausted')).to.equal(true);
    expect(big.message).to.equal('entry "huge" of 8589934592 bytes exceeds the limit of 4294967296 bytes');
  });

  it('refuses names and link targets longer than PATH_MAX', () => {
    const name = refusal(Buffer.concat([pax({ path: 'a/'.repeat(2100) }), entry({ name: 'f' })]));
    expect(name.message).to.match(/^entry name of 4200 bytes exceeds 4096 \(PATH_MAX\)/);
    const link = refusal(Buffer.concat([pax({ linkpath: 'b'.repeat(5000) }), entry({ name: 'l', type: '2' })]));
    expect(link.message).to.match(/^link target of 5000 bytes exceeds 4096/);
  });

  it('refuses GNU sparse files, which it cannot lay out', () => {
    expect(refusal(Buffer.concat([entry({ name: 'sp', type: 'S', format: 'gnu' }, 'x'), END_BLOCKS])).message).to.contain(
      'entry "sp" is a GNU sparse file',
    );
    expect(refusal(Buffer.concat([pax({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' }), entry({ name: 'sp' }, 'x')])).message).to.contain(
      'GNU sparse files are not supported',
    );
  });

  it('gives links, directories, devices and fifos no body, whatever their size field says (as Go does)', () => {
    const tar = Buffer.concat([block({ name: 'd/', type: '5', size: 512 }), entry({ name: 'after' }, 'x'), END_BLOCKS]);
    const { entries } = parse(tar);
    expect(entries.map((e) => [e.header.name, e.header.size])).to.deep.equal([
      ['d/', 0],
      ['after', 1],
    ]);
  });

  it('stops at the end marker and ignores what follows; an archive without one ends at a block boundary', () => {
    const afterEnd = Buffer.concat([entry({ name: 'a' }, 'x'), END_BLOCKS, entry({ name: 'hidden' }, 'y'), Buffer.from('junk')]);
    const r = parse(afterEnd, 100);
    expect(r.entries.map((e) => e.header.name)).to.deep.equal(['a']);
    expect(r.end).to.equal(true);
    const unterminated = parse(entry({ name: 'a' }, 'x'));
    expect([unterminated.entries.length, unterminated.end]).to.deep.equal([1, false]);
    expect(parse(Buffer.alloc(0)).entries).to.deep.equal([]);
  });

  it('refuses a header after a single zero block, and archives cut short anywhere', () => {
    expect(refusal(Buffer.concat([Buffer.alloc(512), entry({ name: 'a' })])).message).to.match(/header after a zero block/);
    const tar = Buffer.concat([pax({ path: 'p' }), entry({ name: 'a' }, 'x'.repeat(1000)), END_BLOCKS]);
    expect(refusal(tar.subarray(0, 100)).message).to.match(/truncated: it ends inside a header block/);
    expect(refusal(tar.subarray(0, 515)).message).to.match(/truncated: it ends inside a PAX header/);
    expect(refusal(tar.subarray(0, 600)).message).to.match(/truncated: it ends inside a PAX header/);
    expect(refusal(tar.subarray(0, 1024 + 512 + 10)).message).to.match(/truncated: it ends inside entry "p"/);
  });
});
