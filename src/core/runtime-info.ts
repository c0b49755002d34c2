// Runtime-wide facts and settings: what Version, Status, RuntimeConfig and UpdateRuntimeConfig
// answer. Everything here is read from memory; only UpdateRuntimeConfig writes (one record).
import type { Config } from '../config/schema.js';
import type { HostInfo } from '../runtime/host-info.js';
import { spawnCount } from '../runtime/spawn-count.js';
import type { RecordStore } from '../state/record-store.js';
import { parseCidrList } from '../util/cidr.js';
import type { OpContext } from './context.js';
import { invalidArgument } from './errors.js';

/** kubelet checks this exact string; it is the version of the CRI "kubelet API", not ours. */
export const KUBELET_API_VERSION = '0.1.0';
export const RUNTIME_NAME = 'skiff';
export const RUNTIME_API_VERSION = 'v1';

export interface RuntimeSettings {
  /** As kubelet sent it: one CIDR, or "v4,v6". Empty until kubelet sends one. */
  readonly podCidr: string;
}

export function isRuntimeSettings(x: unknown): x is RuntimeSettings {
  return typeof x === 'object' && x !== null && typeof (x as RuntimeSettings).podCidr === 'string';
}

export interface Condition {
  readonly type: 'RuntimeReady' | 'NetworkReady';
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

/** Something that knows whether pods can get a network right now. */
export interface NetworkReadiness {
  networkCondition(): { ready: boolean; reason: string; message: string };
}

/** Until a network backend exists, pods cannot be networked: say so instead of pretending. */
export const NO_NETWORK_BACKEND: NetworkReadiness = {
  networkCondition: () => ({
    ready: false,
    reason: 'NetworkPluginNotReady',
    message: 'no pod network backend is available in this build of skiff',
  }),
};

const SETTINGS_ID = 'settings';

export class RuntimeInfo {
  private settings: RuntimeSettings = { podCidr: '' };

  constructor(
    private readonly config: Config,
    readonly host: HostInfo,
    readonly runtimeVersion: string,
    private readonly store: RecordStore<RuntimeSettings>,
    private network: NetworkReadiness = NO_NETWORK_BACKEND,
  ) {}

  private podCidrHook: ((ctx: OpContext, podCidr: string) => Promise<void>) | undefined;

  /** Called after a new pod CIDR is recorded (the built-in network may move to it). */
  onPodCidrChange(hook: (ctx: OpContext, podCidr: string) => Promise<void>): void {
    this.podCidrHook = hook;
  }

  /** The network backend is built after the settings load (it needs the pod CIDR). */
  useNetwork(network: NetworkReadiness): void {
    this.network = network;
  }

  async load(): Promise<void> {
    await this.store.init();
    this.settings = (await this.store.get(SETTINGS_ID)) ?? this.settings;
  }

  get podCidr(): string {
    return this.settings.podCidr;
  }

  version() {
    return {
      version: KUBELET_API_VERSION,
      runtimeName: RUNTIME_NAME,
      runtimeVersion: this.runtimeVersion,
      runtimeApiVersion: RUNTIME_API_VERSION,
    };
  }

  conditions(): Condition[] {
    const missing: string[] = [];
    if (!this.host.overlay) missing.push('the kernel has no overlay filesystem');
    if (this.host.cgroup === 'none') missing.push('no cgroup filesystem is mounted at /sys/fs/cgroup');
    const net = this.network.networkCondition();
    return [
      {
        type: 'RuntimeReady',
        status: missing.length === 0,
        reason: missing.length === 0 ? '' : 'HostNotSupported',
        message: missing.join('; '),
      },
      { type: 'NetworkReady', status: net.ready, reason: net.ready ? '' : net.reason, message: net.ready ? '' : net.message },
    ];
  }

  /** "" is the default handler (the built-in executor); the rest come from the config. */
  handlerNames(): string[] {
    return ['', ...Object.keys(this.config.runtimeHandlers).sort()];
  }

  /** Verbose Status info: JSON strings, as crictl info prints them. */
  verboseInfo(): Record<string, string> {
    return {
      config: JSON.stringify(this.config),
      version: JSON.stringify({ ...this.version(), node: process.version }),
      host: JSON.stringify(this.host),
      runtimeConfig: JSON.stringify(this.settings),
      spawns: String(spawnCount()),
    };
  }

  cgroupDriver(): Config['cgroupDriver'] {
    return this.config.cgroupDriver;
  }

  /** Records the pod CIDR. An empty one is ignored (kubelet sends it before the node has a CIDR). */
  async updatePodCidr(ctx: OpContext, podCidr: string): Promise<void> {
    const cidr = podCidr.trim();
    if (cidr === '' || cidr === this.settings.podCidr) return;
    const parsed = parseCidrList(cidr);
    if (typeof parsed === 'string') throw invalidArgument(`pod CIDR: ${parsed}`);
    const next: RuntimeSettings = { podCidr: cidr };
    await this.store.put(SETTINGS_ID, next);
    this.settings = next;
    ctx.log.info('pod CIDR recorded', { podCidr: cidr });
    await this.podCidrHook?.(ctx, cidr);
  }
}
