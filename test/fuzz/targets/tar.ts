// Layer tars, the bytes an image's author controls completely: read by storage/tar/ (TarReader,
// TarParser) and applied by storage/layers/ into a directory. Besides the error contract, every input checks the promise of
// tar-paths.ts: nothing is written outside the target directory.
//
// `unpackEntry` is the parser entry point; point it elsewhere (a new reader, limits in front of
// it) and the target fuzzes that instead.
import fc from 'fast-check';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger } from '../../../src/log/logger.js';
import type { OpContext } from '../../../src/core/context.js';
import { unpackTar } from '../../../src/storage/layers/tar-unpack.js';
import { parsePaxRecords, PaxError } from '../../../src/storage/tar/tar-pax.js';
import { MAX_NAME_BYTES, TarParser, type TarEvent, type TarLimits } from '../../../src/storage/tar/tar-parser.js';
import { realSys, type Sys } from '../../../src/sys/index.js';
import { applyMutations, inputMix, mutation } from '../harness/mutate.js';
import { scratch } from '../harness/scratch.js';
import { fixChecksums, paxRecord, writeTar, type RawEntry } from '../harness/tar-writer.js';
import { skiffKinds, violation, type FuzzTarget } from '../harness/target.js';

export type UnpackEntry = (ctx: OpContext, tar: Readable, dir: string, sys: Sys, limits: TarLimits) => Promise<unknown>;
export const unpackEntry: { fn: UnpackEntry } = { fn: unpackTar };

/**
 * Low enough that generated archives (up to 8 entries, bodies up to ~1 KiB, sizes up to 2^33)
 * cross them now and then: a limit must refuse with ResourceExhausted, never half-apply silently.
 */
export const FUZZ_TAR_LIMITS: TarLimits = { maxEntries: 12, maxEntryBytes: 64 * 1024 };

const pathPart = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'etc', 'usr', 'bin', 'x y', 'é', '.wh.a', '.wh..wh..opq', '.wh..wh.plnk', '.wh.', '.wh..', 'a\\b') },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('n'.repeat(255), 'n'.repeat(256)) },
);
const path = fc.tuple(fc.boolean(), fc.array(pathPart, { minLength: 1, maxLength: 4 })).map(([abs, ps]) => `${abs ? '/' : ''}${ps.join('/')}`);
const typeflag = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('0', '5', '2', '1', '3', '4', '6', '7', '\0') }, { weight: 1, arbitrary: fc.constantFrom('x', 'g', 'L', 'K', 'S', 'D', 'V', 'Z', '9') });
const number = fc.oneof(fc.constantFrom(0, 1, 0o755, 0o4755, 0o7777, 65534, 2 ** 31, 2 ** 32, 8 ** 11, -1), fc.nat({ max: 0o7777 }));
const paxKey = fc.constantFrom(
  'path', 'linkpath', 'size', 'uid', 'gid', 'mtime', 'atime', 'uname', 'comment', 'SCHILY.xattr.user.x', 'SCHILY.xattr.security.capability',
  'SCHILY.xattr.trusted.overlay.opaque', 'SCHILY.xattr.', 'SCHILY.xattr.security.selinux', 'GNU.sparse.map', 'LIBARCHIVE.xattr.user.y',
);
const paxValue = fc.oneof(fc.constantFrom('0', '-1', '1e400', '99999999999999999999', 'NaN', '', 'a/../../b', '1.5'), fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)));

/** Mostly what real layers hold, so that most archives get applied, not refused at once. */
const plainEntry: fc.Arbitrary<RawEntry> = fc.record(
  {
    name: path,
    type: fc.constantFrom('0', '0', '0', '5', '5', '2', '1', '3', '6'),
    mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o600, 0o1777),
    uid: fc.constantFrom(0, 0, 1000, 65534),
    gid: fc.constantFrom(0, 0, 1000, 65534),
    linkname: fc.oneof(path, fc.constantFrom('/etc/passwd', '../../x', 'a')),
    devmajor: fc.nat({ max: 300 }),
    devminor: fc.nat({ max: 300 }),
    body: fc.uint8Array({ maxLength: 1100 }).map((b) => Buffer.from(b)),
    pax: fc.array(fc.tuple(paxKey, paxValue), { maxLength: 2 }),
    format: fc.constantFrom('ustar' as const, 'gnu' as const, 'v7' as const),
  },
  { requiredKeys: ['name', 'type', 'mode', 'uid', 'gid'] },
);

