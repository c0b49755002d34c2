// CRI's usage_nano_cores is a rate, and a cgroup only has a cumulative counter: the rate comes
// from two samples (as kubelet expects of the runtime, containerd and CRI-O do the same). The
// cache keeps the previous sample per cgroup path between stats calls.

/** What a rate needs of a sample; CgroupStats is one. */
export interface CpuSample {
  timestampNs: bigint;
  cpu: { usageCoreNanoSeconds: bigint };
}

const NS_PER_S = 1_000_000_000n;

/**
 * Nanocores between two samples: Δ core-ns / Δ ns × 1e9 (1e9 = one core busy the whole time).
 * undefined when no time passed or the counter went backwards (the cgroup was recreated).
 */
export function usageNanoCores(prev: CpuSample, cur: CpuSample): bigint | undefined {
  const dt = cur.timestampNs - prev.timestampNs;
  const du = cur.cpu.usageCoreNanoSeconds - prev.cpu.usageCoreNanoSeconds;
  if (dt <= 0n || du < 0n) return undefined;
  return (du * NS_PER_S) / dt;
}

export interface CpuRateCacheOptions {
  /**
   * A sample closer than this to the stored one does not replace it: the rate over a few
   * milliseconds is noise, and two callers (kubelet's housekeeping and a `crictl stats`) would
   * otherwise shorten each other's window. Default 1000 ms.
   */
  minIntervalMs?: number;
}

interface Entry {
  base: CpuSample;
  /** The last rate computed over at least minInterval. */
  rate?: bigint;
}

/** Previous samples keyed by cgroup path (or any stable key). */
export class CpuRateCache {
  private readonly entries = new Map<string, Entry>();
  private readonly minIntervalNs: bigint;

  constructor(opts: CpuRateCacheOptions = {}) {
    this.minIntervalNs = BigInt(Math.round((opts.minIntervalMs ?? 1000) * 1e6));
  }

  /**
   * Records `cur` for `key` and returns the rate since the stored sample; undefined on the first
   * sample of a key (and after a counter reset). Within minInterval of the stored sample, returns
   * the last full-window rate if there is one, else the rate over the short window, and keeps the
   * stored sample.
   */
  update(key: string, cur: CpuSample): bigint | undefined {
    const e = this.entries.get(key);
    const base = { timestampNs: cur.timestampNs, cpu: { usageCoreNanoSeconds: cur.cpu.usageCoreNanoSeconds } };
    if (e === undefined || cur.cpu.usageCoreNanoSeconds < e.base.cpu.usageCoreNanoSeconds) {
      this.entries.set(key, { base });
      return undefined;
    }
    const dt = cur.timestampNs - e.base.timestampNs;
    if (dt < this.minIntervalNs) return e.rate ?? usageNanoCores(e.base, cur);
    const rate = usageNanoCores(e.base, cur);
    this.entries.set(key, rate === undefined ? { base } : { base, rate });
    return rate;
  }

  /** Drops a key (its cgroup was removed). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every key not in `live`: call with the current cgroups after a list to bound the cache. */
  retain(live: Iterable<string>): void {
    const keep = new Set(live);
    for (const k of this.entries.keys()) if (!keep.has(k)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
