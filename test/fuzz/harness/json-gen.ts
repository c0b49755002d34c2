// JSON-aware inputs: random documents whose keys come from the schema being parsed (so they get
// past "unknown field" and reach the checks behind it), and valid documents with one value at a
// time replaced by something of another shape. Everything ends as bytes, what the parsers read.
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Numbers that sit on the edges of JSON number handling. */
const EDGE_NUMBERS = [0, -0, 1, -1, 0.5, 255, 4095, 4096, 65535, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER];

/** A JSON value whose object keys are mostly `keys`, whose strings are mostly `words`. */
export function jsonValue(keys: readonly string[], words: readonly string[] = [], maxDepth = 4): fc.Arbitrary<Json> {
  const key = keys.length
    ? fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) })
    : fc.string({ maxLength: 8 });
  const str = words.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...words) }, { weight: 1, arbitrary: fc.string({ maxLength: 16 }) })
    : fc.string({ maxLength: 16 });
  const num = fc.oneof(fc.constantFrom(...EDGE_NUMBERS), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
  const { value } = fc.letrec<{ value: Json }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      fc.constant(null),
      fc.boolean(),
      num,
      str,
      fc.array(tie('value'), { maxLength: 6 }),
      fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    ),
  }));
  return value;
}

/** Every path into a document, the root ([]) included. */
function paths(doc: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(doc)) doc.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) paths(v, [...prefix, k], out);
  return out;
}

function replaceAt(doc: Json, path: readonly (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(doc)) return doc.map((v, i) => (i === head ? replaceAt(v, rest, value) : v));
  if (doc !== null && typeof doc === 'object') return { ...doc, [head as string]: replaceAt(doc[head as string] as Json, rest, value) };
  return doc;
}

export interface JsonEdit {
  readonly at: number;
  readonly value: Json;
  /** Also add an unknown key next to it, or repeat an array element. */
  readonly grow: number;
}

/** `docs` with up to `maxEdits` values swapped for random ones (of any type, keys from `keys`). */
export function editedJson(docs: readonly Json[], keys: readonly string[], words: readonly string[] = []): fc.Arbitrary<Json> {
  const edit = fc.record({ at: fc.nat(), value: jsonValue(keys, words, 3), grow: fc.nat({ max: 3 }) });
  // No edit at all now and then: the valid documents themselves reach the code behind the checks.
  return fc.tuple(fc.nat({ max: docs.length - 1 }), fc.array(edit, { minLength: 0, maxLength: 3 })).map(([i, edits]) => {
    let doc = docs[i] as Json;
    for (const e of edits) {
      const all = paths(doc);
      const path = all[e.at % all.length]!;
      doc = replaceAt(doc, path, e.value);
      if (e.grow === 1 && Array.isArray(e.value) && e.value.length) {
        doc = replaceAt(doc, path, [...e.value, ...e.value]);
      }
    }
    return doc;
  });
}

/** A document as the bytes a peer would send; now and then with odd but valid spacing. */
export function jsonBytes(doc: fc.Arbitrary<Json>): fc.Arbitrary<Buffer> {
  return fc.tuple(doc, fc.constantFrom(0, 0, 0, 2)).map(([d, indent]) => Buffer.from(JSON.stringify(d, null, indent)));
}
