// Registry authentication: answering a 401's WWW-Authenticate challenge with Basic credentials or a
// bearer token (Docker token spec: anonymous or basic-auth GET, OAuth2 refresh-token POST), and a
// token cache so one pull asks the token server once, not once per layer.
import { createHash } from 'node:crypto';
import { SkiffError, unavailable } from '../../core/errors.js';
import { SingleFlight } from '../../core/keyed-mutex.js';
import type { OpContext } from '../../core/context.js';
import { discard, readBody, redactUrl, type HttpTransport } from './http.js';

/** CRI's AuthConfig, field for field; kubelet fills it from image pull secrets. */
export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  /** base64("user:pass"), as in docker's config.json. */
  readonly auth?: string;
  /** The registry these credentials are for; empty = the image's own registry. */
  readonly serverAddress?: string;
  /** An OAuth2 refresh token, exchanged at the token server. */
  readonly identityToken?: string;
  /** A bearer token sent to the registry as is. */
  readonly registryToken?: string;
}

export interface Challenge {
  /** Lower-case: "bearer", "basic". */
  readonly scheme: string;
  /** Lower-case names: realm, service, scope, error. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const MAX_TOKEN_RESPONSE = 1 << 20;
const DEFAULT_TOKEN_SECONDS = 60;
const MAX_CACHED_TOKENS = 256;

export const permissionDenied = (msg: string, cause?: unknown) => new SkiffError('PermissionDenied', msg, { cause });

/**
 * Parses WWW-Authenticate (RFC 7235): several challenges may share one header, separated by commas
 * like their parameters; a token not followed by "=" starts the next challenge.
 */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  const s = Array.isArray(header) ? header.join(', ') : ((header as string | undefined) ?? '');
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skipSpace = () => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  const token = () => {
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipSpace();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const name = token();
    if (name === '') {
      i++; // not a token character: skip it rather than give up on the rest
      continue;
    }
    skipSpace();
    const current = out[out.length - 1];
    if (s[i] === '=' && current !== undefined) {
      i++;
      skipSpace();
      let value = '';
      if (s[i] === '"') {
        for (i++; i < s.length && s[i] !== '"'; i++) value += s[i] === '\\' && i + 1 < s.length ? s[++i] : s[i];
        i++;
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
    } else {
      out.push({ scheme: name.toLowerCase(), params: {} });
    }
  }
  return out;
}

/** Username and password from explicit fields or from `auth`; undefined when there are none. */
export function basicCredentials(c: RegistryCredentials | undefined): { username: string; password: string } | undefined {
  if (c === undefined) return undefined;
  if (c.username !== undefined && c.username !== '') return { username: c.username, password: c.password ?? '' };
  if (c.auth === undefined || c.auth === '') return undefined;
  const decoded = Buffer.from(c.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Auth host key: no scheme, no path, lower case, Docker Hub's aliases folded into "docker.io". */
export function normalizeAuthHost(address: string): string {
  const host = address.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0]!.toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com' ? 'docker.io' : host;
}

/**
 * Whether CRI credentials may go to an endpoint. Without a serverAddress they are for the image's
 * own registry only: a mirror run by someone else does not get the pull secret.
 */
export function credentialsApply(c: RegistryCredentials, authHost: string, isUpstream: boolean): boolean {
  if (c.serverAddress === undefined || c.serverAddress === '') return isUpstream;
  return normalizeAuthHost(c.serverAddress) === normalizeAuthHost(authHost);
}

export interface CachedToken {
  readonly value: string;
  /** Epoch ms after which we ask again. */
  readonly reuseUntil: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Docker token spec response: `token` (or OAuth2 `access_token`), `expires_in`, `issued_at`. */
export function parseTokenResponse(body: Buffer, now: number): CachedToken {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw unavailable('token server answered with something that is not JSON', e);
  }
  if (!isObject(doc)) throw unavailable('token server answer is not a JSON object');
  const value = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token;
  if (typeof value !== 'string' || value === '') throw unavailable('token server answer has no token');
  const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
  let expiresAt = now + expiresIn * 1000;
  // issued_at can only shorten the lifetime, and only if the two clocks roughly agree.
  const issued = typeof doc.issued_at === 'string' ? Date.parse(doc.issued_at) : NaN;
  if (Number.isFinite(issued) && Math.abs(issued - now) < 5 * 60_000) expiresAt = Math.min(expiresAt, issued + expiresIn * 1000);
  const margin = Math.min(10_000, (expiresIn * 1000) / 4);
  return { value, reuseUntil: expiresAt - margin };
}

/** Remembers which hosts asked for which auth, and the tokens their token servers gave us. */
export class RegistryAuth {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly flights = new SingleFlight<string, CachedToken>();

  constructor(private readonly transport: HttpTransport) {}

  /** The Authorization for a request to `host` that challenged us before; undefined otherwise. */
  async authorization(ctx: OpContext, host: string, scope: string, creds: RegistryCredentials | undefined): Promise<string | undefined> {
    const challenge = this.challenges.get(host);
    return challenge === undefined ? undefined : this.answer(ctx, host, challenge, [scope], creds, false);
  }

  /**
   * After a 401: learns the host's challenge and returns the Authorization to retry with.
   * `refused` is the Authorization the 401 answered, if any: a fresh token is fetched, and if the
   * answer would be the same again the credentials are wrong (PermissionDenied).
   */
  async challenged(
    ctx: OpContext,
    host: string,
    header: string | string[] | undefined,
    scope: string,
    creds: RegistryCredentials | undefined,
    refused: string | undefined,
  ): Promise<string> {
    const all = parseChallenges(header);
    const challenge = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (challenge === undefined) {
      throw permissionDenied(`${host} requires authentication with a scheme skiff does not speak (${JSON.stringify(header ?? '')})`);
    }
    const { scope: asked, ...params } = challenge.params;
    this.challenges.set(host, { scheme: challenge.scheme, params });
    const scopes = asked === undefined || asked === '' || asked === scope ? [scope] : [scope, asked];
    const value = await this.answer(ctx, host, { scheme: challenge.scheme, params }, scopes, creds, refused !== undefined);
    if (value === refused) throw permissionDenied(`${host} refused the credentials given (${challenge.params.error ?? 'unauthorized'})`);
    return value;
  }

  private async answer(
    ctx: OpContext,
    host: string,
    challenge: Challenge,
    scopes: string[],
    creds: RegistryCredentials | undefined,
    refresh: boolean,
  ): Promise<string> {
    if (challenge.scheme === 'basic') {
      const basic = basicCredentials(creds);
      if (basic === undefined) throw permissionDenied(`${host} requires a username and password and none were given (image pull secret or registry.authFile)`);
      return basicHeader(basic.username, basic.password);
    }
    if (creds?.registryToken !== undefined && creds.registryToken !== '') return `Bearer ${creds.registryToken}`;
    const realm = challenge.params.realm;
    if (realm === undefined || realm === '') throw permissionDenied(`${host} sent a Bearer challenge without a realm`);
    const service = challenge.params.service ?? '';
    const key = JSON.stringify([realm, service, scopes, fingerprint(creds)]);
    const cached = this.tokens.get(key);
    if (cached !== undefined && !refresh && Date.now() < cached.reuseUntil) return `Bearer ${cached.value}`;
    const token = await this.flights.run(key, () => this.fetchToken(ctx, realm, service, scopes, creds));
    if (this.tokens.size >= MAX_CACHED_TOKENS) this.evictExpired();
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  private evictExpired(): void {
    const now = Date.now();
    for (const [k, t] of this.tokens) if (t.reuseUntil <= now) this.tokens.delete(k);
    if (this.tokens.size >= MAX_CACHED_TOKENS) this.tokens.clear();
  }

  private async fetchToken(ctx: OpContext, realm: string, service: string, scopes: string[], creds: RegistryCredentials | undefined): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch (e) {
      throw permissionDenied(`token realm ${JSON.stringify(realm)} is not a URL`, e);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw permissionDenied(`token realm ${JSON.stringify(realm)} is not an http(s) URL`);
    const started = Date.now();
    const basic = basicCredentials(creds);
    const refreshToken = creds?.identityToken;
    let res;
    if (refreshToken !== undefined && refreshToken !== '') {
      // OAuth2 refresh-token grant: what `docker login` stores as identitytoken is meant for this.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, service, client_id: 'skiff', scope: scopes.join(' ') });
      res = await this.transport.request(ctx, {
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
      });
    } else {
      if (service !== '') url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (basic !== undefined) url.searchParams.set('account', basic.username);
      res = await this.transport.request(ctx, {
        method: 'GET',
        url,
        headers: basic === undefined ? {} : { authorization: basicHeader(basic.username, basic.password) },
      });
    }
    const where = `token server ${redactUrl(url)}`;
    if (res.status === 401 || res.status === 403) {
      discard(res);
      throw permissionDenied(
        basic === undefined && refreshToken === undefined
          ? `${where} refused anonymous access (HTTP ${res.status}): credentials are needed`
          : `${where} refused the credentials given (HTTP ${res.status})`,
      );
    }
    if (res.status !== 200) {
      discard(res);
      throw unavailable(`${where} answered HTTP ${res.status}`);
    }
    return parseTokenResponse(await readBody(res, MAX_TOKEN_RESPONSE, where), started);
  }
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Keys the token cache by who asked without keeping secrets in the key. */
function fingerprint(c: RegistryCredentials | undefined): string {
  const basic = basicCredentials(c);
  if (basic === undefined && !c?.identityToken) return 'anonymous';
  return createHash('sha256')
    .update(JSON.stringify([basic?.username ?? '', basic?.password ?? '', c?.identityToken ?? '']))
    .digest('hex');
}
