// HTTP for the registry client: keep-alive agents with per-host TLS trust, redirects that never
// carry the registry's Authorization to another host, retries with backoff on transient failures,
// and a no-progress watchdog on every response, so a stalled registry fails instead of hanging.
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { readFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition, invalidArgument, SkiffError, unavailable } from '../../core/errors.js';
import { abortError, type OpContext } from '../../core/context.js';

export interface TransportOptions {
  /** host[:port] whose TLS certificates are not verified. */
  readonly insecure: readonly string[];
  /** host[:port] → PEM file trusted in addition to the system CAs. */
  readonly ca: Readonly<Record<string, string>>;
  readonly noProgressMs: number;
  readonly maxAttempts: number;
  /** First backoff; doubles per attempt. */
  readonly retryBaseMs: number;
  /** Replaces DNS resolution (tests map names to loopback and watch which names are asked for). */
  readonly lookup?: LookupFunction;
}

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly url: URL;
  /** Lower-case names. `authorization` is dropped when a redirect leaves the origin. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Defaults to the transport's maxAttempts; 1 turns retries off. */
  readonly attempts?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Where the response came from, after redirects. */
  readonly url: URL;
  /** Must be read to the end or destroyed (see discard), or the connection stays busy. */
  readonly body: Readable;
}

const RETRY_STATUS = new Set([408, 429, 502, 503, 504]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const MAX_RETRY_AFTER_MS = 30_000;
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const transientErrors = new WeakSet<SkiffError>();

/** The URL as it may appear in logs and messages: no user info, no query (presigned URLs sign there). */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`;
}

export function isTransient(e: unknown): boolean {
  return e instanceof SkiffError && transientErrors.has(e);
}


function networkError(e: unknown, method: string, url: URL): SkiffError {
  if (e instanceof SkiffError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  const where = `${method} ${redactUrl(url)}`;
  if (/CERT|SSL|TLS|SELF_SIGNED|ISSUER/.test(code)) {
    return unavailable(`${where}: TLS verification failed (${msg}); trust the registry's CA with registry.ca."${url.host}" or list the host in registry.insecure`, e);
  }
  if (code === 'ENOTFOUND') return unavailable(`${where}: cannot resolve ${url.hostname}`, e);
  const err = unavailable(`${where}: ${msg}`, e);
  if (TRANSIENT_CODES.has(code)) transientErrors.add(err);
  return err;
}

const matchesHost = (hosts: readonly string[], url: URL) => hosts.includes(url.host.toLowerCase()) || hosts.includes(url.hostname.toLowerCase());

