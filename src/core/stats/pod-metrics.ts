// Turns one pod's usage figures into cAdvisor-style samples (metric-descriptors.ts). Pure: the
// figures come in already read (each cgroup once), so unit tests drive it with plain objects.
//
// Pod level (container=""): the pod cgroup's cpu, memory, processes and pressure, and the pod
// netns's interfaces (network is a pod property: the containers share the netns). Container
// level: the container cgroup's figures, its limits, block io, start time, writable layer.
import type { CgroupStats, IoDeviceStats, Psi } from '../../cgroups/stats.js';
import type { InterfaceStats } from '../../network/net-stats.js';
import type { LayerUsage } from '../../storage/layer-usage.js';
import { M, type MetricDef, type MetricKind } from './metric-descriptors.js';

export interface MetricSample {
  readonly name: string;
  readonly kind: MetricKind;
  readonly labelValues: readonly string[];
  readonly value: bigint;
  /** Unix nanoseconds when the figure was read. */
  readonly timestampNs: bigint;
}

/** The filesystem holding the writable layers (statfs), shared by every container. */
export interface LayerFs {
  readonly device: string;
  readonly capacityBytes: bigint;
  readonly inodesTotal: bigint;
  readonly inodesFree: bigint;
  readonly timestampNs: bigint;
}

export interface ContainerMetricsInput {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** Unix nanoseconds; 0n when not started. */
  readonly startedAt: bigint;
  readonly cgroup?: CgroupStats;
  readonly layer?: LayerUsage;
}

export interface PodMetricsInput {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly cgroup?: CgroupStats;
  readonly network: readonly InterfaceStats[];
  readonly networkAt: bigint;
  readonly containers: readonly ContainerMetricsInput[];
  readonly layerFs?: LayerFs;
  /** When the request was served: container_last_seen. */
  readonly nowNs: bigint;
}

export interface ContainerMetrics {
  readonly containerId: string;
  readonly metrics: MetricSample[];
}

export interface PodMetrics {
  readonly podSandboxId: string;
  readonly metrics: MetricSample[];
  readonly containerMetrics: ContainerMetrics[];
}

const NS_PER_S = 1_000_000_000n;
const US_PER_S = 1_000_000n;

/** Appends samples that share the base labels and one timestamp. */
class Samples {
  readonly out: MetricSample[] = [];
  constructor(private readonly base: readonly string[]) {}

  add(d: MetricDef, value: bigint | number | undefined, at: bigint, extra: readonly string[] = []): void {
    if (value === undefined) return;
    this.out.push({ name: d.name, kind: d.kind, labelValues: [...this.base, ...extra], value: BigInt(value), timestampNs: at });
  }
}

function cpuAndMemory(s: Samples, c: CgroupStats, leaf: boolean): void {
  const t = c.timestampNs;
  s.add(M.cpuUsage, c.cpu.usageCoreNanoSeconds / NS_PER_S, t, ['total']);
  s.add(M.memUsage, c.memory.usageBytes, t);
  s.add(M.memWorkingSet, c.memory.workingSetBytes, t);
  s.add(M.memRss, c.memory.rssBytes, t);
  s.add(M.memSwap, c.memory.swapUsageBytes, t);
  s.add(M.threads, c.pids.current, t);
  // The readers give the hierarchical fault counts; for a container (a leaf cgroup) they are
  // also its own, as cAdvisor reports both scopes.
  const scopes = leaf ? ['container', 'hierarchy'] : ['hierarchy'];
  for (const scope of scopes) {
    s.add(M.memFailures, c.memory.pageFaults, t, ['pgfault', scope]);
    s.add(M.memFailures, c.memory.majorPageFaults, t, ['pgmajfault', scope]);
  }
  const d = c.detail;
  if (d) {
    s.add(M.cpuUser, d.cpu.userNanoSeconds / NS_PER_S, t);
    s.add(M.cpuSystem, d.cpu.systemNanoSeconds / NS_PER_S, t);
    s.add(M.cfsPeriods, d.cpu.periods, t);
    s.add(M.cfsThrottledPeriods, d.cpu.throttledPeriods, t);
    s.add(M.cfsThrottledSeconds, d.cpu.throttledNanoSeconds / NS_PER_S, t);
    s.add(M.memCache, d.memory.cacheBytes, t);
    s.add(M.memMappedFile, d.memory.mappedFileBytes, t);
    s.add(M.memKernel, d.memory.kernelBytes, t);
    s.add(M.memMaxUsage, d.memory.maxUsageBytes, t);
    s.add(M.memActiveFile, d.memory.activeFileBytes, t);
    s.add(M.memInactiveFile, d.memory.inactiveFileBytes, t);
    s.add(M.memFailcnt, d.memory.failcnt, t);
    s.add(M.oomEvents, d.memory.oomKills, t);
    // cgroup.procs lists only a cgroup's own processes, and pod cgroups are read without them
    // and without pids.max (detail 'usage'): container figures only.
    if (leaf) {
      s.add(M.processes, d.processes, t);
      s.add(M.threadsMax, d.pidsLimit ?? 0n, t);
    }
  }
  pressure(s, c);
}

