// A pod sandbox as the core knows it: what the CRI asked for (validated), and what was made for it.
import type { PinnedNamespaces } from '../../namespaces/pin.js';
import type { PortMapping } from '../../network/hostport.js';
import type { DnsConfig } from '../../network/pod-files.js';
import type { PodResources } from '../../cgroups/types.js';
import type { SandboxId } from '../ids.js';

/** CRI NamespaceMode, by name. */
export type NsMode = 'pod' | 'container' | 'node' | 'target';

export interface NamespaceModes {
  readonly network: NsMode;
  readonly pid: NsMode;
  readonly ipc: NsMode;
  readonly targetId: string;
}

export interface SandboxSpec {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly attempt: number;
  readonly hostname: string;
  readonly logDirectory: string;
  readonly dns?: DnsConfig;
  readonly portMappings: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly runtimeHandler: string;
  readonly cgroupParent: string;
  readonly namespaces: NamespaceModes;
  readonly sysctls: Readonly<Record<string, string>>;
  /** Overhead + resources of the pod, for its cgroup. */
  readonly resources?: PodResources;
  readonly privileged: boolean;
}

export type SandboxState = 'ready' | 'notready';

export interface PodNetworkStatus {
  readonly ip: string;
  readonly prefix: number;
  readonly gateway: string;
  /** Built-in bridge: the pod's eth0 MAC and the host end of its veth. */
  readonly mac?: string;
  readonly hostVeth?: string;
  /** CNI: the network's name and the final ADD result, which DEL gets back as prevResult. */
  readonly cniNetwork?: string;
  readonly cniResult?: Readonly<Record<string, unknown>>;
}

export interface SandboxRecord {
  readonly id: SandboxId;
  readonly spec: SandboxSpec;
  readonly state: SandboxState;
  /** Nanoseconds since the epoch. */
  readonly createdAt: bigint;
  readonly ns: PinnedNamespaces;
  /** The pod cgroup, relative to the cgroup hierarchy root. */
  readonly cgroupPath: string;
  /** The pod's /dev/shm tmpfs; absent for host-IPC pods (they use the host's). */
  readonly shmPath?: string;
  /** resolv.conf, hosts, hostname. */
  readonly filesDir: string;
  readonly network?: PodNetworkStatus;
}

export function isSandboxRecord(x: unknown): x is SandboxRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  const spec = r.spec as Record<string, unknown> | undefined;
  return (
    typeof r.id === 'string' &&
    (r.state === 'ready' || r.state === 'notready') &&
    typeof r.createdAt === 'bigint' &&
    typeof r.cgroupPath === 'string' &&
    typeof r.filesDir === 'string' &&
    typeof r.ns === 'object' &&
    r.ns !== null &&
    typeof spec === 'object' &&
    spec !== null &&
    typeof spec.name === 'string' &&
    typeof spec.namespace === 'string' &&
    typeof spec.uid === 'string' &&
    typeof spec.attempt === 'number' &&
    Array.isArray(spec.portMappings) &&
    typeof spec.namespaces === 'object'
  );
}

/** kubelet's identity of a pod attempt: a retried RunPodSandbox with the same key is the same pod. */
export function nameKey(s: Pick<SandboxSpec, 'name' | 'namespace' | 'uid' | 'attempt'>): string {
  return `${s.name}_${s.namespace}_${s.uid}_${s.attempt}`;
}
