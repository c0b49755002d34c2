// Byte-level mutations of seed inputs, the kind libFuzzer and AFL apply (bit flips, interesting
// integers, inserts, deletes, repeats, splices), as fast-check arbitraries: a mutated input is a
// seed plus a short list of mutations, so shrinking drops mutations and moves positions towards 0
// until the smallest change that still fails is left.
import fc from 'fast-check';

/** Integers that sit on the edges parsers get wrong: signs, widths, lengths. */
const INTERESTING_32 = [0, 1, 2, 4, 8, 16, 255, 256, 511, 512, 4095, 4096, 65535, 65536, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_8 = [0x00, 0x01, 0x20, 0x22, 0x2c, 0x2f, 0x30, 0x37, 0x3a, 0x3d, 0x5b, 0x5c, 0x7b, 0x7f, 0x80, 0xff];
/** ASCII numbers as tar, PAX and JSON write them. */
const INTERESTING_TEXT = ['0', '-1', '77777777777', '7777777', '99999999999', '1e400', '-0', '0x10', ' ', '\0', '\n', '9007199254740993'];

export type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'byte'; readonly at: number; readonly value: number }
  | { readonly op: 'u16' | 'u32'; readonly at: number; readonly value: number; readonly be: boolean }
  | { readonly op: 'text'; readonly at: number; readonly text: string }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly len: number }
  | { readonly op: 'repeat'; readonly at: number; readonly len: number; readonly times: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'splice'; readonly at: number; readonly other: number; readonly from: number };

const pos = fc.nat();

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('byte' as const), at: pos, value: fc.oneof(fc.constantFrom(...INTERESTING_8), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ op: fc.constantFrom('u16' as const, 'u32' as const), at: pos, value: fc.constantFrom(...INTERESTING_32), be: fc.boolean() }),
  fc.record({ op: fc.constant('text' as const), at: pos, text: fc.constantFrom(...INTERESTING_TEXT) }),
  fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 512 }) }),
  fc.record({
    op: fc.constant('repeat' as const),
    at: pos,
    len: fc.integer({ min: 1, max: 64 }),
    // Mostly a few copies; now and then enough to make a quadratic loop show.
    times: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 2, max: 16 }) }, { weight: 1, arbitrary: fc.integer({ min: 17, max: 20000 }) }),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: pos }),
  fc.record({ op: fc.constant('splice' as const), at: pos, other: fc.nat(), from: pos }),
);

/** Applies mutations in order; positions wrap around the current length. `maxLength` caps growth. */
export function applyMutations(seed: Uint8Array, muts: readonly Mutation[], others: readonly Uint8Array[], maxLength: number): Buffer {
  let b = Buffer.from(seed);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.op) {
      case 'flip':
        if (b.length) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'byte':
        if (b.length) b[at] = m.value;
        break;
      case 'u16':
        if (at + 2 <= b.length) (m.be ? b.writeUInt16BE(m.value & 0xffff, at) : b.writeUInt16LE(m.value & 0xffff, at));
        break;
      case 'u32':
        if (at + 4 <= b.length) (m.be ? b.writeUInt32BE(m.value >>> 0, at) : b.writeUInt32LE(m.value >>> 0, at));
        break;
      case 'text':
        b.write(m.text, at, 'latin1');
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'repeat': {
        const slice = b.subarray(at, at + m.len);
        const times = Math.min(m.times, Math.floor((maxLength - b.length) / Math.max(1, slice.length)));
        if (times > 0) b = Buffer.concat([b.subarray(0, at), ...Array<Buffer>(times + 1).fill(slice), b.subarray(at + slice.length)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'splice': {
        const other = others.length ? others[m.other % others.length]! : b;
        const from = other.length ? m.from % other.length : 0;
        b = Buffer.concat([b.subarray(0, at), other.subarray(from)]);
        break;
      }
    }
    if (b.length > maxLength) b = b.subarray(0, maxLength);
  }
  return b;
}

/** A seed from the list, changed by up to `maxMutations` mutations. */
export function mutatedSeeds(seeds: readonly Uint8Array[], opts: { maxLength: number; maxMutations?: number }): fc.Arbitrary<Buffer> {
  if (seeds.length === 0) throw new Error('mutatedSeeds needs at least one seed');
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: opts.maxMutations ?? 6 }))
    .map(([i, muts]) => applyMutations(seeds[i]!, muts, seeds, opts.maxLength));
}

/** Raw bytes, for parsers that must survive anything at all. */
export function rawBytes(maxLength: number): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
}

/**
 * The usual input mix: mostly structure-aware inputs and mutated seeds, some raw bytes, and
 * structured inputs with byte mutations on top (which reach the checks after the first one).
 */
export function inputMix(parts: {
  structured?: fc.Arbitrary<Buffer>;
  seeds: readonly Uint8Array[];
  maxLength: number;
}): fc.Arbitrary<Buffer> {
  const arbs: fc.WeightedArbitrary<Buffer>[] = [
    { weight: 4, arbitrary: mutatedSeeds(parts.seeds, { maxLength: parts.maxLength }) },
    { weight: 1, arbitrary: rawBytes(Math.min(parts.maxLength, 4096)) },
  ];
  if (parts.structured) {
    const structured = parts.structured;
    arbs.push({ weight: 4, arbitrary: structured });
    arbs.push({
      weight: 2,
      arbitrary: fc
        .tuple(structured, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([b, muts]) => applyMutations(b, muts, parts.seeds, parts.maxLength)),
    });
  }
  return fc.oneof(...arbs);
}
