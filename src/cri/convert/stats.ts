// Resource usage between the core and the CRI stats messages.
import type { ContainerStats, CpuUsage, IoUsage, MemoryUsage, NetworkInterfaceUsage, PodSandboxStats, PsiData, PsiStats } from '../../generated/runtime/v1/api.js';
import type { CgroupStats, Psi, PsiLine } from '../../core/stats/stats-service.js';
import type { ContainerUsage, PodUsage } from '../../core/stats/stats-service.js';

const u64 = (v: bigint | number | undefined) => (v === undefined ? undefined : { value: BigInt(v) });

/** Kubelet takes the averages as the kernel writes them (percent) and the total in µs. */
function psiLine(l: PsiLine | undefined): PsiData | undefined {
  return l ? { Total: l.totalUs, Avg10: l.avg10, Avg60: l.avg60, Avg300: l.avg300 } : undefined;
}

function psi(p: Psi | undefined): PsiStats | undefined {
  return p ? { Some: psiLine(p.some), Full: psiLine(p.full) } : undefined;
}

/** CRI's io usage is pressure only (v2); bytes per device go to the metrics. */
function io(s: CgroupStats | undefined): IoUsage | undefined {
  return s?.psi?.io ? { timestamp: s.timestampNs, psi: psi(s.psi.io) } : undefined;
}

function cpu(s: CgroupStats | undefined, nanoCores: bigint | undefined): CpuUsage | undefined {
  if (!s) return undefined;
  return { timestamp: s.timestampNs, usageCoreNanoSeconds: u64(s.cpu.usageCoreNanoSeconds), usageNanoCores: u64(nanoCores), psi: psi(s.psi?.cpu) };
}

function memory(s: CgroupStats | undefined): MemoryUsage | undefined {
  if (!s) return undefined;
  const m = s.memory;
  return {
    timestamp: s.timestampNs,
    workingSetBytes: u64(m.workingSetBytes),
    availableBytes: u64(m.availableBytes),
    usageBytes: u64(m.usageBytes),
    rssBytes: u64(m.rssBytes),
    pageFaults: u64(m.pageFaults),
    majorPageFaults: u64(m.majorPageFaults),
    psi: psi(s.psi?.memory),
  };
}

export function toContainerStats(u: ContainerUsage, mountpoint: string): ContainerStats {
  const r = u.record;
  return {
    attributes: { id: r.id, metadata: { name: r.name, attempt: r.attempt }, labels: { ...r.labels }, annotations: { ...r.annotations } },
    cpu: cpu(u.cgroup, u.nanoCores),
    memory: memory(u.cgroup),
    writableLayer: u.layer
      ? { timestamp: u.layer.timestampNs, fsId: { mountpoint }, usedBytes: u64(u.layer.usedBytes), inodesUsed: u64(u.layer.inodesUsed) }
      : undefined,
    swap: u.cgroup?.memory.swapUsageBytes !== undefined
      ? { timestamp: u.cgroup.timestampNs, swapAvailableBytes: undefined, swapUsageBytes: u64(u.cgroup.memory.swapUsageBytes) }
      : undefined,
    io: io(u.cgroup),
  };
}

function iface(i: { name: string; rxBytes: bigint; rxErrors: bigint; txBytes: bigint; txErrors: bigint }): NetworkInterfaceUsage {
  return { name: i.name, rxBytes: u64(i.rxBytes), rxErrors: u64(i.rxErrors), txBytes: u64(i.txBytes), txErrors: u64(i.txErrors) };
}

export function toPodSandboxStats(u: PodUsage, mountpoint: string): PodSandboxStats {
  const r = u.record;
  const ifaces = u.network.map(iface);
  return {
    attributes: {
      id: r.id,
      metadata: { name: r.spec.name, uid: r.spec.uid, namespace: r.spec.namespace, attempt: r.spec.attempt },
      labels: { ...r.spec.labels },
      annotations: { ...r.spec.annotations },
    },
    linux: {
      cpu: cpu(u.cgroup, u.nanoCores),
      memory: memory(u.cgroup),
      network: ifaces.length
        ? { timestamp: u.networkAt, defaultInterface: ifaces.find((i) => i.name === 'eth0') ?? ifaces[0], interfaces: ifaces }
        : undefined,
      process: u.cgroup ? { timestamp: u.cgroup.timestampNs, processCount: u64(u.cgroup.pids.current) } : undefined,
      containers: u.containers.map((c) => toContainerStats(c, mountpoint)),
      io: io(u.cgroup),
    },
    windows: undefined,
  };
}
