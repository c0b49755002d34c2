// Pushing through the Registry HTTP API v2 straight from Node: blobs (monolithic or chunked),
// manifests by tag or digest, and indexes. Handles basic auth and the Bearer token dance.
import { createReadStream } from 'node:fs';
import { basicAuthHeader, httpRequest, type HttpRequestOptions, type HttpResponse } from './http.js';
import { buildIndex, type BuiltImage, type BuiltIndex, type Platform } from './oci-image.js';
import type { LayerBlob } from './tar-layer.js';

export interface RegistryCredentials {
  user: string;
  password: string;
}

export interface PushOptions {
  /** Upload blobs in PATCH chunks of this many bytes instead of one PUT. */
  chunkSize?: number;
}

export interface PushedImage {
  repo: string;
  tags: string[];
  /** "<host>/<repo>:<tag>" per tag, as a CRI client would name the image. */
  refs: string[];
  /** "<host>/<repo>@<manifestDigest>". */
  digestRef: string;
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  layerDigests: string[];
  diffIds: string[];
  platform: Platform;
}

export interface PushedIndex {
  repo: string;
  tag: string;
  ref: string;
  digestRef: string;
  digest: string;
  mediaType: string;
  manifests: PushedImage[];
}

type Blob = Pick<LayerBlob, 'digest' | 'size' | 'blob' | 'file'>;

export class RegistryClient {
  private bearer: string | undefined;
  readonly host: string;

  constructor(
    readonly baseUrl: string,
    private readonly auth?: RegistryCredentials,
  ) {
    this.host = new URL(baseUrl).host;
  }

  /** Sends with credentials; on a Bearer challenge fetches a token and retries once. */
  async request(pathOrUrl: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(pathOrUrl, this.baseUrl);
    const res = await httpRequest(url, { ...opts, headers: this.withAuth(opts.headers) });
    const challenge = String(res.headers['www-authenticate'] ?? '');
    if (res.status !== 401 || !/^Bearer /i.test(challenge) || !this.auth) return res;
    if (opts.body !== undefined && typeof opts.body !== 'string' && !Buffer.isBuffer(opts.body)) {
      // A stream is spent; callers authenticate with a bodiless request first.
      return res;
    }
    await this.fetchToken(challenge);
    return httpRequest(url, { ...opts, headers: this.withAuth(opts.headers) });
  }

  private withAuth(headers: Record<string, string | number> = {}): Record<string, string | number> {
    if (this.bearer) return { ...headers, authorization: `Bearer ${this.bearer}` };
    if (this.auth) return { ...headers, authorization: basicAuthHeader(this.auth) };
    return headers;
  }

  private async fetchToken(challenge: string): Promise<void> {
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (!params.realm) throw new Error(`Bearer challenge without realm: ${challenge}`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const res = await httpRequest(url, { headers: { authorization: basicAuthHeader(this.auth!) } });
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
    const body = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string };
    this.bearer = body.token ?? body.access_token;
  }

