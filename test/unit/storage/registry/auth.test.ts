import { expect } from 'chai';
import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  basicCredentials,
  credentialsApply,
  normalizeAuthHost,
  parseChallenges,
  parseTokenResponse,
} from '../../../../src/storage/registry/auth.js';
import { AuthFile, lookupCredentials, parseDockerConfig } from '../../../../src/storage/registry/auth-file.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('storage/registry/auth', function () {
  describe('WWW-Authenticate', function () {
    it('parses a Docker Hub bearer challenge', function () {
      const c = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
      expect(c).to.deep.equal([
        {
          scheme: 'bearer',
          params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
        },
      ]);
    });

    it('parses Basic, case-insensitive names and unquoted values', function () {
      expect(parseChallenges('BASIC Realm=registry')).to.deep.equal([{ scheme: 'basic', params: { realm: 'registry' } }]);
      expect(parseChallenges('Basic')).to.deep.equal([{ scheme: 'basic', params: {} }]);
    });

    it('splits several challenges in one header and across headers', function () {
      const c = parseChallenges('Basic realm="a, b", Bearer realm="https://t/token", service=reg , error="invalid_token"');
      expect(c.map((x) => x.scheme)).to.deep.equal(['basic', 'bearer']);
      expect(c[0]!.params).to.deep.equal({ realm: 'a, b' });
      expect(c[1]!.params).to.deep.equal({ realm: 'https://t/token', service: 'reg', error: 'invalid_token' });
      expect(parseChallenges(['Basic realm=x', 'Bearer realm=y']).map((x) => x.scheme)).to.deep.equal(['basic', 'bearer']);
    });

    it('unescapes quoted-pairs and ignores junk', function () {
      expect(parseChallenges('Bearer realm="a\\"b\\\\c"')[0]!.params.realm).to.equal('a"b\\c');
      expect(parseChallenges(undefined)).to.deep.equal([]);
      expect(parseChallenges('')).to.deep.equal([]);
      expect(parseChallenges(' , ;; Basic realm=x')).to.deep.equal([{ scheme: 'basic', params: { realm: 'x' } }]);
    });
  });

  describe('credentials', function () {
    it('takes username and password from fields or from auth', function () {
      expect(basicCredentials({ username: 'u', password: 'p' })).to.deep.equal({ username: 'u', password: 'p' });
      expect(basicCredentials({ auth: b64('u:p:with:colons') })).to.deep.equal({ username: 'u', password: 'p:with:colons' });
      expect(basicCredentials({ auth: b64('nocolon') })).to.equal(undefined);
      expect(basicCredentials({ identityToken: 't' })).to.equal(undefined);
      expect(basicCredentials(undefined)).to.equal(undefined);
    });

    it('normalises auth hosts', function () {
      expect(normalizeAuthHost('https://index.docker.io/v1/')).to.equal('docker.io');
      expect(normalizeAuthHost('registry-1.docker.io')).to.equal('docker.io');
      expect(normalizeAuthHost('http://LocalHost:5000/v2/')).to.equal('localhost:5000');
      expect(normalizeAuthHost('quay.io')).to.equal('quay.io');
    });

    it('sends CRI credentials without a server address to the upstream only', function () {
      expect(credentialsApply({ username: 'u' }, 'docker.io', true)).to.equal(true);
      expect(credentialsApply({ username: 'u' }, 'mirror.example', false)).to.equal(false);
      expect(credentialsApply({ username: 'u', serverAddress: 'https://index.docker.io/v1/' }, 'docker.io', true)).to.equal(true);
      expect(credentialsApply({ username: 'u', serverAddress: 'mirror.example' }, 'mirror.example', false)).to.equal(true);
      expect(credentialsApply({ username: 'u', serverAddress: 'quay.io' }, 'docker.io', true)).to.equal(false);
    });
  });

  describe('token responses', function () {
    const now = Date.parse('2024-01-01T00:00:00Z');
    const parse = (o: unknown) => parseTokenResponse(Buffer.from(JSON.stringify(o)), now);

    it('reads token or access_token, defaulting the lifetime to 60 s', function () {
      expect(parse({ token: 'a' }).value).to.equal('a');
      expect(parse({ access_token: 'b' }).value).to.equal('b');
      expect(parse({ token: 'a' }).reuseUntil).to.equal(now + 60_000 - 10_000);
      expect(parse({ token: 'a', expires_in: 300 }).reuseUntil).to.equal(now + 300_000 - 10_000);
    });

    it('lets issued_at shorten the lifetime only when the clocks agree', function () {
      expect(parse({ token: 'a', expires_in: 300, issued_at: '2023-12-31T23:59:00Z' }).reuseUntil).to.equal(now + 240_000 - 10_000);
      expect(parse({ token: 'a', expires_in: 300, issued_at: '2020-01-01T00:00:00Z' }).reuseUntil).to.equal(now + 290_000);
    });

    it('rejects answers without a token', function () {
      expect(() => parse({})).to.throw(/no token/);
      expect(() => parse([])).to.throw(/not a JSON object/);
      expect(() => parseTokenResponse(Buffer.from('<html>'), now)).to.throw(/not JSON/);
    });
  });

  describe('docker config.json', function () {
    const doc = {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:secret') },
        'registry.example:5000': { username: 'u', password: 'p' },
        'http://quay.example/v2/': { identitytoken: 'refresh-me' },
        'ghcr.example': { registrytoken: 'bearer-me', email: 'x@y' },
      },
      credsStore: 'desktop',
    };

    it('finds entries by host whatever the key spelling', function () {
      const auths = parseDockerConfig(doc);
      expect(basicCredentials(lookupCredentials(auths, 'docker.io'))).to.deep.equal({ username: 'hub', password: 'secret' });
      expect(lookupCredentials(auths, 'registry.example:5000')).to.deep.include({ username: 'u', password: 'p' });
      expect(lookupCredentials(auths, 'quay.example')).to.deep.include({ identityToken: 'refresh-me' });
      expect(lookupCredentials(auths, 'ghcr.example')).to.deep.include({ registryToken: 'bearer-me' });
      expect(lookupCredentials(auths, 'registry.example')).to.equal(undefined);
      expect(lookupCredentials(auths, 'other.example')).to.equal(undefined);
    });

    it('rejects a malformed file', function () {
      expect(() => parseDockerConfig([])).to.throw(/not a JSON object/);
      expect(() => parseDockerConfig({ auths: [] })).to.throw(/"auths" must be an object/);
      expect(() => parseDockerConfig({ auths: { x: 'y' } })).to.throw(/must be an object/);
      expect(parseDockerConfig({}).size).to.equal(0);
    });

    it('reads the file, treats a missing one as empty, and rereads it when it changes', async function () {
      const dir = await mkdtemp(join(tmpdir(), 'skiff-auth-'));
      try {
        const path = join(dir, 'config.json');
        const file = new AuthFile(path);
        expect(await file.lookup('docker.io')).to.equal(undefined);
        await writeFile(path, JSON.stringify(doc));
        expect(await file.lookup('registry.example:5000')).to.deep.include({ username: 'u' });
        await writeFile(path, JSON.stringify({ auths: { 'registry.example:5000': { username: 'v', password: 'q' } } }));
        await utimes(path, new Date(), new Date(Date.now() + 5000));
        expect(await file.lookup('registry.example:5000')).to.deep.include({ username: 'v' });
        await writeFile(path, '{');
        await utimes(path, new Date(), new Date(Date.now() + 10000));
        let err: unknown;
        await file.lookup('x').catch((e: unknown) => (err = e));
        expect(String(err)).to.match(/registry.authFile/);
        expect(await new AuthFile('').lookup('docker.io')).to.equal(undefined);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
