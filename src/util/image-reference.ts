// Image references as Docker and containerd normalise them, so that `busybox`, `docker.io/busybox`
// and `docker.io/library/busybox:latest` name one image and kubelet's RepoTags match ours.
// Grammar: github.com/distribution/reference (name components, tag, digest), sha256 digests only.
import { invalidArgument } from '../core/errors.js';
import { isDigest, type Digest } from '../core/ids.js';

export interface ImageReference {
  /** Registry host[:port] as written, except that Docker Hub's aliases become "docker.io". */
  readonly registry: string;
  /** Path inside the registry, e.g. "library/busybox". */
  readonly repository: string;
  /** Absent only when the reference names a digest and no tag. */
  readonly tag?: string;
  readonly digest?: Digest;
  /** registry/repository, e.g. "docker.io/library/busybox". */
  readonly name: string;
  /** The full normalised form: name[:tag][@digest]. */
  toString(): string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const MAX_NAME_LENGTH = 255;

const ALNUM = '[a-z0-9]+';
// "__" and runs of "-" are allowed between alphanumerics; a single "." or "_" too.
const SEPARATOR = '(?:[._]|__|-+)';
const PATH_COMPONENT = new RegExp(`^${ALNUM}(?:${SEPARATOR}${ALNUM})*$`);
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;

class Reference implements ImageReference {
  readonly name: string;

  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag: string | undefined,
    readonly digest: Digest | undefined,
  ) {
    this.name = `${registry}/${repository}`;
  }

  toString(): string {
    return this.name + (this.tag === undefined ? '' : `:${this.tag}`) + (this.digest === undefined ? '' : `@${this.digest}`);
  }

  toJSON(): string {
    return this.toString();
  }
}

function fail(text: string, reason: string): never {
  throw invalidArgument(`invalid image reference ${JSON.stringify(text)}: ${reason}`);
}

/**
 * Parses and normalises a reference: the registry defaults to `opts.defaultRegistry` (docker.io),
 * Docker Hub's one-component names get "library/", and a reference without tag or digest gets
 * ":latest". Throws InvalidArgument saying what is wrong.
 */
export function parseReference(text: string, opts: { defaultRegistry?: string } = {}): ImageReference {
  if (text === '') fail(text, 'empty reference');
  if (/\s/.test(text)) fail(text, 'contains white space');

  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const d = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (d.includes('@')) fail(text, 'more than one "@"');
    if (!d.startsWith('sha256:')) fail(text, `unsupported digest ${JSON.stringify(d)}: only sha256 digests are supported`);
    if (!isDigest(d)) fail(text, `invalid digest ${JSON.stringify(d)}: want sha256:<64 lower-case hex digits>`);
    digest = d;
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      fail(text, `invalid tag ${JSON.stringify(tag)}: letters, digits, "_", "." and "-", at most 128, not starting with "." or "-"`);
    }
  }
  if (rest === '') fail(text, 'empty repository name');
  if (rest.length > MAX_NAME_LENGTH) fail(text, `name longer than ${MAX_NAME_LENGTH} characters`);

  let { registry, repository } = splitRegistry(rest, opts.defaultRegistry ?? DOCKER_HUB);
  if (!DOMAIN.test(registry)) fail(text, `invalid registry host ${JSON.stringify(registry)}`);
  if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;

  for (const component of repository.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (component !== component.toLowerCase()) fail(text, 'repository name must be lowercase');
    if (component === '') fail(text, 'empty path component in repository name');
    fail(text, `invalid path component ${JSON.stringify(component)} in repository name`);
  }
  // A bare 64-hex name is an image id, not a repository: refusing it keeps ids and names apart.
  if (HEX64.test(rest)) fail(text, 'a 64-character hex string is an image id, not a repository name');

  if (tag === undefined && digest === undefined) tag = 'latest';
  return new Reference(registry, repository, tag, digest);
}

/**
 * Docker's rule: the first component is a registry if it has a "." or ":", is "localhost", or has
 * upper-case letters (repositories never do); otherwise the name lives on the default registry.
 */
function splitRegistry(name: string, defaultRegistry: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { registry: defaultRegistry, repository: name };
  const first = name.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
  if (!isHost) return { registry: defaultRegistry, repository: name };
  return { registry: first, repository: name.slice(slash + 1) };
}

/** The same repository pinned to a digest, keeping the tag: "name:tag@sha256:…". */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  return new Reference(ref.registry, ref.repository, ref.tag, digest);
}

/** The host that serves the registry API for a registry name: Docker Hub's API is not on docker.io. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}