  /** Uploads unless the repository already has it. Returns whether bytes were sent. */
  async pushBlob(repo: string, blob: Blob, opts: PushOptions = {}): Promise<boolean> {
    const head = await this.request(`/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD' });
    if (head.status === 200) return false;
    const start = await this.request(`/v2/${repo}/blobs/uploads/`, {
      method: 'POST',
      headers: { 'content-length': 0 },
    });
    expectStatus(start, 202, `start upload of ${blob.digest} to ${repo}`);
    let location = new URL(String(start.headers.location), this.baseUrl);
    const body = (from: number, to: number) =>
      blob.blob ? blob.blob.subarray(from, to) : createReadStream(blob.file!, { start: from, end: to - 1 });
    if (!blob.blob && !blob.file) throw new Error(`blob ${blob.digest} has neither bytes nor a file`);

    if (opts.chunkSize && opts.chunkSize < blob.size) {
      for (let off = 0; off < blob.size; off += opts.chunkSize) {
        const end = Math.min(off + opts.chunkSize, blob.size);
        const res = await this.request(location.href, {
          method: 'PATCH',
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': end - off,
            'content-range': `${off}-${end - 1}`,
          },
          body: body(off, end),
        });
        expectStatus(res, 202, `upload chunk ${off}-${end - 1} of ${blob.digest}`);
        location = new URL(String(res.headers.location), this.baseUrl);
      }
      location.searchParams.set('digest', blob.digest);
      const res = await this.request(location.href, { method: 'PUT', headers: { 'content-length': 0 } });
      expectStatus(res, 201, `finish upload of ${blob.digest}`);
      return true;
    }
    location.searchParams.set('digest', blob.digest);
    const res = await this.request(location.href, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size },
      body: body(0, blob.size),
    });
    expectStatus(res, 201, `upload ${blob.digest} to ${repo}`);
    return true;
  }

  /** PUT a manifest or index under a tag or its digest; checks the digest the registry computed. */
  async pushManifest(repo: string, reference: string, bytes: Buffer, mediaType: string, digest: string) {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType, 'content-length': bytes.length },
      body: bytes,
    });
    expectStatus(res, 201, `push manifest ${repo}:${reference}`);
    const got = res.headers['docker-content-digest'];
    if (got !== undefined && got !== digest) {
      throw new Error(`registry computed ${String(got)} for ${repo}:${reference}, expected ${digest}`);
    }
  }

  async pushImageBlobs(repo: string, image: BuiltImage, opts: PushOptions = {}): Promise<void> {
    // One bodiless request first so a Bearer token is in hand before any streamed upload.
    await this.request(`/v2/${repo}/blobs/${image.configDigest}`, { method: 'HEAD' });
    await Promise.all(image.layers.map((l) => this.pushBlob(repo, l, opts)));
    await this.pushBlob(repo, { digest: image.configDigest, size: image.config.length, blob: image.config });
  }
}

function expectStatus(res: HttpResponse, want: number, what: string): void {
  if (res.status !== want) {
    throw new Error(`${what}: HTTP ${res.status} (wanted ${want}): ${res.body.toString('utf8').slice(0, 500)}`);
  }
}

function describe(client: RegistryClient, repo: string, tags: string[], image: BuiltImage): PushedImage {
  return {
    repo,
    tags,
    refs: tags.map((t) => `${client.host}/${repo}:${t}`),
    digestRef: `${client.host}/${repo}@${image.manifestDigest}`,
    manifestDigest: image.manifestDigest,
    manifestMediaType: image.manifestMediaType,
    configDigest: image.configDigest,
    layerDigests: image.layers.map((l) => l.digest),
    diffIds: image.layers.map((l) => l.diffId),
    platform: image.platform,
  };
}

export async function pushImage(
  registryUrl: string,
  repo: string,
  tags: string | string[],
  image: BuiltImage,
  auth?: RegistryCredentials,
  opts: PushOptions = {},
): Promise<PushedImage> {
  const client = new RegistryClient(registryUrl, auth);
  const tagList = typeof tags === 'string' ? [tags] : tags;
  await client.pushImageBlobs(repo, image, opts);
  for (const tag of tagList) {
    await client.pushManifest(repo, tag, image.manifest, image.manifestMediaType, image.manifestDigest);
  }
  return describe(client, repo, tagList, image);
}

/** Pushes every platform's image by digest, then the index (or manifest list) under `tag`. */
export async function pushIndex(
  registryUrl: string,
  repo: string,
  tag: string,
  images: BuiltImage[] | BuiltIndex,
  auth?: RegistryCredentials,
): Promise<PushedIndex> {
  const index = Array.isArray(images) ? buildIndex(images) : images;
  const client = new RegistryClient(registryUrl, auth);
  const manifests: PushedImage[] = [];
  for (const image of index.images) {
    await client.pushImageBlobs(repo, image);
    const d = image.manifestDigest;
    await client.pushManifest(repo, d, image.manifest, image.manifestMediaType, d);
    manifests.push(describe(client, repo, [], image));
  }
  await client.pushManifest(repo, tag, index.index, index.mediaType, index.digest);
  return {
    repo,
    tag,
    ref: `${client.host}/${repo}:${tag}`,
    digestRef: `${client.host}/${repo}@${index.digest}`,
    digest: index.digest,
    mediaType: index.mediaType,
    manifests,
  };
}
