// Credentials from a docker-style config.json (`auths`), for pulls kubelet sends without a pull
// secret. Credential helpers (credsStore, credHelpers) would mean spawning programs from the image
// pull path, so they are not supported; the file is re-read only when it changes.
import { readFile, stat } from 'node:fs/promises';
import { failedPrecondition, hasErrno } from '../../core/errors.js';
import { normalizeAuthHost, type RegistryCredentials } from './auth.js';

/** Normalised registry host → credentials. */
export type DockerAuths = ReadonlyMap<string, RegistryCredentials>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Reads `auths` from a parsed config.json. Keys may be hosts ("registry.example:5000") or URLs
 * ("https://index.docker.io/v1/"); entries hold `auth` (base64 user:pass) or username/password,
 * and optionally `identitytoken`/`registrytoken`. The first entry for a host wins.
 */
export function parseDockerConfig(doc: unknown, what = 'docker config'): DockerAuths {
  if (!isObject(doc)) throw failedPrecondition(`${what}: not a JSON object`);
  const out = new Map<string, RegistryCredentials>();
  if (doc.auths === undefined) return out;
  if (!isObject(doc.auths)) throw failedPrecondition(`${what}: "auths" must be an object`);
  for (const [key, entry] of Object.entries(doc.auths)) {
    if (!isObject(entry)) throw failedPrecondition(`${what}: auths.${JSON.stringify(key)} must be an object`);
    const host = normalizeAuthHost(key);
    if (host === '' || out.has(host)) continue;
    const creds: Record<string, string> = { serverAddress: key };
    const fields: [keyof RegistryCredentials, string][] = [
      ['auth', 'auth'],
      ['username', 'username'],
      ['password', 'password'],
      ['identityToken', 'identitytoken'],
      ['registryToken', 'registrytoken'],
    ];
    for (const [field, jsonKey] of fields) {
      const v = str(entry[jsonKey]);
      if (v !== undefined) creds[field] = v;
    }
    out.set(host, creds as RegistryCredentials);
  }
  return out;
}

/** Credentials for a registry host (any spelling: "docker.io", "https://index.docker.io/v1/"). */
export function lookupCredentials(auths: DockerAuths, registry: string): RegistryCredentials | undefined {
  return auths.get(normalizeAuthHost(registry));
}

/** The auth file on disk, re-read when its mtime or size changes. A missing file holds nothing. */
export class AuthFile {
  private cache: { stamp: string; auths: DockerAuths } | undefined;

  constructor(readonly path: string) {}

  async lookup(registry: string): Promise<RegistryCredentials | undefined> {
    if (this.path === '') return undefined;
    return lookupCredentials(await this.load(), registry);
  }

  private async load(): Promise<DockerAuths> {
    let stamp: string;
    try {
      const st = await stat(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return new Map();
      throw failedPrecondition(`reading registry.authFile ${this.path}: ${(e as Error).message}`, e);
    }
    if (this.cache?.stamp === stamp) return this.cache.auths;
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(this.path, 'utf8'));
    } catch (e) {
      throw failedPrecondition(`reading registry.authFile ${this.path}: ${(e as Error).message}`, e);
    }
    const auths = parseDockerConfig(doc, `registry.authFile ${this.path}`);
    this.cache = { stamp, auths };
    return auths;
  }
}
