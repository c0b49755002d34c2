// The figures beyond what CRI stats carry, for the cAdvisor-style metrics kubelet takes from
// ListPodSandboxMetrics: cpu user/system and CFS throttling, page cache, failcnt, peak, OOM kills,
// block io per device, processes, and the limits actually in force (read back from the cgroup, so
// an UpdateContainerResources shows at once, as cAdvisor reads them). Pure readers over
// directories like stats.ts; only called when a caller asks for the detail, so the CRI stats
// path keeps its six reads per cgroup.
import { parseCounter, parseFlatKeyed, readStatFile } from './stat-file.js';

/** One line of a *.pressure file: stall share averages (percent) and the total stall time. */
export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Microseconds. */
  totalUs: bigint;
}

/** A cgroup v2 *.pressure file. cpu.pressure has a "full" line since Linux 5.13. */
export interface Psi {
  some: PsiLine;
  full?: PsiLine;
}

export interface CgroupPsi {
  cpu?: Psi;
  memory?: Psi;
  io?: Psi;
}

export interface IoDeviceStats {
  major: number;
  minor: number;
  readBytes: bigint;
  writeBytes: bigint;
  reads: bigint;
  writes: bigint;
}

export interface CgroupDetail {
  cpu: {
    userNanoSeconds: bigint;
    systemNanoSeconds: bigint;
    /** CFS enforcement periods elapsed, and those in which the cgroup was throttled. */
    periods: bigint;
    throttledPeriods: bigint;
    throttledNanoSeconds: bigint;
  };
  memory: {
    /** Page cache: v1 total_cache, v2 file. */
    cacheBytes: bigint;
    mappedFileBytes: bigint;
    activeFileBytes: bigint;
    inactiveFileBytes: bigint;
    /** v2 memory.stat kernel; absent on v1 (kmem accounting is deprecated there, and a file). */
    kernelBytes?: bigint;
    /** v1 max_usage_in_bytes, v2 memory.peak (5.19+); absent when the kernel has neither. */
    maxUsageBytes?: bigint;
    /** Times usage hit the limit: v1 memory.failcnt, v2 the "max" count in memory.events. */
    failcnt: bigint;
    /** OOM kills in this cgroup: v1 memory.oom_control oom_kill (4.13+), v2 memory.events. */
    oomKills: bigint;
  };
  /** Processes (thread group leaders) in cgroup.procs; pids.current counts threads. */
  processes: number;
  /** pids.max; absent when "max". */
  pidsLimit?: bigint;
  io: IoDeviceStats[];
  /** The limits in force, in v1 units whatever the version (cAdvisor's container_spec_*). */
  spec: {
    cpuShares?: bigint;
    /** Microseconds per period; absent without a quota. */
    cpuQuotaUs?: bigint;
    cpuPeriodUs?: bigint;
    /** Soft limit (v1 memory.soft_limit_in_bytes, v2 memory.low); absent when unlimited. */
    memoryReservationBytes?: bigint;
    /** Memory + swap, as v1's memsw (v2: memory.max + memory.swap.max); absent when unlimited. */
    memorySwapLimitBytes?: bigint;
  };
}

/** Above this a v1 memory value is the kernel's "unlimited" (PAGE_COUNTER_MAX rounded to a page). */
export const V1_UNLIMITED_ABOVE = 1n << 62n;

const limited = (v: bigint | undefined): bigint | undefined => (v === undefined || v > V1_UNLIMITED_ABOVE ? undefined : v);

/**
 * "some avg10=0.12 avg60=0.05 avg300=0.01 total=12345" lines → Psi; undefined when the file is
 * absent (v1, PSI off) or has no "some" line.
 */
export function parsePressure(text: string | undefined): Psi | undefined {
  if (text === undefined) return undefined;
  let some: PsiLine | undefined;
  let full: PsiLine | undefined;
  for (const line of text.split('\n')) {
    const [kind, ...fields] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const kv = new Map(fields.map((f) => f.split('=') as [string, string]));
    const avg = (k: string) => {
      const n = Number(kv.get(k));
      return Number.isFinite(n) ? n : 0;
    };
    const total = kv.get('total');
    const parsed: PsiLine = {
      avg10: avg('avg10'),
      avg60: avg('avg60'),
      avg300: avg('avg300'),
      totalUs: total !== undefined && /^\d+$/.test(total) ? BigInt(total) : 0n,
    };
    if (kind === 'some') some = parsed;
    else full = parsed;
  }
  if (some === undefined) return undefined;
  return full === undefined ? { some } : { some, full };
}

function device(stats: Map<string, IoDeviceStats>, key: string): IoDeviceStats | undefined {
  const m = /^(\d+):(\d+)$/.exec(key);
  if (!m) return undefined;
  let d = stats.get(key);
  if (!d) {
    d = { major: Number(m[1]), minor: Number(m[2]), readBytes: 0n, writeBytes: 0n, reads: 0n, writes: 0n };
    stats.set(key, d);
  }
  return d;
}

