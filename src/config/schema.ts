// The configuration: its shape, its defaults, and the validation that names the bad key and value.
// The YAML file is an untyped boundary; everything past parseConfig() is a frozen, typed Config.
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log/logger.js';
import { ConfigError } from './config-error.js';
import { absolutePath, knownKeys, mapping, number, oneOf, show } from './checks.js';
import { DEFAULT_REGISTRY_CONFIG, parseRegistryConfig, type RegistryConfig } from './registry.js';
import { DEFAULT_IMAGES_CONFIG, parseImagesConfig, type ImagesConfig } from './images.js';
import { DEFAULT_METRICS_CONFIG, parseMetricsConfig, type MetricsConfig } from './metrics.js';
import {
  DEFAULT_NETWORK_CONFIG,
  DEFAULT_SANDBOX_CONFIG,
  parseNetworkConfig,
  parseSandboxConfig,
  type NetworkConfig,
  type SandboxConfig,
} from './network.js';

import { DEFAULT_STREAMING_CONFIG, parseStreamingConfig, type StreamingConfig } from './streaming.js';

export { ConfigError } from './config-error.js';

export const CGROUP_DRIVERS = ['cgroupfs', 'systemd'] as const;
export type CgroupDriver = (typeof CGROUP_DRIVERS)[number];

export interface RuntimeHandlerConfig {
  /** Absolute path of an OCI runtime binary (runc, crun) that runs this handler's containers. */
  readonly runtimePath: string;
}

export interface Config {
  readonly root: string;
  readonly state: string;
  /** Empty means <state>/skiff.sock. */
  readonly socket: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly cgroupDriver: CgroupDriver;
  /** How long SIGTERM waits for in-flight calls before cutting them off. */
  readonly shutdownTimeoutSeconds: number;
  /** Named handlers besides the default (built-in executor, handler ""). */
  readonly runtimeHandlers: Readonly<Record<string, RuntimeHandlerConfig>>;
  /** Where images come from: mirrors, TLS, credentials, pinned images. */
  readonly registry: RegistryConfig;
  /** Limits on what one pull or import unpacks. */
  readonly images: ImagesConfig;
  /** How pods get their network. */
  readonly network: NetworkConfig;
  readonly sandbox: SandboxConfig;
  /** The server behind Exec, Attach and PortForward URLs. */
  readonly streaming: StreamingConfig;
  /** The daemon's own Prometheus endpoint. */
  readonly metrics: MetricsConfig;
}

export const DEFAULT_CONFIG: Config = Object.freeze({
  root: '/var/lib/skiff',
  state: '/run/skiff',
  socket: '',
  logLevel: 'info',
  logFormat: 'text',
  cgroupDriver: 'cgroupfs',
  shutdownTimeoutSeconds: 10,
  runtimeHandlers: Object.freeze({}),
  registry: DEFAULT_REGISTRY_CONFIG,
  images: DEFAULT_IMAGES_CONFIG,
  network: DEFAULT_NETWORK_CONFIG,
  sandbox: DEFAULT_SANDBOX_CONFIG,
  streaming: DEFAULT_STREAMING_CONFIG,
  metrics: DEFAULT_METRICS_CONFIG,
});

const HANDLER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function runtimeHandlers(v: unknown): Record<string, RuntimeHandlerConfig> {
  const out: Record<string, RuntimeHandlerConfig> = {};
  for (const [name, raw] of Object.entries(mapping('runtimeHandlers', v))) {
    const key = `runtimeHandlers.${name}`;
    if (!HANDLER_NAME.test(name) || name.length > 63) {
      throw new ConfigError(key, 'handler names are DNS labels: lower-case letters, digits and "-", at most 63');
    }
    const h = mapping(key, raw);
    knownKeys(key + '.', h, ['runtimePath']);
    out[name] = Object.freeze({ runtimePath: absolutePath(`${key}.runtimePath`, h.runtimePath) });
  }
  return out;
}

const KEYS = Object.keys(DEFAULT_CONFIG) as (keyof Config)[];

/** Validates a parsed YAML document (null or undefined for an empty/missing file) over the defaults. */
export function parseConfig(doc: unknown, overrides: Partial<Config> = {}): Config {
  const raw = doc === null || doc === undefined ? {} : mapping('(top level)', doc);
  knownKeys('', raw, KEYS);
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG, ...raw, ...stripUndefined(overrides) };
  const cfg: Config = {
    root: absolutePath('root', merged.root),
    state: absolutePath('state', merged.state),
    socket: absolutePath('socket', merged.socket, true),
    logLevel: oneOf('logLevel', merged.logLevel, LOG_LEVELS),
    logFormat: oneOf('logFormat', merged.logFormat, LOG_FORMATS),
    cgroupDriver: oneOf('cgroupDriver', merged.cgroupDriver, CGROUP_DRIVERS),
    shutdownTimeoutSeconds: number('shutdownTimeoutSeconds', merged.shutdownTimeoutSeconds, 0, 3600),
    runtimeHandlers: Object.freeze(runtimeHandlers(merged.runtimeHandlers)),
    registry: parseRegistryConfig(merged.registry),
    images: parseImagesConfig(merged.images),
    network: parseNetworkConfig(merged.network),
    sandbox: parseSandboxConfig(merged.sandbox),
    streaming: parseStreamingConfig(merged.streaming),
    metrics: parseMetricsConfig(merged.metrics),
  };
  if (cfg.root === cfg.state) throw new ConfigError('state', `must differ from root; both are ${show(cfg.root)}`);
  return Object.freeze(cfg);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
