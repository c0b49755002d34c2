// Pod sandboxes between the CRI's messages and the core's spec and records.
import {
  NamespaceMode,
  PodSandboxState,
  Protocol,
  type LinuxContainerResources,
  type NamespaceOption,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
} from '../../generated/runtime/v1/api.js';
import { invalidArgument } from '../../core/errors.js';
import type { SandboxFilter } from '../../core/sandbox/sandbox-service.js';
import type { NamespaceModes, NsMode, SandboxRecord, SandboxSpec } from '../../core/sandbox/types.js';

const NS_MODES: Record<number, NsMode> = {
  [NamespaceMode.POD]: 'pod',
  [NamespaceMode.CONTAINER]: 'container',
  [NamespaceMode.NODE]: 'node',
  [NamespaceMode.TARGET]: 'target',
};
const NS_ENUM: Record<NsMode, NamespaceMode> = {
  pod: NamespaceMode.POD,
  container: NamespaceMode.CONTAINER,
  node: NamespaceMode.NODE,
  target: NamespaceMode.TARGET,
};

function nsMode(field: string, v: NamespaceMode | undefined): NsMode {
  const m = NS_MODES[v ?? NamespaceMode.POD];
  if (!m) throw invalidArgument(`${field}: unknown namespace mode ${String(v)}`);
  return m;
}

export function toNamespaceModes(o: NamespaceOption | undefined): NamespaceModes {
  return {
    network: nsMode('namespace_options.network', o?.network),
    // CRI's default (0) is POD; for a pod sandbox kubelet sends CONTAINER unless the pod shares one.
    pid: nsMode('namespace_options.pid', o?.pid),
    ipc: nsMode('namespace_options.ipc', o?.ipc),
    targetId: o?.targetId ?? '',
  };
}

const PROTOCOLS: Record<number, 'TCP' | 'UDP' | 'SCTP'> = { [Protocol.TCP]: 'TCP', [Protocol.UDP]: 'UDP', [Protocol.SCTP]: 'SCTP' };

/** CRI resources → the pod cgroup's; zero means "not set", as in the CRI. */
export function toPodResources(r: LinuxContainerResources | undefined): SandboxSpec['resources'] {
  if (!r) return undefined;
  const n = (b: bigint) => (b === 0n ? undefined : Number(b));
  const out = {
    cpuShares: n(r.cpuShares),
    cpuQuota: n(r.cpuQuota),
    cpuPeriod: n(r.cpuPeriod),
    cpusetCpus: r.cpusetCpus || undefined,
    cpusetMems: r.cpusetMems || undefined,
    memoryLimitBytes: n(r.memoryLimitInBytes),
    memorySwapLimitBytes: n(r.memorySwapLimitInBytes),
    hugepageLimits: r.hugepageLimits.length ? r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: Number(h.limit) })) : undefined,
    unified: Object.keys(r.unified).length ? { ...r.unified } : undefined,
  };
  const set = Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
  return Object.keys(set).length ? set : undefined;
}

/** Pod overhead and pod resources both land on the pod cgroup; resources win where both set. */
export function mergeResources(a: SandboxSpec['resources'], b: SandboxSpec['resources']): SandboxSpec['resources'] {
  if (!a) return b;
  if (!b) return a;
  return { ...a, ...b };
}

export function toSandboxSpec(config: PodSandboxConfig | undefined, runtimeHandler: string): SandboxSpec {
  if (!config) throw invalidArgument('config is missing');
  const m = config.metadata;
  if (!m) throw invalidArgument('config.metadata is missing');
  const linux = config.linux;
  const sc = linux?.securityContext;
  return {
    name: m.name,
    uid: m.uid,
    namespace: m.namespace,
    attempt: m.attempt,
    hostname: config.hostname,
    logDirectory: config.logDirectory,
    ...(config.dnsConfig ? { dns: { ...config.dnsConfig } } : {}),
    portMappings: config.portMappings.map((p, i) => {
      const protocol = PROTOCOLS[p.protocol];
      if (!protocol) throw invalidArgument(`port_mappings[${i}]: unknown protocol ${p.protocol}`);
      if (p.hostPort < 0 || p.hostPort > 65535 || p.containerPort < 1 || p.containerPort > 65535) {
        throw invalidArgument(`port_mappings[${i}]: ports must be 1 to 65535 (host_port ${p.hostPort}, container_port ${p.containerPort})`);
      }
      return { protocol, hostPort: p.hostPort, containerPort: p.containerPort, hostIP: p.hostIp };
    }).filter((p) => p.hostPort !== 0), // kubelet sends container ports without a hostPort too
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    runtimeHandler,
    cgroupParent: linux?.cgroupParent ?? '',
    namespaces: toNamespaceModes(sc?.namespaceOptions),
    sysctls: { ...(linux?.sysctls ?? {}) },
    ...(() => {
      const res = mergeResources(toPodResources(linux?.overhead), toPodResources(linux?.resources));
      return res ? { resources: res } : {};
    })(),
    privileged: sc?.privileged ?? false,
  };
}

const STATE = { ready: PodSandboxState.SANDBOX_READY, notready: PodSandboxState.SANDBOX_NOTREADY } as const;

function metadata(r: SandboxRecord) {
  return { name: r.spec.name, uid: r.spec.uid, namespace: r.spec.namespace, attempt: r.spec.attempt };
}

export function toPodSandbox(r: SandboxRecord): PodSandbox {
  return {
    id: r.id,
    metadata: metadata(r),
    state: STATE[r.state],
    createdAt: r.createdAt,
    labels: { ...r.spec.labels },
    annotations: { ...r.spec.annotations },
    runtimeHandler: r.spec.runtimeHandler,
  };
}

export function toPodSandboxStatus(r: SandboxRecord): PodSandboxStatus {
  const ns = r.spec.namespaces;
  return {
    id: r.id,
    metadata: metadata(r),
    state: STATE[r.state],
    createdAt: r.createdAt,
    network: r.network && r.state === 'ready' ? { ip: r.network.ip, additionalIps: [] } : { ip: '', additionalIps: [] },
    linux: {
      namespaces: {
        options: {
          network: NS_ENUM[ns.network],
          pid: NS_ENUM[ns.pid],
          ipc: NS_ENUM[ns.ipc],
          targetId: ns.targetId,
          usernsOptions: undefined,
        },
      },
    },
    labels: { ...r.spec.labels },
    annotations: { ...r.spec.annotations },
    runtimeHandler: r.spec.runtimeHandler,
  };
}

export function toSandboxFilter(f: PodSandboxFilter | undefined): SandboxFilter {
  if (!f) return {};
  return {
    ...(f.id ? { idPrefix: f.id } : {}),
    ...(f.state ? { state: f.state.state === PodSandboxState.SANDBOX_READY ? 'ready' : 'notready' } : {}),
    ...(Object.keys(f.labelSelector).length ? { labels: f.labelSelector } : {}),
  };
}

/** Verbose PodSandboxStatus info: what `crictl inspectp` shows beyond the status. */
export function sandboxInfo(r: SandboxRecord): Record<string, string> {
  return {
    info: JSON.stringify({
      pid: r.ns.initPid ?? 0,
      netns: r.ns.net ?? '',
      namespaces: r.ns,
      cgroup: r.cgroupPath,
      shm: r.shmPath ?? '/dev/shm',
      files: r.filesDir,
      network: r.network ?? null,
      config: r.spec,
    }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  };
}
