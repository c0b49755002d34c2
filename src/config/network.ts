// The `network:` and `sandbox:` sections of the config: how pods get their network, and the
// per-pod defaults.
import { ConfigError } from './config-error.js';
import { knownKeys, mapping, number, absolutePath, show } from './checks.js';
import { parseCidr } from '../util/cidr.js';

export const NETWORK_MODES = ['bridge', 'cni'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export interface NetworkConfig {
  /** bridge: Skiff's built-in bridge; cni: the plugins of the first config in `cniConfDir`. */
  readonly mode: NetworkMode;
  /** Built-in mode: the bridge's name (at most 15 characters). */
  readonly bridge: string;
  /** Built-in mode: the pod subnet; the bridge takes its first address. The pod CIDR kubelet sends wins. */
  readonly subnet: string;
  readonly mtu: number;
  /** Built-in mode: prefix of Skiff's iptables chains ("SKIFF-HOSTPORTS", …). */
  readonly chainPrefix: string;
  readonly cniConfDir: string;
  readonly cniBinDirs: readonly string[];
}

export interface SandboxConfig {
  /** Size of each pod's /dev/shm tmpfs. */
  readonly shmSizeBytes: number;
  /** Size of the tmpfs holding each pod's hosts, resolv.conf and hostname (containers write to them). */
  readonly filesSizeBytes: number;
}

export const DEFAULT_NETWORK_CONFIG: NetworkConfig = Object.freeze({
  mode: 'bridge',
  bridge: 'skiff0',
  subnet: '10.88.0.0/16',
  mtu: 1500,
  chainPrefix: 'SKIFF',
  cniConfDir: '/etc/cni/net.d',
  cniBinDirs: Object.freeze(['/opt/cni/bin', '/usr/lib/cni']),
});

export const DEFAULT_SANDBOX_CONFIG: SandboxConfig = Object.freeze({ shmSizeBytes: 64 * 1024 * 1024, filesSizeBytes: 1024 * 1024 });


export function parseNetworkConfig(raw: unknown): NetworkConfig {
  if (raw === undefined || raw === null) return DEFAULT_NETWORK_CONFIG;
  const r = mapping('network', raw);
  const d = DEFAULT_NETWORK_CONFIG;
  knownKeys('network.', r, Object.keys(d));
  const mode = r.mode ?? d.mode;
  if (!(NETWORK_MODES as readonly unknown[]).includes(mode)) {
    throw new ConfigError('network.mode', `must be one of ${NETWORK_MODES.join(', ')}; got ${show(mode)}`);
  }
  const bridge = r.bridge ?? d.bridge;
  if (typeof bridge !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) {
    throw new ConfigError('network.bridge', `must be an interface name of 1 to 15 letters, digits, "_", "." or "-"; got ${show(bridge)}`);
  }
  const subnet = r.subnet ?? d.subnet;
  const parsed = typeof subnet === 'string' ? parseCidr(subnet) : 'not a string';
  if (typeof parsed === 'string') throw new ConfigError('network.subnet', parsed);
  if (parsed.family !== 4 || parsed.prefix > 30) throw new ConfigError('network.subnet', `must be an IPv4 CIDR of /30 or wider; got ${show(subnet)}`);
  const binDirs = r.cniBinDirs ?? d.cniBinDirs;
  if (!Array.isArray(binDirs)) throw new ConfigError('network.cniBinDirs', `must be a list; got ${show(binDirs)}`);
  const chainPrefix = r.chainPrefix ?? d.chainPrefix;
  if (typeof chainPrefix !== 'string' || !/^[A-Z][A-Z0-9]{0,9}$/.test(chainPrefix)) {
    throw new ConfigError('network.chainPrefix', `must be 1 to 10 upper-case letters or digits, starting with a letter; got ${show(chainPrefix)}`);
  }
  return Object.freeze({
    mode: mode as NetworkMode,
    chainPrefix,
    bridge,
    subnet: subnet as string,
    mtu: number('network.mtu', r.mtu ?? d.mtu, 576, 65535),
    cniConfDir: absolutePath('network.cniConfDir', r.cniConfDir ?? d.cniConfDir),
    cniBinDirs: Object.freeze(binDirs.map((p, i) => absolutePath(`network.cniBinDirs[${i}]`, p))),
  });
}

export function parseSandboxConfig(raw: unknown): SandboxConfig {
  if (raw === undefined || raw === null) return DEFAULT_SANDBOX_CONFIG;
  const r = mapping('sandbox', raw);
  knownKeys('sandbox.', r, Object.keys(DEFAULT_SANDBOX_CONFIG));
  return Object.freeze({
    shmSizeBytes: number('sandbox.shmSizeBytes', r.shmSizeBytes ?? DEFAULT_SANDBOX_CONFIG.shmSizeBytes, 4096, 2 ** 40),
    filesSizeBytes: number('sandbox.filesSizeBytes', r.filesSizeBytes ?? DEFAULT_SANDBOX_CONFIG.filesSizeBytes, 65536, 2 ** 30),
  });
}
