// The numbers CRI stats need, read from a cgroup's files. Pure readers over directories, so the
// drivers pass in real hierarchies and tests pass in fake trees. Each file is read once per call
// (synchronously, like the rest of cgroup-fs: a cgroupfs read is an in-kernel copy of a few µs).
//
// The derived figures follow cadvisor and containerd, because kubelet's eviction thresholds and
// `kubectl top` were tuned against them:
//   working set = usage − inactive file pages, floored at 0;
//   available   = limit − working set, only when a limit is set (v1: not the huge "unlimited" value);
//   v1 swap     = memsw usage − memory usage (memsw counts memory + swap).
import { notFound } from '../core/errors.js';
import { parseCounter, parseFlatKeyed, readStatFile } from './stat-file.js';
import { parsePressure, readV1Detail, readV2Detail, V1_UNLIMITED_ABOVE, type CgroupDetail, type CgroupPsi, type V1DetailDirs } from './stats-detail.js';

export { parseCounter, parseFlatKeyed, readStatFile } from './stat-file.js';
export type { CgroupDetail, CgroupPsi, IoDeviceStats, Psi, PsiLine } from './stats-detail.js';

export interface CgroupStats {
  /** When the files were read: Unix nanoseconds (wall clock, nanosecond resolution, monotonic). */
  timestampNs: bigint;
  cpu: { usageCoreNanoSeconds: bigint };
  memory: {
    usageBytes: bigint;
    workingSetBytes: bigint;
    /** v1 total_rss, v2 anon. */
    rssBytes: bigint;
    pageFaults: bigint;
    majorPageFaults: bigint;
    /** limit − working set (0 when over); absent without a limit. */
    availableBytes?: bigint;
    limitBytes?: bigint;
    /** Absent without swap accounting (no memsw / memory.swap.current file). */
    swapUsageBytes?: bigint;
  };
  pids: { current: number };
  /** Pressure stall information: cgroup v2 only (v1 has no per-cgroup PSI); absent with PSI off. */
  psi?: CgroupPsi;
  /** The figures for metrics (stats-detail.ts), only when asked for. */
  detail?: CgroupDetail;
}

export interface StatsOptions {
  /**
   * Also read the metrics figures (about 17 more files per cgroup on v1, 9 on v2); 'usage' only
   * the cpu and memory ones, for a pod cgroup whose limits, block io and processes no metric shows.
   */
  detail?: boolean | 'usage';
}

/**
 * The directories one v1 cgroup has in the hierarchies stats read; an absent one reads as zeros.
 * cpu and blkio are only read for the detail.
 */
export type V1StatsDirs = V1DetailDirs;

/** Clock for the sample time; tests pass a fixed one. */
export type NowNs = () => bigint;

// Wall clock at nanosecond resolution: Date.now() has milliseconds, too coarse for a rate over a
// short interval; hrtime has no epoch. Anchor hrtime to the wall clock once.
const ANCHOR_WALL_NS = BigInt(Date.now()) * 1_000_000n;
const ANCHOR_HR_NS = process.hrtime.bigint();

/** Unix nanoseconds that never go backwards within the process. */
export function nowNs(): bigint {
  return ANCHOR_WALL_NS + (process.hrtime.bigint() - ANCHOR_HR_NS);
}

// v1 writes PAGE_COUNTER_MAX rounded to the page size (9223372036854771712) for "no limit";
// containerd and cadvisor treat anything above 2^62 as unlimited (V1_UNLIMITED_ABOVE).

/** The memory figures every layout shares once its raw values are known. */
function memoryFigures(
  usage: bigint,
  inactiveFile: bigint,
  limit: bigint | undefined,
): { workingSetBytes: bigint; availableBytes?: bigint } {
  const workingSetBytes = usage > inactiveFile ? usage - inactiveFile : 0n;
  if (limit === undefined) return { workingSetBytes };
  return { workingSetBytes, availableBytes: limit > workingSetBytes ? limit - workingSetBytes : 0n };
}

/**
 * Stats of a v1 cgroup from its directories in the cpuacct, memory and pids hierarchies.
 * NotFound when none of them exists (the cgroup is gone).
 */
