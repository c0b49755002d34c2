// The one cgroup interface the rest of Skiff sees. v1 and v2 differ in layout (one hierarchy per
// controller vs one tree) and in file names and units; callers speak in cgroup paths relative to a
// hierarchy root ("/kubepods/burstable/pod<uid>") and in CRI's resource units, never in files.
import type { OpContext } from '../core/context.js';
import type { DeviceRule } from './devices.js';
import type { CgroupStats, StatsOptions } from './stats.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

/**
 * The subset of CRI `LinuxContainerResources` a pod's overhead + resources map to.
 * 0 or undefined leaves a value as it is; -1 means "unlimited" where CRI allows it (cpuQuota,
 * memoryLimitBytes, memorySwapLimitBytes, pidsLimit). `hugepageLimits` entries are explicit: a
 * limit of 0 is written (kubelet sends 0 for every page size a pod did not ask for).
 */
export interface PodResources {
  /** v1 cpu.shares (2..262144); on v2 converted to cpu.weight the way runc and crun do. */
  cpuShares?: number;
  /** Microseconds per period; -1 = no quota. */
  cpuQuota?: number;
  /** Microseconds. */
  cpuPeriod?: number;
  /** Kernel list format: "0-3,6". */
  cpusetCpus?: string;
  cpusetMems?: string;
  memoryLimitBytes?: number;
  /** Memory + swap, as v1's memory.memsw.limit_in_bytes; v2 writes the difference to memory.swap.max. */
  memorySwapLimitBytes?: number;
  pidsLimit?: number;
  /** pageSize as the kernel names it: "2MB", "1GB". */
  hugepageLimits?: { pageSize: string; limit: number }[];
  /** v2 only: file name → value, written verbatim after everything else. InvalidArgument on v1. */
  unified?: Record<string, string>;
}

export interface KillOptions {
  /** How long to wait for the cgroup to empty; the context's deadline wins when it is sooner. */
  timeoutMs?: number;
}

export interface RemoveOptions {
  /** Also removes descendant cgroups (deepest first), e.g. container cgroups left under a pod. */
  recursive?: boolean;
}

export interface PidsOptions {
  /** Include the processes of descendant cgroups. */
  recursive?: boolean;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** The mount point the driver works under: /sys/fs/cgroup, or a temp dir in tests. */
  readonly root: string;

  /** The pod's cgroup path for a CRI cgroup_parent (see cgroup-path.ts for the rules). */
  podCgroupPath(parent: string, sandboxId: string): string;

  /**
   * The absolute directories of one cgroup, one per hierarchy (v1: one per mounted controller
   * hierarchy; v2: one). What a helper writes a pid into to join the cgroup.
   */
  dirs(path: string): string[];

  /** Creates the cgroup (and missing ancestors) and applies `resources`; undoes its own mkdirs on failure. */
  ensure(ctx: OpContext, path: string, resources?: PodResources): Promise<void>;

  /**
   * Limits the device nodes the cgroup's processes may create and open to what `rules` allow
   * (OCI linux.resources.devices, in order; devices.ts). v1: devices.deny/devices.allow; v2: an
   * eBPF program attached to the cgroup. Once, at creation: an update never changes it. Returns
   * false when the machine offers no device cgroup (v1 without a devices hierarchy).
   */
  setDevices(ctx: OpContext, path: string, rules: readonly DeviceRule[]): boolean;

  /** Writes the resource files of an existing cgroup. */
  apply(ctx: OpContext, path: string, resources: PodResources): Promise<void>;

  /**
   * Removes the cgroup's directory (never its ancestors). Succeeds when it does not exist; retries
   * briefly while it is busy, then fails with FailedPrecondition. Kills nothing.
   */
  remove(ctx: OpContext, path: string, opts?: RemoveOptions): Promise<void>;

  /** The pids in cgroup.procs (v1: union over hierarchies); [] when the cgroup does not exist. */
  pids(path: string, opts?: PidsOptions): Promise<number[]>;

  /**
   * Signals every process in the cgroup and its descendants until it is empty. DeadlineExceeded
   * when processes remain at the timeout. Succeeds at once when the cgroup does not exist.
   */
  killAll(ctx: OpContext, path: string, signal?: NodeJS.Signals, opts?: KillOptions): Promise<void>;

  /**
   * CPU, memory and pids usage of the cgroup (stats.ts), each control file read once.
   * Synchronous like every cgroupfs access here. NotFound when the cgroup does not exist.
   * `detail` adds the metrics figures (stats-detail.ts); v2 always adds pressure (PSI).
   */
  stats(path: string, opts?: StatsOptions): CgroupStats;
}
