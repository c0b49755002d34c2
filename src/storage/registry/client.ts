// The distribution client (OCI distribution spec / Docker Registry HTTP API v2) for image pulls:
// resolve a reference to this node's manifest and config, then stream blobs. Endpoints are tried in
// order (mirrors, then upstream); content fetched by digest is verified before anyone sees it.
// Layer blobs are NOT verified here: the content store hashes them in its one streaming pass.
import { createHash } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { failedPrecondition, internal, invalidArgument, notFound, SkiffError, toSkiffError } from '../../core/errors.js';
import { isDigest, type Digest } from '../../core/ids.js';
import type { OpContext } from '../../core/context.js';
import type { Logger } from '../../log/logger.js';
import type { RegistryConfig } from '../../config/registry.js';
import { credentialsApply, permissionDenied, RegistryAuth, type RegistryCredentials } from './auth.js';
import { AuthFile } from './auth-file.js';
import { endpointsFor, type Endpoint } from './endpoints.js';
import { discard, HttpTransport, readBody, readStream, type HttpResponse } from './http.js';
import { statusError } from './status-error.js';
import { isIndexMediaType, isManifestMediaType, MANIFEST_ACCEPT, parseManifest, type ImageManifest, type ParsedManifest } from './manifest.js';
import { formatPlatform, hostPlatform, selectPlatform, type Platform } from './platform.js';
import type { ImageReference } from '../../util/image-reference.js';

export type { Endpoint } from './endpoints.js';

export interface ResolvedImage {
  readonly ref: ImageReference;
  /** The endpoint that served the manifests; blobs are asked there first. */
  readonly endpoint: Endpoint;
  /** Digest of what the reference points at (index or manifest): the RepoDigest kubelet shows. */
  readonly repoDigest: Digest;
  /** Set when the reference points at an index / manifest list. */
  readonly indexDigest?: Digest;
  readonly indexBytes?: Buffer;
  /** Digest of this node's image manifest (equals repoDigest for single-platform images). */
  readonly manifestDigest: Digest;
  readonly manifestBytes: Buffer;
  readonly manifest: ImageManifest;
  /** The index entry's platform that was chosen; absent for single-platform images. */
  readonly platform?: Platform;
  /** The image config blob, digest-verified. */
  readonly configBytes: Buffer;
}

/** Where to fetch a blob: a ResolvedImage fits, or a stored (ref, endpoint) pair. */
export interface BlobSource {
  readonly ref: ImageReference;
  readonly endpoint: Endpoint;
}

export interface BlobStream {
  /** The raw blob (compressed layer). Errors with DeadlineExceeded on a stall, Cancelled on abort. */
  readonly stream: Readable;
  /** From Content-Length, when the server sent one. */
  readonly size?: number;
  readonly endpoint: Endpoint;
}

export interface RegistryClientOptions {
  /** The platform to pick from indexes; defaults to this node's. */
  readonly platform?: Platform;
  /** Replaces DNS lookups (tests). */
  readonly lookup?: LookupFunction;
  /** First retry delay, doubled per attempt; default 200 ms. */
  readonly retryBaseMs?: number;
}

const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_CONFIG_BYTES = 16 << 20;
const MAX_INDEX_DEPTH = 2;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

interface FetchedManifest {
  readonly digest: Digest;
  readonly bytes: Buffer;
  readonly parsed: ParsedManifest;
}

export class RegistryClient {
  private readonly transport: HttpTransport;
  private readonly auth: RegistryAuth;
  private readonly authFile: AuthFile;
  private readonly platform: Platform;

  constructor(
    private readonly config: RegistryConfig,
    private readonly log: Logger,
    opts: RegistryClientOptions = {},
  ) {
    this.transport = new HttpTransport({
      insecure: config.insecure,
      ca: config.ca,
      noProgressMs: config.noProgressTimeoutSeconds * 1000,
      maxAttempts: config.maxAttempts,
      retryBaseMs: opts.retryBaseMs ?? 200,
      ...(opts.lookup === undefined ? {} : { lookup: opts.lookup }),
    });
    this.auth = new RegistryAuth(this.transport);
    this.authFile = new AuthFile(config.authFile);
    this.platform = opts.platform ?? hostPlatform();
  }

  /** The endpoints tried for a reference, in order. */
  endpoints(ref: ImageReference): readonly Endpoint[] {
    return endpointsFor(this.config, ref.registry);
  }

  /**
   * Fetches what the reference points at and, for an index, this node's manifest, then the config.
   * NotFound when no endpoint has the image or no entry fits this platform.
   */
  async resolve(ctx: OpContext, ref: ImageReference, creds?: RegistryCredentials): Promise<ResolvedImage> {
    const endpoints = this.endpoints(ref);
    return this.tryEach(ctx, ref, endpoints, (ep, attempts) => this.resolveAt(ctx, ref, ep, creds, attempts));
  }