export function readV1Stats(dirs: V1StatsDirs, path: string, now: NowNs = nowNs, opts: StatsOptions = {}): CgroupStats {
  const timestampNs = now();
  const cpuUsage = dirs.cpuacct === undefined ? undefined : readStatFile(dirs.cpuacct, 'cpuacct.usage');
  const mem = dirs.memory;
  const memUsageText = mem === undefined ? undefined : readStatFile(mem, 'memory.usage_in_bytes');
  const pidsText = dirs.pids === undefined ? undefined : readStatFile(dirs.pids, 'pids.current');
  if (cpuUsage === undefined && memUsageText === undefined && pidsText === undefined) {
    throw notFound(`cgroup ${path} does not exist`);
  }
  const stat = parseFlatKeyed(mem === undefined ? undefined : readStatFile(mem, 'memory.stat'));
  const rawLimit = parseCounter(mem === undefined ? undefined : readStatFile(mem, 'memory.limit_in_bytes'));
  const limit = rawLimit === undefined || rawLimit > V1_UNLIMITED_ABOVE ? undefined : rawLimit;
  const memsw = parseCounter(mem === undefined ? undefined : readStatFile(mem, 'memory.memsw.usage_in_bytes'));
  const usage = parseCounter(memUsageText) ?? 0n;
  const memory: CgroupStats['memory'] = {
    usageBytes: usage,
    ...memoryFigures(usage, stat.get('total_inactive_file') ?? 0n, limit),
    rssBytes: stat.get('total_rss') ?? 0n,
    pageFaults: stat.get('total_pgfault') ?? 0n,
    majorPageFaults: stat.get('total_pgmajfault') ?? 0n,
  };
  if (limit !== undefined) memory.limitBytes = limit;
  if (memsw !== undefined) memory.swapUsageBytes = memsw > usage ? memsw - usage : 0n;
  return {
    timestampNs,
    cpu: { usageCoreNanoSeconds: parseCounter(cpuUsage) ?? 0n },
    memory,
    pids: { current: Number(parseCounter(pidsText) ?? 0n) },
    ...(opts.detail ? { detail: readV1Detail(dirs, stat, limit, opts.detail === true) } : {}),
  };
}

/**
 * Stats of a v2 cgroup from its one directory. A controller that is not enabled there has no
 * files and reads as zeros (the root cgroup has no memory.current either). NotFound when the
 * cgroup is gone.
 */
export function readV2Stats(dir: string, path: string, now: NowNs = nowNs, opts: StatsOptions = {}): CgroupStats {
  const timestampNs = now();
  const cpuStatText = readStatFile(dir, 'cpu.stat');
  const currentText = readStatFile(dir, 'memory.current');
  const pidsText = readStatFile(dir, 'pids.current');
  // cpu.stat is always there (the kernel adds it to every cgroup, even without the cpu controller).
  if (cpuStatText === undefined && currentText === undefined && pidsText === undefined) {
    throw notFound(`cgroup ${path} does not exist`);
  }
  const cpuStat = parseFlatKeyed(cpuStatText);
  const stat = parseFlatKeyed(readStatFile(dir, 'memory.stat'));
  const limit = parseCounter(readStatFile(dir, 'memory.max'));
  const swap = parseCounter(readStatFile(dir, 'memory.swap.current'));
  const usage = parseCounter(currentText) ?? 0n;
  const memory: CgroupStats['memory'] = {
    usageBytes: usage,
    ...memoryFigures(usage, stat.get('inactive_file') ?? 0n, limit),
    rssBytes: stat.get('anon') ?? 0n,
    pageFaults: stat.get('pgfault') ?? 0n,
    majorPageFaults: stat.get('pgmajfault') ?? 0n,
  };
  if (limit !== undefined) memory.limitBytes = limit;
  if (swap !== undefined) memory.swapUsageBytes = swap;
  const psi = readPsi(dir);
  return {
    timestampNs,
    cpu: { usageCoreNanoSeconds: (cpuStat.get('usage_usec') ?? 0n) * 1000n },
    memory,
    pids: { current: Number(parseCounter(pidsText) ?? 0n) },
    ...(psi ? { psi } : {}),
    ...(opts.detail ? { detail: readV2Detail(dir, cpuStat, stat, limit, opts.detail === true) } : {}),
  };
}

/** cpu, memory and io pressure of a v2 cgroup; undefined when the kernel has PSI off (no files). */
function readPsi(dir: string): CgroupPsi | undefined {
  const cpu = parsePressure(readStatFile(dir, 'cpu.pressure'));
  const memory = parsePressure(readStatFile(dir, 'memory.pressure'));
  const io = parsePressure(readStatFile(dir, 'io.pressure'));
  if (!cpu && !memory && !io) return undefined;
  return { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}), ...(io ? { io } : {}) };
}
