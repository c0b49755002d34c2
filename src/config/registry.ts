// The `registry:` section of the config: mirrors, TLS trust, credentials file, pinned images and the
// pull's patience. Validated strictly so that a typo names its key instead of silently pulling from
// the wrong place.
import { ConfigError } from './config-error.js';
import { absolutePath, bool, mapping, number, show, string } from './checks.js';
import { parseReference } from '../util/image-reference.js';

export interface RegistryConfig {
  /** Registry host[:port] → mirror base URLs (scheme and host[:port], no path), tried in order. */
  readonly mirrors: Readonly<Record<string, readonly string[]>>;
  /**
   * After a registry's mirrors, try the registry itself. False: a registry that has mirrors is
   * reached only through them, never contacted, not even by a DNS lookup.
   */
  readonly fallbackToUpstream: boolean;
  /** host[:port] spoken to over plain HTTP (upstream) or without TLS verification (https URLs). */
  readonly insecure: readonly string[];
  /** host[:port] → absolute path of a PEM file trusted for that host, on top of the system CAs. */
  readonly ca: Readonly<Record<string, string>>;
  /** Image references never garbage-collected, normalised ("registry.k8s.io/pause:3.10"). */
  readonly pinned: readonly string[];
  /** Absolute path of a docker-style config.json with `auths`; "" = none. */
  readonly authFile: string;
  /** Registry for references without one. */
  readonly defaultRegistry: string;
  /** A request or download that receives no byte for this long fails with DeadlineExceeded. */
  readonly noProgressTimeoutSeconds: number;
  /** Tries per request on transient failures (1 = no retry). */
  readonly maxAttempts: number;
}

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = Object.freeze({
  mirrors: Object.freeze({}),
  fallbackToUpstream: true,
  insecure: Object.freeze([]),
  ca: Object.freeze({}),
  pinned: Object.freeze([]),
  authFile: '',
  defaultRegistry: 'docker.io',
  noProgressTimeoutSeconds: 60,
  maxAttempts: 4,
});

const KNOWN = Object.keys(DEFAULT_REGISTRY_CONFIG);
const LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_PORT = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::([0-9]{1,5}))?$`);

/** Keys with dots or colons are quoted so that the path reads unambiguously. */
const sub = (parent: string, k: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${parent}.${k}` : `${parent}.${JSON.stringify(k)}`);

function list(key: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(key, `must be a list; got ${show(v)}`);
  return v;
}

/** host[:port], lower-cased: host names compare case-insensitively. */
function hostPort(key: string, v: unknown): string {
  const s = string(key, v);
  const m = HOST_PORT.exec(s);
  if (!m || (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535))) {
    throw new ConfigError(key, `must be host or host:port (no scheme, no path); got ${show(v)}`);
  }
  return s.toLowerCase();
}

function mirrorUrl(key: string, v: unknown): string {
  const s = string(key, v);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(key, `must be a URL like "https://mirror.example" or "http://127.0.0.1:5000"; got ${show(v)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(key, `scheme must be http or https; got ${show(v)}`);
  if (u.username !== '' || u.password !== '') throw new ConfigError(key, 'must not hold credentials; use registry.authFile');
  // A path would be ambiguous (API prefix or repository namespace?), so mirrors are origins only.
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') {
    throw new ConfigError(key, `must be scheme://host[:port] without a path; got ${show(v)}`);
  }
  return u.origin;
}

function mirrors(v: unknown): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const [host, urls] of Object.entries(mapping('registry.mirrors', v))) {
    const key = sub('registry.mirrors', host);
    const h = hostPort(key, host);
    if (out[h] !== undefined) throw new ConfigError(key, 'listed twice (host names are case-insensitive)');
    out[h] = Object.freeze(list(key, urls).map((u, i) => mirrorUrl(`${key}[${i}]`, u)));
  }
  return out;
}

function caFiles(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [host, path] of Object.entries(mapping('registry.ca', v))) {
    const key = sub('registry.ca', host);
    out[hostPort(key, host)] = absolutePath(key, path, false);
  }
  return out;
}

/** Validates the value of the `registry` key (undefined or null: all defaults). */
export function parseRegistryConfig(raw: unknown): RegistryConfig {
  if (raw === undefined || raw === null) return DEFAULT_REGISTRY_CONFIG;
  const r = mapping('registry', raw);
  for (const k of Object.keys(r)) {
    if (!KNOWN.includes(k)) throw new ConfigError(sub('registry', k), `unknown key (known keys: ${KNOWN.join(', ')})`);
  }
  const d = DEFAULT_REGISTRY_CONFIG;
  const defaultRegistry = r.defaultRegistry === undefined ? d.defaultRegistry : hostPort('registry.defaultRegistry', r.defaultRegistry);
  const pinned =
    r.pinned === undefined
      ? d.pinned
      : list('registry.pinned', r.pinned).map((p, i) => pinnedRef(`registry.pinned[${i}]`, p, defaultRegistry));
  return Object.freeze({
    mirrors: Object.freeze(r.mirrors === undefined ? {} : mirrors(r.mirrors)),
    fallbackToUpstream: r.fallbackToUpstream === undefined ? d.fallbackToUpstream : bool('registry.fallbackToUpstream', r.fallbackToUpstream),
    insecure: Object.freeze(r.insecure === undefined ? [] : list('registry.insecure', r.insecure).map((h, i) => hostPort(`registry.insecure[${i}]`, h))),
    ca: Object.freeze(r.ca === undefined ? {} : caFiles(r.ca)),
    pinned: Object.freeze([...pinned]),
    authFile: r.authFile === undefined ? d.authFile : absolutePath('registry.authFile', r.authFile, true),
    defaultRegistry,
    noProgressTimeoutSeconds:
      r.noProgressTimeoutSeconds === undefined
        ? d.noProgressTimeoutSeconds
        : number('registry.noProgressTimeoutSeconds', r.noProgressTimeoutSeconds, 0.001, 3600, false),
    maxAttempts: r.maxAttempts === undefined ? d.maxAttempts : number('registry.maxAttempts', r.maxAttempts, 1, 10, true),
  });
}

function pinnedRef(key: string, v: unknown, defaultRegistry: string): string {
  const s = string(key, v);
  try {
    return parseReference(s, { defaultRegistry }).toString();
  } catch (e) {
    throw new ConfigError(key, e instanceof Error ? e.message : String(e));
  }
}
