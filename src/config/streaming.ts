// The streaming server's settings (Exec, Attach, PortForward URLs), with containerd's and CRI-O's
// defaults: loopback, a free port, no TLS, 4 h idle timeout.
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';
import { absolutePath, knownKeys, mapping, number, show } from './checks.js';

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

export function parseStreamingConfig(raw: unknown): StreamingConfig {
  if (raw === undefined || raw === null) return DEFAULT_STREAMING_CONFIG;
  const r = mapping('streaming', raw);
  const d = DEFAULT_STREAMING_CONFIG;
  knownKeys('streaming.', r, Object.keys(d));
  const address = r.address ?? d.address;
  if (typeof address !== 'string' || isIP(address) === 0) {
    throw new ConfigError('streaming.address', `must be an IP address; got ${show(address)}`);
  }
  const cfg: StreamingConfig = {
    address,
    port: number('streaming.port', r.port ?? d.port, 0, 65535),
    tlsCertFile: absolutePath('streaming.tlsCertFile', r.tlsCertFile ?? d.tlsCertFile, true),
    tlsKeyFile: absolutePath('streaming.tlsKeyFile', r.tlsKeyFile ?? d.tlsKeyFile, true),
    idleTimeoutSeconds: number('streaming.idleTimeoutSeconds', r.idleTimeoutSeconds ?? d.idleTimeoutSeconds, 1, 7 * 24 * 3600),
  };
  if ((cfg.tlsCertFile === '') !== (cfg.tlsKeyFile === '')) {
    throw new ConfigError('streaming.tlsKeyFile', 'tlsCertFile and tlsKeyFile go together: set both or neither');
  }
  return Object.freeze(cfg);
}
