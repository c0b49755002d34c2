// CRI LinuxContainerResources → the spec's linux.resources (containerd's WithResources): a 0 or
// missing value stays unset; a memory limit without a swap limit sets swap = limit so the
// container does not swap (only where the host accounts swap).
import { invalidArgument } from '../core/errors.js';
import type { OciResources, ResourcesInput } from './types.js';

function int(n: number | undefined, what: string): number | undefined {
  if (n === undefined || n === 0) return undefined;
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${what} ${n} is not an integer`);
  return n;
}

function positive(n: number | undefined, what: string): number | undefined {
  const v = int(n, what);
  if (v !== undefined && v < 0) throw invalidArgument(`${what} ${n} is negative`);
  return v;
}

/** The cgroup resources of the spec ({} when nothing is set); spec.ts adds the device rules. */
export function buildResources(r: ResourcesInput | undefined): OciResources {
  const out: OciResources = {};
  if (!r) return out;
  const cpu: NonNullable<OciResources['cpu']> = {};
  const shares = positive(r.cpuShares, 'cpu_shares');
  const quota = int(r.cpuQuota, 'cpu_quota');
  const period = positive(r.cpuPeriod, 'cpu_period');
  if (shares !== undefined) cpu.shares = shares;
  if (quota !== undefined) {
    if (quota < -1) throw invalidArgument(`cpu_quota ${quota} is below -1`);
    cpu.quota = quota;
  }
  if (period !== undefined) cpu.period = period;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const limit = int(r.memoryLimitBytes, 'memory_limit_in_bytes');
  const swap = int(r.memorySwapLimitBytes, 'memory_swap_limit_in_bytes');
  if (limit !== undefined && limit < -1) throw invalidArgument(`memory_limit_in_bytes ${limit} is below -1`);
  if (swap !== undefined && swap < -1) throw invalidArgument(`memory_swap_limit_in_bytes ${swap} is below -1`);
  const memory: NonNullable<OciResources['memory']> = {};
  if (limit !== undefined) {
    memory.limit = limit;
    if (swap === undefined && r.swapAccounting) memory.swap = limit;
  }
  if (swap !== undefined && r.swapAccounting) memory.swap = swap;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const pids = int(r.pidsLimit, 'pids_limit');
  if (pids !== undefined) out.pids = { limit: pids };

  if (r.hugepageLimits && r.hugepageLimits.length > 0) {
    out.hugepageLimits = r.hugepageLimits.map((h) => {
      if (!/^[0-9]+[KMGT]B$/.test(h.pageSize)) throw invalidArgument(`hugepage size ${JSON.stringify(h.pageSize)} is not like "2MB"`);
      if (!Number.isSafeInteger(h.limit) || h.limit < 0) throw invalidArgument(`hugepage limit ${h.limit} is not a byte count`);
      return { pageSize: h.pageSize, limit: h.limit };
    });
  }
  if (r.unified && Object.keys(r.unified).length > 0) {
    for (const k of Object.keys(r.unified)) {
      if (k === '' || k.includes('/') || k.startsWith('.')) throw invalidArgument(`unified cgroup key ${JSON.stringify(k)} is not a file name`);
    }
    out.unified = { ...r.unified };
  }
  return out;
}

/** process.oomScoreAdj, when CRI gave one (-1000..1000). */
export function oomScoreAdj(r: ResourcesInput | undefined): number | undefined {
  const v = r?.oomScoreAdj;
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < -1000 || v > 1000) throw invalidArgument(`oom_score_adj ${v} is outside -1000..1000`);
  return v;
}