  /**
   * Opens a blob for streaming, at the source's endpoint first, then at the endpoints after it
   * (at all configured endpoints when the config no longer lists the source's).
   * The caller verifies the digest while consuming the stream, and must consume or destroy it.
   */
  async openBlob(ctx: OpContext, source: BlobSource, digest: Digest, creds?: RegistryCredentials): Promise<BlobStream> {
    if (!isDigest(digest)) throw invalidArgument(`invalid blob digest ${JSON.stringify(digest)}`);
    const all = this.endpoints(source.ref);
    const at = all.findIndex((e) => e.url === source.endpoint.url);
    // An endpoint the config no longer lists (a stored record) is not contacted: the config rules.
    const endpoints = at === -1 ? all : all.slice(at);
    return this.tryEach(ctx, source.ref, endpoints, (ep, attempts) => this.openBlobAt(ctx, source.ref, ep, digest, creds, attempts));
  }

  /** A small blob read whole and digest-verified (configs). */
  async fetchBlob(ctx: OpContext, source: BlobSource, digest: Digest, opts: { creds?: RegistryCredentials; limit?: number; size?: number } = {}): Promise<Buffer> {
    return readVerified(source.ref, await this.openBlob(ctx, source, digest, opts.creds), digest, opts.limit, opts.size);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.transport.close();
  }

  /**
   * Runs `fn` per endpoint until one succeeds. Any failure but cancellation moves on; endpoints
   * before the last get one attempt, so a dead mirror costs one connect, not a backoff series.
   */
  private async tryEach<T>(ctx: OpContext, ref: ImageReference, endpoints: readonly Endpoint[], fn: (ep: Endpoint, attempts: number | undefined) => Promise<T>): Promise<T> {
    const earlier: string[] = [];
    for (const [i, ep] of endpoints.entries()) {
      const last = i === endpoints.length - 1;
      try {
        return await fn(ep, last ? undefined : 1);
      } catch (e) {
        const err = toSkiffError(e);
        if (last || err.kind === 'Cancelled' || ctx.signal.aborted) {
          throw earlier.length === 0 ? err : new SkiffError(err.kind, `${err.message} (earlier: ${earlier.join('; ')})`, { cause: err });
        }
        ctx.log.info('registry endpoint failed, trying the next one', { image: ref.toString(), endpoint: ep.url, error: err.message });
        earlier.push(`${ep.url}: ${err.message}`);
      }
    }
    throw internal('unreachable: no endpoints');
  }

