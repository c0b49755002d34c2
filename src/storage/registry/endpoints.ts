// Where a registry's content can be fetched from: its mirrors in the configured order, then the
// registry itself unless the config forbids falling back to it. A registry without mirrors is
// always its own endpoint (`fallbackToUpstream` is about mirrored registries). The list is built
// from config alone, so a forbidden upstream is never resolved or contacted.
import type { RegistryConfig } from '../../config/registry.js';
import { apiHost } from '../../util/image-reference.js';

export interface Endpoint {
  /** Base URL; requests go to `${url}/v2/<repository>/…`. */
  readonly url: string;
  /** host[:port] of url: challenges and tokens are remembered per host. */
  readonly host: string;
  /** Whose credentials apply: the registry's name for the upstream, the mirror's host for a mirror. */
  readonly authHost: string;
  readonly mirror: boolean;
}

function isListed(hosts: readonly string[], hostPort: string): boolean {
  const h = hostPort.toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
  return hosts.includes(h) || hosts.includes(name);
}

export function endpointsFor(config: RegistryConfig, registry: string): Endpoint[] {
  const key = registry.toLowerCase();
  const out: Endpoint[] = (config.mirrors[key] ?? []).map((base) => {
    const u = new URL(base);
    return { url: u.origin, host: u.host, authHost: u.host, mirror: true };
  });
  if (config.fallbackToUpstream || out.length === 0) {
    const host = apiHost(registry);
    const scheme = isListed(config.insecure, registry) || isListed(config.insecure, host) ? 'http' : 'https';
    const u = new URL(`${scheme}://${host}`);
    out.push({ url: u.origin, host: u.host, authHost: registry, mirror: false });
  }
  return out;
}
