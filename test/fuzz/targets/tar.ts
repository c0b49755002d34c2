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
import type { TarLimits } from '../../../src/storage/tar/tar-parser.js';
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

