// Resource usage for the CRI stats RPCs, from memory and the cgroup files: each cgroup is read
// once per request, the writable layer's usage comes from a background scan, and the cpu rate
// from the previous sample of the same cgroup.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CpuRateCache } from '../../cgroups/cpu-rate.js';
import { nowNs, type CgroupStats } from '../../cgroups/stats.js';
import { fsCapacity } from '../../storage/fs-capacity.js';
import { podMetrics, type LayerFs, type PodMetrics } from './pod-metrics.js';

export type { CgroupStats, Psi, PsiLine } from '../../cgroups/stats.js';
import type { CgroupDriver } from '../../cgroups/types.js';
import { podNetStats, type InterfaceStats } from '../../network/net-stats.js';
import type { LayerUsage, LayerUsageScanner } from '../../storage/layer-usage.js';
import { isKind } from '../errors.js';
import { abortError, type OpContext } from '../context.js';
import type { ContainerFilter, ContainerService } from '../container/container-service.js';
import type { ContainerRecord } from '../container/types.js';
import type { SandboxFilter, SandboxService } from '../sandbox/sandbox-service.js';
import type { SandboxRecord } from '../sandbox/types.js';

export interface ContainerUsage {
  readonly record: ContainerRecord;
  readonly cgroup?: CgroupStats;
  readonly nanoCores?: bigint;
  readonly layer?: LayerUsage;
}

export interface PodUsage {
  readonly record: SandboxRecord;
  readonly cgroup?: CgroupStats;
  readonly nanoCores?: bigint;
  readonly network: readonly InterfaceStats[];
  readonly networkAt: bigint;
  readonly containers: readonly ContainerUsage[];
}

export class StatsService {
  private readonly rates = new CpuRateCache();
  private readonly tracked = new Set<string>();

  constructor(
    private readonly cgroups: CgroupDriver,
    private readonly containers: ContainerService,
    private readonly sandboxes: SandboxService,
    private readonly layers: LayerUsageScanner,
    /** Where the writable layers live, reported as the container filesystem. */
    readonly writableMountpoint: string,
  ) {}

  /** A cgroup that is gone (the container was removed meanwhile) has no figures, not an error. */
  private read(path: string): { cgroup?: CgroupStats; nanoCores?: bigint } {
    const cgroup = this.readCgroup(path, false);
    if (!cgroup) return {};
    const nanoCores = this.rates.update(path, cgroup);
    return { cgroup, ...(nanoCores !== undefined ? { nanoCores } : {}) };
  }

  private readCgroup(path: string, detail: boolean | 'usage'): CgroupStats | undefined {
    try {
      return this.cgroups.stats(path, { detail });
    } catch (e) {
      if (isKind(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  private layer(r: ContainerRecord): LayerUsage | undefined {
    if (!this.tracked.has(r.id)) {
      this.layers.track(r.id, this.containers.writableLayer(r.id));
      this.tracked.add(r.id);
    }
    return this.layers.get(r.id);
  }

  private usage(r: ContainerRecord): ContainerUsage {
    const layer = this.layer(r);
    return { record: r, ...this.read(r.cgroupPath), ...(layer ? { layer } : {}) };
  }

  /** Forgets what belongs to containers that are gone (scans, cpu samples). */
  private prune(): void {
    const live = new Set<string>(this.containers.list().map((r) => r.id));
    for (const id of this.tracked) {
      if (!live.has(id)) {
        this.layers.untrack(id);
        this.tracked.delete(id);
      }
    }
    this.rates.retain([...this.containers.list().map((r) => r.cgroupPath), ...this.sandboxes.list().map((p) => p.cgroupPath)]);
  }

  /** Bytes and inodes of every writable layer, as last scanned (ImageFsInfo's container filesystem). */
  writableLayers(): { usedBytes: bigint; inodesUsed: bigint } {
    this.prune();
    let usedBytes = 0n;
    let inodesUsed = 0n;
    for (const r of this.containers.list()) {
      const u = this.layer(r);
      if (u) {
        usedBytes += u.usedBytes;
        inodesUsed += u.inodesUsed;
      }
    }
    return { usedBytes, inodesUsed };
  }

  container(id: string): ContainerUsage {
    return this.usage(this.containers.get(id));
  }

  listContainers(filter: ContainerFilter): ContainerUsage[] {
    this.prune();
    return this.containers.list(filter).map((r) => this.usage(r));
  }

  /** The pod netns's interfaces; none when the pod is not ready or its netns is gone. */
  private network(r: SandboxRecord): InterfaceStats[] {
    if (r.state !== 'ready' || (r.ns.initPid === undefined && !r.ns.net)) return [];
    try {
      return podNetStats({ ...(r.ns.initPid !== undefined ? { pid: r.ns.initPid } : {}), ...(r.ns.net ? { nsPath: r.ns.net } : {}) });
    } catch (e) {
      if (!isKind(e, 'NotFound')) throw e;
      return [];
    }
  }

  pod(id: string): PodUsage {
    const r = this.sandboxes.get(id);
    const network = this.network(r);
    return {
      record: r,
      ...this.read(r.cgroupPath),
      network,
      networkAt: BigInt(Date.now()) * 1_000_000n,
      containers: this.containers.list({ sandboxId: r.id }).map((c) => this.usage(c)),
    };
  }

  listPods(filter: SandboxFilter): PodUsage[] {
    this.prune();
    return this.sandboxes.list(filter).map((p) => this.pod(p.id));
  }

  /**
   * cAdvisor-style metrics of every ready pod and its running containers (pod-metrics.ts): each
   * cgroup read once with its detail, one netns read per pod, one statfs for all the layers.
   * The reads are synchronous (about 20 files per cgroup), so it yields to the event loop after
   * each pod: a scrape of a full node must not hold up the RPCs that arrive meanwhile.
   */
  async podMetrics(ctx: OpContext): Promise<PodMetrics[]> {
    this.prune();
    let layerFs: LayerFs | undefined;
    try {
      layerFs = { ...fsCapacity(this.writableMountpoint), timestampNs: nowNs() };
    } catch (e) {
      // Without the filesystem's size the fs metrics are left out, not the whole answer.
      if (!isKind(e, 'NotFound')) throw e;
    }
    const out: PodMetrics[] = [];
    const ids = this.sandboxes.list({ state: 'ready' }).map((r) => r.id);
    for (const [i, id] of ids.entries()) {
      if (i > 0) {
        await yieldToLoop();
        if (ctx.signal.aborted) throw abortError(ctx.signal, 'listing pod metrics');
      }
      // Stopped or removed while we yielded: left out, as it would have been a moment later.
      const p = this.sandboxes.find(id);
      if (p?.state !== 'ready') continue;
      // Pod level shows usage only: the container cgroups carry limits, io and processes.
      const cgroup = this.readCgroup(p.cgroupPath, 'usage');
      const network = this.network(p);
      const containers = this.containers.list({ sandboxId: p.id, state: 'running' }).map((c) => {
        const cg = this.readCgroup(c.cgroupPath, true);
        const layer = this.layer(c);
        return { id: c.id, name: c.name, image: c.image, startedAt: c.startedAt, ...(cg ? { cgroup: cg } : {}), ...(layer ? { layer } : {}) };
      });
      out.push(
        podMetrics({
          id: p.id,
          name: p.spec.name,
          namespace: p.spec.namespace,
          ...(cgroup ? { cgroup } : {}),
          network,
          networkAt: nowNs(),
          containers,
          ...(layerFs ? { layerFs } : {}),
          nowNs: nowNs(),
        }),
      );
    }
    return out;
  }
}