export class HttpTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgents = new Map<string, Promise<https.Agent>>();

  constructor(private readonly opts: TransportOptions) {}

  /** Sends with retries and redirects. Returns any final status; throws only for network-level failure. */
  async request(ctx: OpContext, req: HttpRequest): Promise<HttpResponse> {
    const attempts = Math.max(1, req.attempts ?? this.opts.maxAttempts);
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.follow(ctx, req);
      } catch (e) {
        const wait = this.backoffMs(attempt, undefined);
        if (attempt >= attempts || !isTransient(e) || this.pastDeadline(ctx, wait)) throw e;
        ctx.log.debug('registry request retried', { url: redactUrl(req.url), attempt, error: (e as Error).message, waitMs: wait });
        await this.pause(ctx, wait, req.url);
        continue;
      }
      if (!RETRY_STATUS.has(res.status)) return res;
      const wait = this.backoffMs(attempt, res.headers['retry-after']);
      if (attempt >= attempts || this.pastDeadline(ctx, wait)) return res;
      discard(res);
      ctx.log.debug('registry request retried', { url: redactUrl(req.url), attempt, status: res.status, waitMs: wait });
      await this.pause(ctx, wait, req.url);
    }
  }

  /** Drops the keep-alive connections (shutdown, tests). */
  close(): void {
    this.httpAgent.destroy();
    for (const agent of this.httpsAgents.values()) void agent.then((a) => a.destroy(), () => undefined);
    this.httpsAgents.clear();
  }

  private backoffMs(attempt: number, retryAfter: string | undefined): number {
    const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
    return this.opts.retryBaseMs * 2 ** (attempt - 1);
  }

  private pastDeadline(ctx: OpContext, waitMs: number): boolean {
    return ctx.deadline !== undefined && Date.now() + waitMs >= ctx.deadline;
  }

  private async pause(ctx: OpContext, ms: number, url: URL): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: ctx.signal });
    } catch {
      throw abortError(ctx.signal, `GET ${redactUrl(url)}`);
    }
  }

  private async follow(ctx: OpContext, req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    const headers: Record<string, string> = { ...req.headers };
    for (let hops = 0; ; hops++) {
      const res = await this.once(ctx, req.method, url, headers, req.body);
      if (!REDIRECT_STATUS.has(res.status) || req.method === 'POST') return res;
      discard(res);
      const location = res.headers.location;
      if (location === undefined) throw unavailable(`${req.method} ${redactUrl(url)}: redirect without a Location`);
      if (hops >= MAX_REDIRECTS) throw unavailable(`${req.method} ${redactUrl(req.url)}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw unavailable(`${redactUrl(url)}: redirect to unsupported URL scheme ${next.protocol}`);
      if (url.protocol === 'https:' && next.protocol === 'http:') throw unavailable(`${redactUrl(url)}: refusing a redirect from https to http (${redactUrl(next)})`);
      // Blob redirects go to storage (S3, a CDN) that must not see the registry's credentials.
      if (next.origin !== url.origin) delete headers.authorization;
      url = next;
    }
  }

  private async agentFor(url: URL): Promise<http.Agent> {
    if (url.protocol === 'http:') return this.httpAgent;
    const insecure = matchesHost(this.opts.insecure, url);
    const caPath = this.opts.ca[url.host.toLowerCase()] ?? this.opts.ca[url.hostname.toLowerCase()];
    const key = `${insecure ? 'insecure' : 'verify'}|${caPath ?? ''}`;
    let agent = this.httpsAgents.get(key);
    if (agent === undefined) {
      agent = (async () => {
        let ca: string[] | undefined;
        if (caPath !== undefined) {
          try {
            ca = [...rootCertificates, await readFile(caPath, 'utf8')];
          } catch (e) {
            throw failedPrecondition(`reading the CA file ${caPath} configured for ${url.host}: ${(e as Error).message}`, e);
          }
        }
        return new https.Agent({ keepAlive: true, rejectUnauthorized: !insecure, ...(ca === undefined ? {} : { ca }) });
      })();
      this.httpsAgents.set(key, agent);
      agent.catch(() => this.httpsAgents.delete(key));
    }
    return agent;
  }

  private async once(ctx: OpContext, method: string, url: URL, headers: Record<string, string>, body: Buffer | undefined): Promise<HttpResponse> {
    const what = `${method} ${redactUrl(url)}`;
    if (ctx.signal.aborted) throw abortError(ctx.signal, what);
    const agent = await this.agentFor(url);
    const started = Date.now();
    const ms = this.opts.noProgressMs;
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname + url.search,
        method,
        agent,
        headers: { 'user-agent': 'skiff', ...headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) },
        ...(this.opts.lookup === undefined ? {} : { lookup: this.opts.lookup }),
      });
      const timer = setTimeout(() => req.destroy(new SkiffError('DeadlineExceeded', `${what}: no response for ${ms / 1000}s`)), ms);
      const onAbort = () => req.destroy(abortError(ctx.signal, what));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      };
      req.on('error', (e) => {
        done();
        ctx.log.debug('registry request failed', { method, url: redactUrl(url), error: e.message, ms: Date.now() - started });
        reject(networkError(e, method, url));
      });
      req.on('response', (res) => {
        done();
        ctx.log.debug('registry request', { method, url: redactUrl(url), status: res.statusCode, ms: Date.now() - started });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: watchBody(ctx, res, ms, method, url) });
      });
      req.end(body);
    });
  }
}

/**
 * Passes the body through, failing it with DeadlineExceeded when no byte arrives for `ms` while the
 * consumer is waiting. A consumer that stops reading is not the registry's fault: then we wait.
 */
function watchBody(ctx: OpContext, res: http.IncomingMessage, ms: number, method: string, url: URL): Readable {
  const what = `${method} ${redactUrl(url)}`;
  let timer: NodeJS.Timeout | undefined;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      arm();
      cb(null, chunk);
    },
  });
  const fail = (e: SkiffError) => {
    if (!out.destroyed) out.destroy(e);
  };
  const onIdle = () => {
    if (res.complete) return;
    if (res.isPaused() || out.readableLength > 0 || out.writableLength > 0) return arm();
    fail(new SkiffError('DeadlineExceeded', `${what}: no data received for ${ms / 1000}s`));
  };
  function arm(): void {
    clearTimeout(timer);
    timer = setTimeout(onIdle, ms);
    timer.unref();
  }
  const onAbort = () => fail(abortError(ctx.signal, what));
  res.on('error', (e) => fail(networkError(e, method, url)));
  res.on('close', () => {
    if (!res.complete) fail(unavailable(`${what}: connection closed before the body was complete`));
  });
  out.on('close', () => {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    if (!res.complete) res.destroy();
  });
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  arm();
  res.pipe(out);
  return out;
}

/** Reads a small body whole (manifests, configs, tokens, error documents), refusing more than `limit`. */
export async function readBody(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  return readStream(res.body, limit, what, Number.isFinite(declared) ? declared : undefined);
}

/** Reads a stream whole, refusing more than `limit` bytes (before reading, when `declared` says so). */
export async function readStream(stream: Readable, limit: number, what: string, declared?: number): Promise<Buffer> {
  if (declared !== undefined && declared > limit) {
    stream.destroy();
    throw invalidArgument(`${what}: ${declared} bytes is more than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      stream.destroy();
      throw invalidArgument(`${what}: more than the ${limit} bytes allowed`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Throws the body away so the keep-alive connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.on('error', () => undefined);
  res.body.resume();
}
