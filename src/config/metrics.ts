// The `metrics:` section: Prometheus metrics of the daemon itself (RPC latency, pods, containers,
// pulled bytes) over plain HTTP. Off by default; the address is an IP literal and a port, never a
// name to resolve.
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';
import { bool, knownKeys, mapping, show, string } from './checks.js';

export interface MetricsConfig {
  readonly enabled: boolean;
  /** "127.0.0.1:9539", "[::1]:9539", "0.0.0.0:9539". */
  readonly listen: string;
}

export const DEFAULT_METRICS_CONFIG: MetricsConfig = Object.freeze({ enabled: false, listen: '127.0.0.1:9539' });

/** "host:port" or "[v6]:port" → its parts; a message saying what is wrong otherwise. */
export function parseListenAddress(v: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) return `must be "ip:port" or "[ipv6]:port"; got ${show(v)}`;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) return `must name an IP address, not a host name; got ${show(v)}`;
  if (port < 1 || port > 65535) return `port must be from 1 to 65535; got ${show(v)}`;
  return { host, port };
}

export function parseMetricsConfig(raw: unknown): MetricsConfig {
  if (raw === undefined || raw === null) return DEFAULT_METRICS_CONFIG;
  const r = mapping('metrics', raw);
  knownKeys('metrics.', r, Object.keys(DEFAULT_METRICS_CONFIG));
  const enabled = bool('metrics.enabled', r.enabled ?? DEFAULT_METRICS_CONFIG.enabled);
  const listen = string('metrics.listen', r.listen ?? DEFAULT_METRICS_CONFIG.listen);
  const parsed = parseListenAddress(listen);
  if (typeof parsed === 'string') throw new ConfigError('metrics.listen', parsed);
  return Object.freeze({ enabled, listen });
}