function pressure(s: Samples, c: CgroupStats): void {
  const t = c.timestampNs;
  const both = (p: Psi | undefined, stalled: MetricDef, waiting: MetricDef) => {
    if (!p) return;
    s.add(waiting, p.some.totalUs / US_PER_S, t);
    s.add(stalled, (p.full?.totalUs ?? 0n) / US_PER_S, t);
  };
  both(c.psi?.cpu, M.cpuStalled, M.cpuWaiting);
  both(c.psi?.memory, M.memoryStalled, M.memoryWaiting);
  both(c.psi?.io, M.ioStalled, M.ioWaiting);
}

function network(s: Samples, ifaces: readonly InterfaceStats[], t: bigint): void {
  for (const i of ifaces) {
    const l = [i.name];
    s.add(M.netRxBytes, i.rxBytes, t, l);
    s.add(M.netRxPackets, i.rxPackets, t, l);
    s.add(M.netRxDropped, i.rxDropped, t, l);
    s.add(M.netRxErrors, i.rxErrors, t, l);
    s.add(M.netTxBytes, i.txBytes, t, l);
    s.add(M.netTxPackets, i.txPackets, t, l);
    s.add(M.netTxDropped, i.txDropped, t, l);
    s.add(M.netTxErrors, i.txErrors, t, l);
  }
}

function blockIo(s: Samples, io: readonly IoDeviceStats[], t: bigint): void {
  for (const d of io) {
    const dev = `${d.major}:${d.minor}`;
    s.add(M.fsReadsBytes, d.readBytes, t, [dev]);
    s.add(M.fsWritesBytes, d.writeBytes, t, [dev]);
    s.add(M.fsReads, d.reads, t, [dev]);
    s.add(M.fsWrites, d.writes, t, [dev]);
    s.add(M.blkioDeviceUsage, d.readBytes, t, [dev, String(d.major), String(d.minor), 'Read']);
    s.add(M.blkioDeviceUsage, d.writeBytes, t, [dev, String(d.major), String(d.minor), 'Write']);
  }
}

function spec(s: Samples, c: CgroupStats): void {
  const d = c.detail;
  const t = c.timestampNs;
  s.add(M.specMemLimit, c.memory.limitBytes ?? 0n, t);
  if (!d) return;
  s.add(M.specCpuShares, d.spec.cpuShares, t);
  s.add(M.specCpuQuota, d.spec.cpuQuotaUs, t);
  s.add(M.specCpuPeriod, d.spec.cpuPeriodUs, t);
  s.add(M.specMemReservation, d.spec.memoryReservationBytes ?? 0n, t);
  s.add(M.specMemSwapLimit, d.spec.memorySwapLimitBytes ?? 0n, t);
}

function container(pod: PodMetricsInput, c: ContainerMetricsInput): ContainerMetrics {
  const s = new Samples([pod.name, pod.namespace, c.name, c.id, c.image]);
  s.add(M.lastSeen, pod.nowNs / NS_PER_S, pod.nowNs);
  if (c.startedAt > 0n) s.add(M.startTime, c.startedAt / NS_PER_S, pod.nowNs);
  if (c.cgroup) {
    cpuAndMemory(s, c.cgroup, true);
    spec(s, c.cgroup);
    if (c.cgroup.detail) blockIo(s, c.cgroup.detail.io, c.cgroup.timestampNs);
  }
  const fs = pod.layerFs;
  if (c.layer && fs) {
    s.add(M.fsUsage, c.layer.usedBytes, c.layer.timestampNs, [fs.device]);
    s.add(M.fsLimit, fs.capacityBytes, fs.timestampNs, [fs.device]);
    s.add(M.fsInodesTotal, fs.inodesTotal, fs.timestampNs, [fs.device]);
    s.add(M.fsInodesFree, fs.inodesFree, fs.timestampNs, [fs.device]);
  }
  return { containerId: c.id, metrics: s.out };
}

export function podMetrics(p: PodMetricsInput): PodMetrics {
  const s = new Samples([p.name, p.namespace, '', p.id, '']);
  if (p.cgroup) cpuAndMemory(s, p.cgroup, false);
  network(s, p.network, p.networkAt);
  return { podSandboxId: p.id, metrics: s.out, containerMetrics: p.containers.map((c) => container(p, c)) };
}
