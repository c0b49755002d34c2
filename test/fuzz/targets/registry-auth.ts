// What a registry says about authentication: the WWW-Authenticate challenge of a 401, and the
// token server's JSON answer. Both come from whoever runs the registry (or sits in front of it).
import fc from 'fast-check';
import { parseChallenges, parseTokenResponse } from '../../../src/storage/registry/auth.js';
import { editedJson, jsonBytes, jsonValue, type Json } from '../harness/json-gen.js';
import { inputMix } from '../harness/mutate.js';
import { skiffKinds, violation, type FuzzTarget } from '../harness/target.js';

const CHALLENGE_SEEDS = [
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
  'Basic realm="Registry Realm"',
  'Bearer realm="https://r.example/token",service="r",error="insufficient_scope", Basic realm="x"',
  'Bearer realm="a\\"b\\\\c", scope=repository:a:pull,push',
  'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Challenges as a peer might write them: schemes, parameters, quoting, commas and spaces. */
const challengeText: fc.Arbitrary<Buffer> = (() => {
  const token = fc.oneof(fc.constantFrom('Bearer', 'Basic', 'realm', 'service', 'scope', 'error', '__proto__', 'constructor', 'toString'), fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}$/));
  const quoted = fc.string({ maxLength: 20 }).map((s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`);
  const rawQuoted = fc.string({ maxLength: 20 }).map((s) => `"${s}`);
  const param = fc.tuple(token, fc.constantFrom('=', ' = ', '='), fc.oneof(token, quoted, rawQuoted)).map((p) => p.join(''));
  const challenge = fc.tuple(token, fc.array(param, { maxLength: 4 })).map(([s, ps]) => `${s} ${ps.join(', ')}`);
  return fc.array(challenge, { minLength: 1, maxLength: 4 }).chain((cs) => fc.constantFrom(', ', ',', ' ,, ').map((sep) => Buffer.from(cs.join(sep), 'latin1')));
})();

export const challengeTarget: FuzzTarget = {
  name: 'www-authenticate',
  about: 'storage/registry/auth.ts parseChallenges: a list of challenges; never throws, never touches a prototype',
  smokeRuns: 500,
  inputs: async () => inputMix({ structured: challengeText, seeds: CHALLENGE_SEEDS.map((s) => Buffer.from(s, 'latin1')), maxLength: 16 * 1024 }),
  run: (input) => {
    // Node hands header values over as latin1 strings; several headers as an array.
    const text = input.toString('latin1');
    for (const header of [text, text.split('\n')]) {
      for (const c of parseChallenges(header)) {
        if (!TOKEN.test(c.scheme) || c.scheme !== c.scheme.toLowerCase()) violation(`scheme ${JSON.stringify(c.scheme)}`);
        if (Object.getPrototypeOf(c.params) !== Object.prototype) violation('a parameter replaced the prototype of params');
        for (const [k, v] of Object.entries(c.params)) {
          if (!TOKEN.test(k) || k !== k.toLowerCase()) violation(`parameter name ${JSON.stringify(k)}`);
          if (typeof v !== 'string') violation(`parameter ${k} is not a string`);
        }
      }
    }
    if (({} as Record<string, unknown>)['realm'] !== undefined) violation('Object.prototype was polluted');
  },
  accepts: () => false,
};

const TOKEN_KEYS = ['token', 'access_token', 'expires_in', 'issued_at', 'refresh_token', '__proto__'];
const TOKEN_SEEDS: Json[] = [
  { token: 'abc', access_token: 'abc', expires_in: 300, issued_at: '2024-01-01T00:00:00Z' },
  { access_token: 'x' },
  { token: 'y', expires_in: 1e308, issued_at: 'not a date' },
];

const NOW = Date.UTC(2024, 0, 1);

export const tokenTarget: FuzzTarget = {
  name: 'token-response',
  about: 'storage/registry/auth.ts parseTokenResponse: a token with a reuse time, or Unavailable',
  smokeRuns: 400,
  inputs: async () =>
    inputMix({
      structured: jsonBytes(fc.oneof(editedJson(TOKEN_SEEDS, TOKEN_KEYS, ['2024-01-01T00:00:00Z', 'tok']), jsonValue(TOKEN_KEYS))),
      seeds: TOKEN_SEEDS.map((d) => Buffer.from(JSON.stringify(d))),
      maxLength: 16 * 1024,
    }),
  run: (input) => {
    const t = parseTokenResponse(input, NOW);
    if (typeof t.value !== 'string' || t.value === '') violation('empty token accepted');
    if (typeof t.reuseUntil !== 'number' || Number.isNaN(t.reuseUntil)) violation(`reuseUntil ${t.reuseUntil}`);
  },
  accepts: skiffKinds('Unavailable'),
};
