// The streaming server's settings (Exec, Attach, PortForward URLs), with containerd's and CRI-O's
// defaults: loopback, a free port, no TLS, 4 h idle timeout.
import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';

export interface StreamingConfig {
  /** The address the server listens on and puts in its URLs. */
  readonly address: string;
  /** 0: a free port, chosen at start. */
  readonly port: number;
  /** Both set: https. Both empty: http. */
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly idleTimeoutSeconds: number;
}

export const DEFAULT_STREAMING_CONFIG: StreamingConfig = Object.freeze({
  address: '127.0.0.1',
  port: 0,
  tlsCertFile: '',
  tlsKeyFile: '',
  idleTimeoutSeconds: 4 * 3600,
});

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

export function parseStreamingConfig(raw: unknown): StreamingConfig {
  if (raw === undefined || raw === null) return DEFAULT_STREAMING_CONFIG;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('streaming', `must be a mapping; got ${show(raw)}`);
  const r = raw as Record<string, unknown>;
  const d = DEFAULT_STREAMING_CONFIG;
  for (const k of Object.keys(r)) {
    if (!(k in d)) throw new ConfigError(`streaming.${k}`, `unknown key (known keys: ${Object.keys(d).join(', ')})`);
  }
  const address = r.address ?? d.address;
  if (typeof address !== 'string' || isIP(address) === 0) {
    throw new ConfigError('streaming.address', `must be an IP address; got ${show(address)}`);
  }
  const int = (key: keyof StreamingConfig, min: number, max: number): number => {
    const v = r[key] ?? d[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(`streaming.${key}`, `must be a whole number from ${min} to ${max}; got ${show(v)}`);
    }
    return v;
  };
  const file = (key: 'tlsCertFile' | 'tlsKeyFile'): string => {
    const v = r[key] ?? d[key];
    if (typeof v !== 'string' || (v !== '' && !isAbsolute(v))) {
      throw new ConfigError(`streaming.${key}`, `must be an absolute path or empty; got ${show(v)}`);
    }
    return v;
  };
  const cfg: StreamingConfig = {
    address,
    port: int('port', 0, 65535),
    tlsCertFile: file('tlsCertFile'),
    tlsKeyFile: file('tlsKeyFile'),
    idleTimeoutSeconds: int('idleTimeoutSeconds', 1, 7 * 24 * 3600),
  };
  if ((cfg.tlsCertFile === '') !== (cfg.tlsKeyFile === '')) {
    throw new ConfigError('streaming.tlsKeyFile', 'tlsCertFile and tlsKeyFile go together: set both or neither');
  }
  return Object.freeze(cfg);
}