  private async resolveAt(ctx: OpContext, ref: ImageReference, ep: Endpoint, given: RegistryCredentials | undefined, attempts: number | undefined): Promise<ResolvedImage> {
    const creds = await this.credentialsFor(ep, given);
    const top = await this.fetchManifest(ctx, ref, ep, ref.digest ?? ref.tag ?? 'latest', undefined, creds, attempts);
    let current = top;
    let platform: Platform | undefined;
    for (let depth = 0; current.parsed.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw failedPrecondition(`${ref}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
      const entries = current.parsed.index.manifests.filter((m) => isManifestMediaType(m.mediaType) || isIndexMediaType(m.mediaType));
      const entry = selectPlatform(entries, this.platform);
      if (entry === undefined) {
        const offered = [...new Set(entries.flatMap((m) => (m.platform === undefined ? [] : [formatPlatform(m.platform)])))];
        throw notFound(`image ${ref} has no manifest for ${formatPlatform(this.platform)} (it offers: ${offered.join(', ') || 'none'})`);
      }
      platform = entry.platform;
      current = await this.fetchManifest(ctx, ref, ep, entry.digest, entry.size, creds, attempts);
    }
    const manifest = current.parsed.manifest;
    // From the endpoint that served the manifest only: falling through is the caller's loop's job.
    const configBlob = await this.openBlobAt(ctx, ref, ep, manifest.config.digest, creds, attempts);
    const configBytes = await readVerified(ref, configBlob, manifest.config.digest, MAX_CONFIG_BYTES, manifest.config.size);
    const isIndex = top !== current;
    return {
      ref,
      endpoint: ep,
      repoDigest: top.digest,
      ...(isIndex ? { indexDigest: top.digest, indexBytes: top.bytes } : {}),
      manifestDigest: current.digest,
      manifestBytes: current.bytes,
      manifest,
      ...(platform === undefined ? {} : { platform }),
      configBytes,
    };
  }

  private async fetchManifest(
    ctx: OpContext,
    ref: ImageReference,
    ep: Endpoint,
    reference: string,
    expectedSize: number | undefined,
    creds: RegistryCredentials | undefined,
    attempts: number | undefined,
  ): Promise<FetchedManifest> {
    const res = await this.get(ctx, ref, ep, `manifests/${reference}`, MANIFEST_ACCEPT, creds, attempts);
    const byDigest = isDigest(reference);
    const what = byDigest ? `manifest ${reference} of image ${ref}` : `image ${ref}`;
    if (res.status === 404) {
      discard(res);
      throw notFound(`${what} not found at ${ep.url}`);
    }
    if (res.status !== 200) throw await statusError(res, `fetching ${what} from ${ep.url}`);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, `${what} from ${ep.url}`);
    const digest = sha256(bytes);
    if (byDigest && digest !== reference) {
      throw internal(`manifest digest mismatch for ${ref.name}@${reference} from ${ep.url}: content hashes to ${digest}`);
    }
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw internal(`manifest digest mismatch for ${what} from ${ep.url}: registry says ${claimed}, content hashes to ${digest}`);
    }
    if (expectedSize !== undefined && bytes.length !== expectedSize) {
      throw internal(`manifest size mismatch for ${what} from ${ep.url}: index says ${expectedSize} bytes, got ${bytes.length}`);
    }
    return { digest, bytes, parsed: parseManifest(bytes, res.headers['content-type'], `${ref.name}@${digest}`) };
  }

  private async openBlobAt(
    ctx: OpContext,
    ref: ImageReference,
    ep: Endpoint,
    digest: Digest,
    given: RegistryCredentials | undefined,
    attempts: number | undefined,
  ): Promise<BlobStream> {
    const creds = await this.credentialsFor(ep, given);
    const res = await this.get(ctx, ref, ep, `blobs/${digest}`, '*/*', creds, attempts);
    if (res.status === 404) {
      discard(res);
      throw notFound(`blob ${digest} of image ${ref} not found at ${ep.url}`);
    }
    if (res.status !== 200) throw await statusError(res, `fetching blob ${digest} of image ${ref} from ${ep.url}`);
    const length = Number(res.headers['content-length']);
    return { stream: res.body, endpoint: ep, ...(Number.isSafeInteger(length) && length >= 0 ? { size: length } : {}) };
  }

  /** One GET under /v2/<repository>/, answering at most one auth challenge. */
  private async get(
    ctx: OpContext,
    ref: ImageReference,
    ep: Endpoint,
    path: string,
    accept: string,
    creds: RegistryCredentials | undefined,
    attempts: number | undefined,
  ): Promise<HttpResponse> {
    const url = new URL(`${ep.url}/v2/${ref.repository}/${path}`);
    const scope = `repository:${ref.repository}:pull`;
    const send = (authorization: string | undefined) =>
      this.transport.request(ctx, {
        method: 'GET',
        url,
        headers: { accept, ...(authorization === undefined ? {} : { authorization }) },
        ...(attempts === undefined ? {} : { attempts }),
      });
    const first = await this.auth.authorization(ctx, ep.host, scope, creds);
    const res = await send(first);
    if (res.status !== 401) return res;
    discard(res);
    const retry = await this.auth.challenged(ctx, ep.host, res.headers['www-authenticate'], scope, creds, first);
    const again = await send(retry);
    if (again.status === 401) {
      discard(again);
      throw permissionDenied(`pulling ${ref} from ${ep.url}: authorization failed (HTTP 401 after authenticating); check the image pull secret`);
    }
    return again;
  }

  /** CRI credentials when they are meant for this endpoint, else the auth file's entry for it. */
  private async credentialsFor(ep: Endpoint, given: RegistryCredentials | undefined): Promise<RegistryCredentials | undefined> {
    if (given !== undefined && credentialsApply(given, ep.authHost, !ep.mirror)) return given;
    try {
      return await this.authFile.lookup(ep.authHost);
    } catch (e) {
      // A broken auth file must not break anonymous pulls; it is worth a warning per pull.
      this.log.warn('ignoring registry.authFile', { error: toSkiffError(e).message });
      return undefined;
    }
  }
}

/** Reads a small blob whole and checks it against its digest (and descriptor size, when known). */
async function readVerified(ref: ImageReference, blob: BlobStream, digest: Digest, limit = MAX_CONFIG_BYTES, size?: number): Promise<Buffer> {
  const bytes = await readStream(blob.stream, limit, `blob ${digest} of ${ref}`, blob.size);
  const got = sha256(bytes);
  if (got !== digest) throw internal(`blob digest mismatch for ${digest} of ${ref} from ${blob.endpoint.url}: content hashes to ${got}`);
  if (size !== undefined && bytes.length !== size) {
    throw internal(`blob size mismatch for ${digest} of ${ref} from ${blob.endpoint.url}: descriptor says ${size}, got ${bytes.length}`);
  }
  return bytes;
}
