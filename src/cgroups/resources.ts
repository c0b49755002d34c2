// Resource values: checked once before anything is created, and converted to what each cgroup
// version's files take. Pure functions, so the unit conversions have tables of tests.
import { invalidArgument } from '../core/errors.js';
import type { PodResources } from './types.js';

export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262144;

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const PAGE_SIZE = /^[1-9]\d*(KB|MB|GB|TB)$/;
/** "<controller>.<file>": a file directly in the cgroup's directory. */
const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/;
/** Writing these moves or kills processes, or changes what children get: not a resource. */
const UNIFIED_FORBIDDEN = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.kill', 'cgroup.subtree_control']);

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v === undefined) return;
  if (!Number.isSafeInteger(v) || v < min) throw invalidArgument(`${name} ${v} is not an integer >= ${min}`);
}

/** InvalidArgument for anything the kernel would reject for its form rather than its value. */
export function checkResources(r: PodResources, version: 1 | 2): void {
  checkInt('cpu shares', r.cpuShares, 0);
  checkInt('cpu quota', r.cpuQuota, -1);
  checkInt('cpu period', r.cpuPeriod, 0);
  checkInt('memory limit', r.memoryLimitBytes, -1);
  checkInt('memory+swap limit', r.memorySwapLimitBytes, -1);
  checkInt('pids limit', r.pidsLimit, -1);
  for (const [name, v] of [
    ['cpuset cpus', r.cpusetCpus],
    ['cpuset mems', r.cpusetMems],
  ] as const) {
    if (v !== undefined && v !== '' && !CPU_LIST.test(v)) {
      throw invalidArgument(`${name} ${JSON.stringify(v)} is not a cpu list`);
    }
  }
  const mem = r.memoryLimitBytes ?? 0;
  const memsw = r.memorySwapLimitBytes ?? 0;
  if (mem > 0 && memsw > 0 && memsw < mem) {
    throw invalidArgument(`memory+swap limit ${memsw} is below the memory limit ${mem}`);
  }
  if (mem === -1 && memsw > 0) throw invalidArgument(`memory+swap limit ${memsw} with an unlimited memory limit`);
  for (const h of r.hugepageLimits ?? []) {
    if (!PAGE_SIZE.test(h.pageSize)) {
      throw invalidArgument(`hugepage size ${JSON.stringify(h.pageSize)} is not like "2MB"`);
    }
    checkInt(`hugepage ${h.pageSize} limit`, h.limit, -1);
  }
  const unified = Object.entries(r.unified ?? {});
  if (unified.length > 0 && version === 1) {
    throw invalidArgument('unified cgroup resources need cgroup v2; this node runs cgroup v1');
  }
  for (const [key, value] of unified) {
    if (!UNIFIED_KEY.test(key) || key.includes('..') || UNIFIED_FORBIDDEN.has(key)) {
      throw invalidArgument(`unified cgroup key ${JSON.stringify(key)} is not a resource file name`);
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw invalidArgument(`unified cgroup value for ${key} is not a string`);
    }
  }
  if (version === 2) swapMaxV2(r.memorySwapLimitBytes, r.memoryLimitBytes);
}

/** Anything at all to write? Lets ensure() skip apply's reads when only creating. */
export function hasResources(r: PodResources | undefined): r is PodResources {
  if (!r) return false;
  return (
    !!r.cpuShares ||
    !!r.cpuQuota ||
    !!r.cpuPeriod ||
    !!r.cpusetCpus ||
    !!r.cpusetMems ||
    !!r.memoryLimitBytes ||
    !!r.memorySwapLimitBytes ||
    !!r.pidsLimit ||
    (r.hugepageLimits?.length ?? 0) > 0 ||
    Object.keys(r.unified ?? {}).length > 0
  );
}

/**
 * cpu.shares → cpu.weight, runc's and crun's linear map of [2, 262144] onto [1, 10000]:
 * weight = 1 + ((shares - 2) * 9999) / 262142, integer division. 0 stays 0 (unset); values out
 * of range are clamped first, as the v1 kernel clamps shares.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  const s = Math.min(Math.max(shares, MIN_CPU_SHARES), MAX_CPU_SHARES);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/**
 * The cpu.max line, "quota period" or "max period"; undefined when neither is set. With only a
 * period, the current quota is kept (`currentQuota`, the first token of cpu.max): v1 leaves
 * cfs_quota_us alone in that case and v2 should behave the same.
 */
export function cpuMaxV2(
  quota: number | undefined,
  period: number | undefined,
  currentQuota = 'max',
): string | undefined {
  if (!quota && !period) return undefined;
  const q = quota === -1 ? 'max' : quota ? String(quota) : currentQuota;
  return period ? `${q} ${period}` : q;
}

/**
 * v2's memory.swap.max from CRI's memory+swap total (runc's ConvertMemorySwapToCgroupV2Value):
 * undefined = leave it; "max" when swap is unlimited, or when memory is unlimited and swap is
 * not given; otherwise memsw - mem, which needs a memory limit.
 */
export function swapMaxV2(memsw: number | undefined, mem: number | undefined): string | undefined {
  if (mem === -1 && !memsw) return 'max';
  if (!memsw) return undefined;
  if (memsw === -1) return 'max';
  if (!mem || mem === -1) throw invalidArgument('a memory+swap limit needs a memory limit on cgroup v2');
  if (memsw < mem) throw invalidArgument(`memory+swap limit ${memsw} is below the memory limit ${mem}`);
  return String(memsw - mem);
}

/** A limit where -1 means none: v1 files take "-1", v2 files "max". */
export function limitText(n: number, version: 1 | 2): string {
  return n === -1 ? (version === 1 ? '-1' : 'max') : String(n);
}
