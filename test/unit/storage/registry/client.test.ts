// The distribution client against registries played by in-test HTTP servers on 127.0.0.1.
// Nothing here may reach a non-loopback address: names other than upstream.test fail lookup.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { SkiffError } from '../../../../src/core/errors.js';
import type { OpContext } from '../../../../src/core/context.js';
import type { Digest } from '../../../../src/core/ids.js';
import { silentLogger } from '../../../../src/log/logger.js';
import { DEFAULT_REGISTRY_CONFIG, type RegistryConfig } from '../../../../src/config/registry.js';
import { RegistryClient } from '../../../../src/storage/registry/client.js';
import { MEDIA_TYPES } from '../../../../src/storage/registry/manifest.js';
import { parseReference } from '../../../../src/util/image-reference.js';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const desc = (body: Buffer, mediaType: string, extra: object = {}) => ({ mediaType, digest: sha(body), size: body.length, ...extra });

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

const open: FakeServer[] = [];

class FakeServer {
  readonly seen: Seen[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(handler: Handler): Promise<FakeServer> {
    const holder: { self?: FakeServer } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        holder.self!.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        handler(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const self = new FakeServer(server, (server.address() as AddressInfo).port);
    holder.self = self;
    open.push(self);
    return self;
  }

  /** A port where nothing listens: connections are refused at once. */
  static async deadPort(): Promise<number> {
    const s = await FakeServer.start(() => undefined);
    await s.close();
    return s.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  paths(): string[] {
    return this.seen.map((s) => s.path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Image {
  readonly config: Buffer;
  readonly layer: Buffer;
  readonly manifest: Buffer;
}

function buildImage(arch: string): Image {
  const config = json({ architecture: arch, os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [] } });
  const layer = Buffer.from(`layer for ${arch};`.repeat(200));
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: desc(config, MEDIA_TYPES.ociConfig),
    layers: [desc(layer, GZIP)],
  });
  return { config, layer, manifest };
}

/** A repository `library/app`: tag "multi" → index (amd64, arm64, an attestation), tag "single" → amd64. */
class Repo {
  readonly amd64 = buildImage('amd64');
  readonly arm64 = buildImage('arm64');
  readonly index = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      desc(this.amd64.manifest, MEDIA_TYPES.ociManifest, { platform: { os: 'linux', architecture: 'amd64' } }),
      desc(this.arm64.manifest, MEDIA_TYPES.ociManifest, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
      desc(Buffer.from('attestation'), MEDIA_TYPES.ociManifest, { platform: { os: 'unknown', architecture: 'unknown' } }),
    ],
  });
  readonly manifests = new Map<string, Buffer>();
  readonly blobs = new Map<string, Buffer>();

  constructor() {
    this.manifests.set('multi', this.index).set('single', this.amd64.manifest).set(sha(this.index), this.index);
    for (const img of [this.amd64, this.arm64]) {
      this.manifests.set(sha(img.manifest), img.manifest);
      this.blobs.set(sha(img.config), img.config).set(sha(img.layer), img.layer);
    }
  }

  /** Serves /v2/library/app/…; answers false when the path is not a registry path it knows. */
  readonly serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const m = /^\/v2\/library\/app\/(manifests|blobs)\/([^/?]+)$/.exec(req.url ?? '');
    const body = m === null ? undefined : m[1] === 'manifests' ? this.manifests.get(m[2]!) : this.blobs.get(m[2]!);
    if (m === null || body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: m?.[1] === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: 'unknown' }] }));
      return;
    }
    const type = m[1] === 'manifests' ? (JSON.parse(body.toString()) as { mediaType: string }).mediaType : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };
}