/** v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
export function parseIoStat(text: string | undefined): IoDeviceStats[] {
  const out = new Map<string, IoDeviceStats>();
  for (const line of (text ?? '').split('\n')) {
    const [key, ...fields] = line.trim().split(/\s+/);
    const d = key ? device(out, key) : undefined;
    if (!d) continue;
    for (const f of fields) {
      const [k, v] = f.split('=');
      if (v === undefined || !/^\d+$/.test(v)) continue;
      const n = BigInt(v);
      if (k === 'rbytes') d.readBytes = n;
      else if (k === 'wbytes') d.writeBytes = n;
      else if (k === 'rios') d.reads = n;
      else if (k === 'wios') d.writes = n;
    }
  }
  return [...out.values()];
}

/**
 * v1 blkio *io_service_bytes and *io_serviced: "8:0 Read 4096" lines per device and operation,
 * and a last "Total" line.
 */
export function parseBlkio(bytesText: string | undefined, opsText: string | undefined): IoDeviceStats[] {
  const out = new Map<string, IoDeviceStats>();
  const scan = (text: string | undefined, bytes: boolean) => {
    for (const line of (text ?? '').split('\n')) {
      const [key, op, v] = line.trim().split(/\s+/);
      if (key === undefined || v === undefined || !/^\d+$/.test(v) || (op !== 'Read' && op !== 'Write')) continue;
      const d = device(out, key);
      if (!d) continue;
      const n = BigInt(v);
      if (bytes) {
        if (op === 'Read') d.readBytes = n;
        else d.writeBytes = n;
      } else if (op === 'Read') d.reads = n;
      else d.writes = n;
    }
  };
  scan(bytesText, true);
  scan(opsText, false);
  return [...out.values()];
}

/** Lines in cgroup.procs (one pid each). */
export function countLines(text: string | undefined): number {
  if (!text) return 0;
  let n = 0;
  for (const line of text.split('\n')) if (line.trim() !== '') n++;
  return n;
}

/** v2 cpu.weight (1..10000) back to v1 shares, inverting runc's shares → weight mapping. */
export function weightToShares(weight: bigint): bigint {
  if (weight <= 0n) return 0n;
  return 2n + ((weight - 1n) * 262142n) / 9999n;
}

/** v2 cpu.max "quota period" or "max period". */
export function parseCpuMax(text: string | undefined): { quotaUs?: bigint; periodUs?: bigint } {
  const [q, p] = (text ?? '').trim().split(/\s+/);
  return {
    ...(q !== undefined && /^\d+$/.test(q) ? { quotaUs: BigInt(q) } : {}),
    ...(p !== undefined && /^\d+$/.test(p) ? { periodUs: BigInt(p) } : {}),
  };
}

/** cpuacct.stat counts USER_HZ ticks, 100 per second in every Linux ABI. */
const NS_PER_USER_HZ_TICK = 10_000_000n;

/** Directories a v1 cgroup's detail reads, besides those of V1StatsDirs. */
export interface V1DetailDirs {
  cpu?: string;
  cpuacct?: string;
  memory?: string;
  pids?: string;
  blkio?: string;
}

const opt = <K extends string>(k: K, v: bigint | undefined): { [P in K]?: bigint } =>
  (v === undefined ? {} : { [k]: v }) as { [P in K]?: bigint };

/**
 * v1 block io, in runc's order: the bfq scheduler's files when they name a device (disks under
 * bfq), else the throttle files. Since Linux 6.x the throttle files only count bios on devices
 * with a throttle rule in that cgroup, and mq-deadline and none keep no per-cgroup counts, so
 * without bfq or a rule v1 reports no io: a kernel limit, as for cAdvisor and runc.
 */
function readBlkio(dir: string | undefined): IoDeviceStats[] {
  if (dir === undefined) return [];
  const bfqBytes = readStatFile(dir, 'blkio.bfq.io_service_bytes');
  if (parseBlkio(bfqBytes, undefined).length > 0) return parseBlkio(bfqBytes, readStatFile(dir, 'blkio.bfq.io_serviced'));
  return parseBlkio(readStatFile(dir, 'blkio.throttle.io_service_bytes'), readStatFile(dir, 'blkio.throttle.io_serviced'));
}

/** Without `full`: no processes, io or limits (left empty), for cgroups no metric shows them of. */
const usageOnly = (): Pick<CgroupDetail, 'processes' | 'io' | 'spec'> => ({ processes: 0, io: [], spec: {} });

