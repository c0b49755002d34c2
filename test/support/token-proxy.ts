// A bearer-token front for the test registry, as Docker Hub and most public registries behave:
// 401 with a Bearer challenge, a token endpoint behind basic auth, then the registry itself.
// docker-registry's own token auth needs a signing setup; a proxy is far less machinery.
import http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { assertLoopback } from './http.js';

export const TOKEN_SERVICE = 'skiff-test';

export interface TokenProxyOptions {
  /** Lifetime reported in expires_in and enforced, in seconds. */
  expiresIn?: number;
}

export interface TokenProxy {
  url: string;
  host: string;
  /** Requests to /token so far, successful or not. */
  readonly tokenRequests: number;
  /** Requests proxied to the registry with a valid token. */
  readonly proxiedRequests: number;
  /** Forget every token issued, as if they had expired. */
  revokeTokens(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

export async function startTokenProxy(
  upstreamUrl: string,
  creds: { user: string; password: string },
  opts: TokenProxyOptions = {},
): Promise<TokenProxy> {
  const upstream = assertLoopback(upstreamUrl);
  const expiresIn = opts.expiresIn ?? 300;
  const tokens = new Map<string, number>();
  let tokenRequests = 0;
  let proxiedRequests = 0;
  let base = '';

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/token') {
      tokenRequests++;
      void handleToken(req, res, url);
      return;
    }
    if (!url.pathname.startsWith('/v2')) {
      res.writeHead(404).end();
      return;
    }
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const expiry = token === undefined ? undefined : tokens.get(token);
    if (expiry === undefined || expiry < Date.now()) {
      const scope = scopeFor(url.pathname, req.method ?? 'GET');
      const challenge =
        `Bearer realm="${base}/token",service="${TOKEN_SERVICE}"` + (scope ? `,scope="${scope}"` : '');
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    proxiedRequests++;
    proxy(req, res);
  });

  function checkBasic(header: string | undefined): boolean {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    return safeEqual(decoded, `${creds.user}:${creds.password}`);
  }

  async function handleToken(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    let ok = checkBasic(req.headers.authorization);
    // containerd and others may use the OAuth2 password grant (a form POST) instead.
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      if (form.get('grant_type') === 'password') {
        ok = safeEqual(`${form.get('username')}:${form.get('password')}`, `${creds.user}:${creds.password}`);
      }
    }
    if (!ok) {
      res.writeHead(401, { 'www-authenticate': `Basic realm="${TOKEN_SERVICE}"`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const token = randomBytes(24).toString('hex');
    tokens.set(token, Date.now() + expiresIn * 1000);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
        scope: url.searchParams.get('scope') ?? '',
      }),
    );
  }

  function proxy(req: http.IncomingMessage, res: http.ServerResponse) {
    const headers = { ...req.headers };
    delete headers.authorization;
    for (const h of HOP_BY_HOP) delete headers[h];
    // The Host header stays the proxy's: the registry builds Location URLs from it, so upload
    // and redirect URLs keep pointing through the proxy.
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (upRes) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.destroy();
    });
    req.pipe(up);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  base = `http://${host}`;
  return {
    url: base,
    host,
    get tokenRequests() {
      return tokenRequests;
    },
    get proxiedRequests() {
      return proxiedRequests;
    },
    revokeTokens: () => tokens.clear(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The scope a real registry would ask for: pull for reads, pull,push for writes. */
export function scopeFor(pathname: string, method: string): string | undefined {
  if (pathname === '/v2/_catalog') return 'registry:catalog:*';
  const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(pathname);
  if (!m) return undefined;
  const actions = method === 'GET' || method === 'HEAD' ? 'pull' : 'pull,push';
  return `repository:${m[1]}:${actions}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