const looked: string[] = [];
/** Resolves upstream.test to loopback and nothing else; records every name asked for. */
const lookup = ((hostname: string, options: unknown, cb: (err: Error | null, address?: unknown, family?: number) => void) => {
  looked.push(hostname);
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
  if (hostname !== 'upstream.test') return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  if (all) return cb(null, [{ address: '127.0.0.1', family: 4 }]);
  return cb(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

const clients: RegistryClient[] = [];
function client(config: Partial<RegistryConfig>, opts: { arch?: string } = {}): RegistryClient {
  const c = new RegistryClient({ ...DEFAULT_REGISTRY_CONFIG, noProgressTimeoutSeconds: 1, ...config }, silentLogger(), {
    lookup,
    retryBaseMs: 5,
    platform: { os: 'linux', architecture: opts.arch ?? 'amd64' },
  });
  clients.push(c);
  return c;
}

function ctx(signal: AbortSignal = new AbortController().signal): OpContext {
  return { log: silentLogger(), signal, deadline: undefined };
}

async function rejection(p: Promise<unknown>): Promise<SkiffError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SkiffError) return e;
    throw e;
  }
  throw new Error('expected a SkiffError');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Upstream on a loopback port, spoken to over plain HTTP because 127.0.0.1 is listed insecure. */
const local = (srv: FakeServer, tag: string) => parseReference(`127.0.0.1:${srv.port}/library/app:${tag}`);
const INSECURE_LOOPBACK = { insecure: ['127.0.0.1'] };

describe('storage/registry/client', function () {
  afterEach(async function () {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(open.splice(0).map((s) => s.close()));
    looked.length = 0;
  });

  it('negotiates manifest types and picks this platform from an index', async function () {
    const repo = new Repo();
    const srv = await FakeServer.start(repo.serve);
    const r = await client(INSECURE_LOOPBACK, { arch: 'arm64' }).resolve(ctx(), local(srv, 'multi'));
    expect(r.endpoint.url).to.equal(srv.url);
    expect(r.repoDigest).to.equal(sha(repo.index));
    expect(r.indexDigest).to.equal(sha(repo.index));
    expect(r.manifestDigest).to.equal(sha(repo.arm64.manifest));
    expect(r.platform).to.deep.equal({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(r.configBytes.equals(repo.arm64.config)).to.equal(true);
    expect(r.manifest.layers).to.deep.equal([{ ...desc(repo.arm64.layer, GZIP), compression: 'gzip' }]);
    const accept = String(srv.seen[0]!.headers.accept);
    for (const t of [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest]) {
      expect(accept).to.include(t);
    }
    expect(srv.paths()).to.deep.equal([
      '/v2/library/app/manifests/multi',
      `/v2/library/app/manifests/${sha(repo.arm64.manifest)}`,
      `/v2/library/app/blobs/${sha(repo.arm64.config)}`,
    ]);
  });

  it('resolves a single-platform image and a digest reference', async function () {
    const repo = new Repo();
    const srv = await FakeServer.start(repo.serve);
    const c = client(INSECURE_LOOPBACK);
    const single = await c.resolve(ctx(), local(srv, 'single'));
    expect(single.indexDigest).to.equal(undefined);
    expect(single.repoDigest).to.equal(single.manifestDigest);
    expect(single.manifestDigest).to.equal(sha(repo.amd64.manifest));
    const pinned = await c.resolve(ctx(), parseReference(`127.0.0.1:${srv.port}/library/app@${sha(repo.index)}`));
    expect(pinned.manifestDigest).to.equal(sha(repo.amd64.manifest));
  });

  it('says NotFound for a missing tag and for a platform the index lacks', async function () {
    const srv = await FakeServer.start(new Repo().serve);
    const missing = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'nope')));
    expect(missing.kind).to.equal('NotFound');
    expect(missing.message).to.equal(`image 127.0.0.1:${srv.port}/library/app:nope not found at ${srv.url}`);
    const platform = await rejection(client(INSECURE_LOOPBACK, { arch: 's390x' }).resolve(ctx(), local(srv, 'multi')));
    expect(platform.kind).to.equal('NotFound');
    expect(platform.message).to.match(/no manifest for linux\/s390x \(it offers: linux\/amd64, linux\/arm64\/v8, unknown\/unknown\)/);
  });

  it('fails with Internal when a manifest or config fetched by digest does not match it', async function () {
    const repo = new Repo();
    repo.manifests.set(sha(repo.amd64.manifest), Buffer.concat([repo.amd64.manifest, Buffer.from(' ')]));
    const srv = await FakeServer.start(repo.serve);
    const e = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'multi')));
    expect(e.kind).to.equal('Internal');
    expect(e.message).to.match(/^manifest digest mismatch for 127\.0\.0\.1:\d+\/library\/app@sha256:/);
    repo.blobs.set(sha(repo.amd64.config), Buffer.from('{}'));
    const config = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single')));
    expect(config.kind).to.equal('Internal');
    expect(config.message).to.match(/^blob digest mismatch for sha256:/);
  });

  it('refuses schema 1 manifests', async function () {
    const repo = new Repo();
    repo.manifests.set('old', json({ schemaVersion: 1, mediaType: MEDIA_TYPES.dockerSchema1Signed, name: 'library/app', fsLayers: [] }));
    const srv = await FakeServer.start(repo.serve);
    const e = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'old')));
    expect(e.kind).to.equal('FailedPrecondition');
    expect(e.message).to.match(/schema 1 is not supported/);
  });

  describe('bearer tokens', function () {
    async function tokenRegistry(check: (s: Seen) => boolean) {
      const repo = new Repo();
      const tokens: Seen[] = [];
      const state = { realm: '' };
      const srv = await FakeServer.start((req, res) => {
        if (req.url?.startsWith('/token')) {
          tokens.push(srv.seen[srv.seen.length - 1]!);
          if (!check(srv.seen[srv.seen.length - 1]!)) return void res.writeHead(401).end();
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok-1', expires_in: 300 }));
        }
        if (req.headers.authorization !== 'Bearer tok-1') {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${state.realm}",service="fake",scope="repository:library/app:pull"` });
          return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED' }] }));
        }
        repo.serve(req, res);
      });
      state.realm = `${srv.url}/token`;
      return { repo, srv, tokens };
    }

    it('fetches a token after a 401, retries, and reuses it for the next requests', async function () {
      const { repo, srv, tokens } = await tokenRegistry((s) => s.headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}`);
      const c = client(INSECURE_LOOPBACK);
      const r = await c.resolve(ctx(), local(srv, 'single'), { username: 'u', password: 'p' });
      const blob = await c.openBlob(ctx(), r, r.manifest.layers[0]!.digest, { username: 'u', password: 'p' });
      expect((await readAll(blob.stream)).equals(repo.amd64.layer)).to.equal(true);
      expect(blob.size).to.equal(repo.amd64.layer.length);
      expect(tokens).to.have.length(1);
      const q = new URL(tokens[0]!.path, srv.url).searchParams;
      expect(q.get('service')).to.equal('fake');
      expect(q.getAll('scope')).to.deep.equal(['repository:library/app:pull']);
      // one 401, then every request carries the token
      expect(srv.seen.filter((s) => !s.path.startsWith('/token')).map((s) => s.headers.authorization ?? 'none')).to.deep.equal([
        'none',
        'Bearer tok-1',
        'Bearer tok-1',
        'Bearer tok-1',
      ]);
    });

    it('exchanges an identity token with an OAuth2 POST', async function () {
      const { srv, tokens } = await tokenRegistry((s) => s.method === 'POST' && new URLSearchParams(s.body.toString()).get('refresh_token') === 'rt');
      await client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single'), { identityToken: 'rt' });
      const form = new URLSearchParams(tokens[0]!.body.toString());
      expect(form.get('grant_type')).to.equal('refresh_token');
      expect(form.get('service')).to.equal('fake');
      expect(form.get('scope')).to.equal('repository:library/app:pull');
    });

    it('says PermissionDenied when the token server refuses the credentials', async function () {
      const { srv } = await tokenRegistry(() => false);
      const e = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single'), { username: 'u', password: 'bad' }));
      expect(e.kind).to.equal('PermissionDenied');
      expect(e.message).to.match(/refused the credentials/);
    });
  });

  it('answers a Basic challenge, and says PermissionDenied without or with wrong credentials', async function () {
    const repo = new Repo();
    const good = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const srv = await FakeServer.start((req, res) => {
      if (req.headers.authorization !== good) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      repo.serve(req, res);
    });
    const r = await client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single'), { auth: Buffer.from('u:p').toString('base64') });
    expect(r.manifestDigest).to.equal(sha(repo.amd64.manifest));
    const none = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single')));
    expect(none.kind).to.equal('PermissionDenied');
    expect(none.message).to.match(/requires a username and password/);
    const wrong = await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single'), { username: 'u', password: 'x' }));
    expect(wrong.kind).to.equal('PermissionDenied');
  });

  it('falls through a dead mirror and a mirror without the image, never contacting a forbidden upstream', async function () {
    const repo = new Repo();
    const empty = await FakeServer.start((_req, res) => void res.writeHead(404).end());
    const good = await FakeServer.start(repo.serve);
    const dead = `http://127.0.0.1:${await FakeServer.deadPort()}`;
    const c = client({ mirrors: { 'registry.invalid': [dead, empty.url, good.url] }, fallbackToUpstream: false });
    const ref = parseReference('registry.invalid/library/app:multi');
    expect(c.endpoints(ref).map((e) => e.url)).to.deep.equal([dead, empty.url, good.url]);
    const r = await c.resolve(ctx(), ref);
    expect(r.endpoint).to.deep.include({ url: good.url, mirror: true });
    expect(empty.paths()).to.deep.equal(['/v2/library/app/manifests/multi']);
    const blob = await c.openBlob(ctx(), r, r.manifest.layers[0]!.digest);
    expect((await readAll(blob.stream)).equals(repo.amd64.layer)).to.equal(true);
    // a stored endpoint the config no longer lists is not contacted
    const stale = { url: 'https://registry.invalid', host: 'registry.invalid', authHost: 'registry.invalid', mirror: false };
    const again = await c.openBlob(ctx(), { ref, endpoint: stale }, r.manifest.layers[0]!.digest);
    expect(again.endpoint.url).to.equal(good.url);
    again.stream.destroy();
    expect(looked).to.deep.equal([]);

    const last = await rejection(client({ mirrors: { 'registry.invalid': [dead, empty.url] }, fallbackToUpstream: false }).resolve(ctx(), ref));
    expect(last.kind).to.equal('NotFound');
    expect(last.message).to.match(new RegExp(`not found at ${empty.url} \\(earlier: ${dead}: .*ECONNREFUSED`));
    expect(looked).to.deep.equal([]);
    // fallbackToUpstream governs mirrored registries; one without mirrors is its own endpoint.
    expect(client({ fallbackToUpstream: false }).endpoints(ref).map((e) => e.url)).to.deep.equal(['https://registry.invalid']);
  });

  it('falls back to the upstream after the mirrors when allowed', async function () {
    const repo = new Repo();
    const upstream = await FakeServer.start(repo.serve);
    const empty = await FakeServer.start((_req, res) => void res.writeHead(503).end());
    const c = client({ mirrors: { [`upstream.test:${upstream.port}`]: [empty.url] }, insecure: ['upstream.test'] });
    const r = await c.resolve(ctx(), parseReference(`upstream.test:${upstream.port}/library/app:single`));
    expect(r.endpoint).to.deep.include({ url: `http://upstream.test:${upstream.port}`, mirror: false });
    expect(empty.seen).to.have.length(1); // a mirror gets one try, not a backoff series
    expect(looked).to.include('upstream.test');
  });

  it('follows a blob redirect without sending the Authorization header to the other host', async function () {
    const repo = new Repo();
    const storage = await FakeServer.start((req, res) => {
      const digest = new URL(req.url ?? '/', 'http://x').pathname.split('/').pop() ?? '';
      res.writeHead(200).end(repo.blobs.get(digest));
    });
    const srv = await FakeServer.start((req, res) => {
      if (req.headers.authorization === undefined) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
      const blob = /\/blobs\/(.+)$/.exec(req.url ?? '');
      if (blob !== null) return void res.writeHead(307, { location: `${storage.url}/bucket/${blob[1]}?X-Signature=abc` }).end();
      repo.serve(req, res);
    });
    const c = client(INSECURE_LOOPBACK);
    const creds = { username: 'u', password: 'p' };
    // the config blob is redirected too, so resolving already goes through storage
    await c.resolve(ctx(), local(srv, 'single'), creds);
    const blob = await c.openBlob(ctx(), { ref: local(srv, 'single'), endpoint: c.endpoints(local(srv, 'single'))[0]! }, sha(repo.amd64.layer), creds);
    expect((await readAll(blob.stream)).equals(repo.amd64.layer)).to.equal(true);
    expect(storage.seen.length).to.be.greaterThan(0);
    for (const s of storage.seen) expect(s.headers.authorization).to.equal(undefined);
    expect(srv.seen.filter((s) => s.path.includes('/blobs/')).every((s) => s.headers.authorization !== undefined)).to.equal(true);
  });

  it('retries 503 with backoff, but not 404 or 401', async function () {
    const repo = new Repo();
    let failures = 2;
    const srv = await FakeServer.start((req, res) => {
      if (req.url?.includes('/manifests/') && failures-- > 0) return void res.writeHead(503).end();
      repo.serve(req, res);
    });
    const r = await client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single'));
    expect(r.manifestDigest).to.equal(sha(repo.amd64.manifest));
    expect(srv.paths().filter((p) => p.endsWith('/manifests/single'))).to.have.length(3);

    const always = await FakeServer.start((_req, res) => void res.writeHead(503).end());
    const e = await rejection(client({ ...INSECURE_LOOPBACK, maxAttempts: 3 }).resolve(ctx(), local(always, 'x')));
    expect(e.kind).to.equal('Unavailable');
    expect(always.seen).to.have.length(3);
    const missing = await FakeServer.start((_req, res) => void res.writeHead(404).end());
    await rejection(client(INSECURE_LOOPBACK).resolve(ctx(), local(missing, 'x')));
    expect(missing.seen).to.have.length(1);
  });

  it('retries a reset connection', async function () {
    const repo = new Repo();
    let resets = 1;
    const srv = await FakeServer.start((req, res) => {
      if (resets-- > 0) return void req.socket.destroy();
      repo.serve(req, res);
    });
    const r = await client(INSECURE_LOOPBACK).resolve(ctx(), local(srv, 'single'));
    expect(r.manifestDigest).to.equal(sha(repo.amd64.manifest));
  });

  it('fails a stalled download with DeadlineExceeded, but waits for a slow reader', async function () {
    const repo = new Repo();
    const big = Buffer.alloc(4 << 20, 7);
    const srv = await FakeServer.start((req, res) => {
      if (req.url?.endsWith('/blobs/sha256:' + 'b'.repeat(64))) return void res.writeHead(200, { 'content-length': 1000 }).write('partial');
      if (req.url?.endsWith('/blobs/sha256:' + 'c'.repeat(64))) return void res.writeHead(200, { 'content-length': big.length }).end(big);
      if (req.url?.includes('/manifests/silent')) return; // never answers
      repo.serve(req, res);
    });
    const c = client({ ...INSECURE_LOOPBACK, noProgressTimeoutSeconds: 0.1 });
    const source = { ref: local(srv, 'x'), endpoint: c.endpoints(local(srv, 'x'))[0]! };
    const stalled = await c.openBlob(ctx(), source, `sha256:${'b'.repeat(64)}` as Digest);
    const e = await rejection(readAll(stalled.stream));
    expect(e.kind).to.equal('DeadlineExceeded');
    expect(e.message).to.match(/no data received for 0.1s/);

    const silent = await rejection(c.resolve(ctx(), local(srv, 'silent')));
    expect(silent.kind).to.equal('DeadlineExceeded');

    const slow = await c.openBlob(ctx(), source, `sha256:${'c'.repeat(64)}` as Digest);
    await new Promise((r) => setTimeout(r, 250));
    expect((await readAll(slow.stream)).length).to.equal(big.length);
  });

  it('destroys the stream with Cancelled when the caller aborts', async function () {
    const srv = await FakeServer.start((_req, res) => void res.writeHead(200, { 'content-length': 100 }).write('x'));
    const c = client(INSECURE_LOOPBACK);
    const ac = new AbortController();
    const blob = await c.openBlob(ctx(ac.signal), { ref: local(srv, 'x'), endpoint: c.endpoints(local(srv, 'x'))[0]! }, `sha256:${'d'.repeat(64)}` as Digest);
    setTimeout(() => ac.abort(), 10);
    const e = await rejection(readAll(blob.stream));
    expect(e.kind).to.equal('Cancelled');
    expect(blob.stream.destroyed).to.equal(true);
  });

  it('uses https for upstreams that are not listed insecure, without resolving names it may not', function () {
    const c = client({ mirrors: { 'docker.io': ['https://mirror.example'] } });
    expect(c.endpoints(parseReference('busybox'))).to.deep.equal([
      { url: 'https://mirror.example', host: 'mirror.example', authHost: 'mirror.example', mirror: true },
      { url: 'https://registry-1.docker.io', host: 'registry-1.docker.io', authHost: 'docker.io', mirror: false },
    ]);
    expect(looked).to.deep.equal([]);
  });
});