/** v1 detail; `memStat` is the memory.stat the basic read already parsed. */
export function readV1Detail(dirs: V1DetailDirs, memStat: Map<string, bigint>, memoryLimit: bigint | undefined, full = true): CgroupDetail {
  const read = (dir: string | undefined, file: string) => (dir === undefined ? undefined : readStatFile(dir, file));
  const num = (dir: string | undefined, file: string) => parseCounter(read(dir, file));
  const cpuStat = parseFlatKeyed(read(dirs.cpu, 'cpu.stat'));
  // One file for both, where usage_user and usage_sys are two: the metrics are whole seconds.
  const cpuacctStat = parseFlatKeyed(read(dirs.cpuacct, 'cpuacct.stat'));
  const oom = parseFlatKeyed(read(dirs.memory, 'memory.oom_control'));
  const usage = {
    cpu: {
      userNanoSeconds: (cpuacctStat.get('user') ?? 0n) * NS_PER_USER_HZ_TICK,
      systemNanoSeconds: (cpuacctStat.get('system') ?? 0n) * NS_PER_USER_HZ_TICK,
      periods: cpuStat.get('nr_periods') ?? 0n,
      throttledPeriods: cpuStat.get('nr_throttled') ?? 0n,
      throttledNanoSeconds: cpuStat.get('throttled_time') ?? 0n,
    },
    memory: {
      cacheBytes: memStat.get('total_cache') ?? 0n,
      mappedFileBytes: memStat.get('total_mapped_file') ?? 0n,
      activeFileBytes: memStat.get('total_active_file') ?? 0n,
      inactiveFileBytes: memStat.get('total_inactive_file') ?? 0n,
      ...opt('maxUsageBytes', num(dirs.memory, 'memory.max_usage_in_bytes')),
      failcnt: num(dirs.memory, 'memory.failcnt') ?? 0n,
      oomKills: oom.get('oom_kill') ?? 0n,
    },
  };
  if (!full) return { ...usage, ...usageOnly() };
  const quota = read(dirs.cpu, 'cpu.cfs_quota_us');
  const memsw = limited(num(dirs.memory, 'memory.memsw.limit_in_bytes'));
  return {
    ...usage,
    processes: countLines(read(dirs.pids, 'cgroup.procs')),
    ...opt('pidsLimit', num(dirs.pids, 'pids.max')),
    io: readBlkio(dirs.blkio),
    spec: {
      ...opt('cpuShares', num(dirs.cpu, 'cpu.shares')),
      // "-1" is no quota; parseCounter only takes digits, so it reads as absent.
      ...opt('cpuQuotaUs', parseCounter(quota)),
      ...opt('cpuPeriodUs', num(dirs.cpu, 'cpu.cfs_period_us')),
      ...opt('memoryReservationBytes', limited(num(dirs.memory, 'memory.soft_limit_in_bytes'))),
      // memsw can only be set along with a memory limit; alone it says nothing.
      ...opt('memorySwapLimitBytes', memoryLimit === undefined ? undefined : memsw),
    },
  };
}

/** v2 detail from the one directory; `cpuStat` and `memStat` are the files the basic read parsed. */
export function readV2Detail(
  dir: string,
  cpuStat: Map<string, bigint>,
  memStat: Map<string, bigint>,
  memoryLimit: bigint | undefined,
  full = true,
): CgroupDetail {
  const read = (file: string) => readStatFile(dir, file);
  const num = (file: string) => parseCounter(read(file));
  const events = parseFlatKeyed(read('memory.events'));
  const usage = {
    cpu: {
      userNanoSeconds: (cpuStat.get('user_usec') ?? 0n) * 1000n,
      systemNanoSeconds: (cpuStat.get('system_usec') ?? 0n) * 1000n,
      periods: cpuStat.get('nr_periods') ?? 0n,
      throttledPeriods: cpuStat.get('nr_throttled') ?? 0n,
      throttledNanoSeconds: (cpuStat.get('throttled_usec') ?? 0n) * 1000n,
    },
    memory: {
      cacheBytes: memStat.get('file') ?? 0n,
      mappedFileBytes: memStat.get('file_mapped') ?? 0n,
      activeFileBytes: memStat.get('active_file') ?? 0n,
      inactiveFileBytes: memStat.get('inactive_file') ?? 0n,
      ...opt('kernelBytes', memStat.get('kernel')),
      ...opt('maxUsageBytes', num('memory.peak')),
      failcnt: events.get('max') ?? 0n,
      oomKills: events.get('oom_kill') ?? 0n,
    },
  };
  if (!full) return { ...usage, ...usageOnly() };
  const cpuMax = parseCpuMax(read('cpu.max'));
  const weight = num('cpu.weight');
  const swapMax = num('memory.swap.max');
  return {
    ...usage,
    processes: countLines(read('cgroup.procs')),
    ...opt('pidsLimit', num('pids.max')),
    io: parseIoStat(read('io.stat')),
    spec: {
      ...opt('cpuShares', weight === undefined ? undefined : weightToShares(weight)),
      ...opt('cpuQuotaUs', cpuMax.quotaUs),
      ...opt('cpuPeriodUs', cpuMax.periodUs),
      ...opt('memoryReservationBytes', (() => {
        const low = num('memory.low');
        return low === 0n ? undefined : low;
      })()),
      ...opt('memorySwapLimitBytes', memoryLimit !== undefined && swapMax !== undefined ? memoryLimit + swapMax : undefined),
    },
  };
}