/** One field of an entry set to an edge value: a lying size, an odd type flag, a huge id… */
const twist: fc.Arbitrary<Partial<RawEntry>> = fc.oneof(
  fc.record({ size: fc.constantFrom(0, 1, 511, 512, 513, 2 ** 33, -1) }),
  fc.record({ type: typeflag }),
  fc.record({ mode: number }),
  fc.record({ uid: number }),
  fc.record({ gid: number }),
  fc.record({ mtime: fc.constantFrom(0, -1, 2 ** 40, 2 ** 33) }),
  fc.record({ longName: path }),
);

const entry: fc.Arbitrary<RawEntry> = fc
  .tuple(plainEntry, fc.option(twist, { freq: 3, nil: undefined }))
  .map(([e, t]) => (t ? { ...e, ...t } : e));

/** Archives from entries, sometimes cut short or without the end blocks, checksums repaired after byte edits. */
const archive: fc.Arbitrary<Buffer> = fc
  .tuple(fc.array(entry, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.array(mutation, { maxLength: 2 }))
  .map(([es, end, muts]) => {
    const tar = writeTar(es, { end });
    return muts.length ? fixChecksums(applyMutations(tar, muts, [], 1 << 20)) : tar;
  });

const SEEDS: RawEntry[][] = [
  [
    { name: 'etc', type: '5', mode: 0o755 },
    { name: 'etc/passwd', type: '0', body: Buffer.from('root:x:0:0::/root:/bin/sh\n') },
    { name: 'etc/link', type: '2', linkname: '/etc/passwd' },
    { name: 'etc/hard', type: '1', linkname: 'etc/passwd' },
    { name: 'dev/null', type: '3', devmajor: 1, devminor: 3 },
    { name: 'fifo', type: '6' },
    { name: 'gone/.wh.old', type: '0' },
    { name: 'opaque/.wh..wh..opq', type: '0' },
  ],
  [
    { name: 'bin/ping', type: '0', body: Buffer.from('ELF'), pax: [['SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2, 0x80, 0x20, 0, 0])], ['mtime', '1600000000.5']] },
    { name: 'x', type: '0', longName: `${'d/'.repeat(80)}file`, body: Buffer.from('long') },
  ],
];

/** The layer goes to <run>/<n>/layer/fs; <run>/<n>/outside must stay exactly as it was. */
let counter = 0;

async function unpackOnce(input: Buffer): Promise<void> {
  const base = join(scratch(), `tar-${counter++}`);
  const target = join(base, 'layer', 'fs');
  const outside = join(base, 'outside');
  mkdirSync(target, { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'sentinel'), 'untouched');
  try {
    const ctx: OpContext = { log: silentLogger(), signal: new AbortController().signal, deadline: undefined };
    // Delivery in odd cuts, as gunzip and the network hand it over.
    const cut = 1 + ((input[0] ?? 0) * 37) % 8192;
    const chunks: Buffer[] = [];
    for (let off = 0; off < input.length; off += cut) chunks.push(input.subarray(off, off + cut));
    try {
      await unpackEntry.fn(ctx, Readable.from(chunks), target, realSys(), FUZZ_TAR_LIMITS);
    } finally {
      if (readdirSync(outside).join() !== 'sentinel' || readFileSync(join(outside, 'sentinel'), 'utf8') !== 'untouched') {
        violation('the unpack changed a directory outside its target');
      }
      if (readdirSync(base).sort().join() !== 'layer,outside' || readdirSync(join(base, 'layer')).join() !== 'fs') {
        violation('the unpack created something outside its target');
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export const tarTarget: FuzzTarget = {
  name: 'tar-unpack',
  about: 'storage/layers/tar-unpack.ts unpackTar (TarReader + tar-apply, with limits): a layer directory, or InvalidArgument / ResourceExhausted; never a write outside it',
  smokeRuns: 150,
  // Mostly with the checksums repaired after the mutations, else the first header stops them all.
  inputs: async () =>
    fc
      .tuple(inputMix({ structured: archive, seeds: SEEDS.map((s) => writeTar(s)), maxLength: 1 << 20 }), fc.nat({ max: 3 }))
      .map(([b, k]) => (k ? fixChecksums(b) : b)),
  run: unpackOnce,
  accepts: skiffKinds('InvalidArgument', 'ResourceExhausted'),
};

export const paxTarget: FuzzTarget = {
  name: 'pax-records',
  about: 'storage/tar/tar-pax.ts parsePaxRecords: raw PAX records, or a PaxError; never more bytes out than in',
  smokeRuns: 500,
  inputs: async () => {
    const records = fc.array(fc.tuple(paxKey, paxValue), { maxLength: 6 }).map((rs) => Buffer.concat(rs.map(([k, v]) => paxRecord(k, v))));
    return inputMix({ structured: records, seeds: [paxRecord('path', 'a/b'), Buffer.concat([paxRecord('SCHILY.xattr.user.a', Buffer.from([0xff, 0])), paxRecord('mtime', '1.5')])], maxLength: 64 * 1024 });
  },
  run: (input) => {
    let total = 0;
    for (const [k, v] of parsePaxRecords(input)) total += Buffer.byteLength(k) + v.length;
    // Keys are decoded as UTF-8: a lone invalid byte may come back as a 3-byte U+FFFD.
    if (total > input.length * 3) violation(`records of ${total} bytes from ${input.length}`);
  },
  accepts: (e) => e instanceof PaxError,
};

/** Tighter than the unpack's, so the parser's own limit checks are crossed often. */
const PARSER_LIMITS: TarLimits = { maxEntries: 6, maxEntryBytes: 4096 };

/** Archives whose extended headers (PAX, GNU long names) and bodies are large, odd, or declared larger than they are. */
const metaHeavy: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      entry,
      fc.record({ name: path, type: fc.constantFrom('0', '5'), longName: fc.constantFrom('n'.repeat(100), 'n'.repeat(4096), 'n'.repeat(4097)) }),
      fc.record({ name: path, type: fc.constantFrom('0', '7', '5'), size: fc.constantFrom(4096, 4097, 2 ** 20, 2 ** 33) }),
      fc.record({ name: path, type: fc.constantFrom('x', 'g', 'L', 'K'), body: fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), size: fc.constantFrom(undefined, 0, 1, 2 ** 20, 2 ** 20 + 1, 2 ** 33) }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((es) => writeTar(es as RawEntry[]));

/**
 * The push parser alone, chunk by chunk: every byte of a body it reports came from the input, no
 * body is longer than its header says or than the limit, and it never reports more entries than
 * allowed. It holds no I/O, so it runs thousands of inputs a second.
 */
function parseOnce(input: Buffer): void {
  const parser = new TarParser(PARSER_LIMITS);
  const cut = 1 + ((input[0] ?? 0) * 53) % 1500;
  let entries = 0;
  let open: { name: string; size: number; got: number } | undefined;
  let dataBytes = 0;
  const take = (events: TarEvent[]) => {
    for (const ev of events) {
      if (ev.type === 'entry') {
        if (open) violation(`entry ${open.name} not ended before the next`);
        if (++entries > PARSER_LIMITS.maxEntries) violation(`${entries} entries past the limit of ${PARSER_LIMITS.maxEntries}`);
        const h = ev.header;
        if (!Number.isSafeInteger(h.size) || h.size < 0 || h.size > PARSER_LIMITS.maxEntryBytes) violation(`entry size ${h.size}`);
        if (Buffer.byteLength(h.name) > MAX_NAME_BYTES * 3) violation(`a name of ${h.name.length} characters`);
        for (const [k, v] of [['uid', h.uid], ['gid', h.gid], ['mode', h.mode], ['devmajor', h.devmajor], ['devminor', h.devminor]] as const) {
          if (!Number.isSafeInteger(v)) violation(`${k} ${v} is not an integer`);
        }
        if (!Number.isFinite(h.mtime)) violation(`mtime ${h.mtime}`);
        open = { name: h.name, size: h.size, got: 0 };
      } else if (ev.type === 'data') {
        if (!open) violation('body bytes outside an entry');
        open.got += ev.bytes.length;
        dataBytes += ev.bytes.length;
        if (open.got > open.size) violation(`entry ${open.name}: ${open.got} body bytes for a size of ${open.size}`);
      } else if (ev.type === 'entry-end') {
        if (!open || open.got !== open.size) violation(`entry ${open?.name} ended after ${open?.got} of ${open?.size} bytes`);
        open = undefined;
      }
    }
  };
  for (let off = 0; off < input.length; off += cut) take(parser.write(input.subarray(off, off + cut)));
  take(parser.end());
  if (open) violation(`the archive ended inside entry ${open.name} without an error`);
  if (dataBytes > input.length) violation(`${dataBytes} body bytes from ${input.length} bytes of input`);
}

export const tarParserTarget: FuzzTarget = {
  name: 'tar-parser',
  about: 'storage/tar/tar-parser.ts TarParser (header blocks, PAX and GNU long names, limits): events true to the bytes, or InvalidArgument / ResourceExhausted',
  smokeRuns: 400,
  inputs: async () =>
    fc
      .tuple(inputMix({ structured: fc.oneof(archive, metaHeavy), seeds: SEEDS.map((s) => writeTar(s)), maxLength: 1 << 21 }), fc.nat({ max: 3 }))
      .map(([b, k]) => (k ? fixChecksums(b) : b)),
  run: parseOnce,
  accepts: skiffKinds('InvalidArgument', 'ResourceExhausted'),
};
