// A minimal HTTP client for the test support code. node:http rather than fetch so request bodies
// can stream from files with a known Content-Length, and so every URL passes one loopback check:
// test infrastructure must never reach anything but 127.0.0.1.
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A Readable needs a Content-Length header from the caller. */
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Throws unless the URL points at 127.0.0.1 over plain HTTP. */
export function assertLoopback(url: string | URL): URL {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') {
    throw new Error(`test support refuses non-loopback URL ${u.href}`);
  }
  return u;
}

export function httpRequest(url: string | URL, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const u = assertLoopback(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      u,
      { method: opts.method ?? 'GET', headers: opts.headers, agent, signal: opts.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

export function basicAuthHeader(auth: { user: string; password: string }): string {
  return 'Basic ' + Buffer.from(`${auth.user}:${auth.password}`).toString('base64');
}
