// The metric descriptors and the samples built from one pod's figures: every sample has a
// descriptor, as many label values as its keys, its descriptor's type, and the right value.
import { expect } from 'chai';
import type { CgroupStats } from '../../../../src/cgroups/stats.js';
import { BASE_LABELS, METRIC_DESCRIPTORS, M, type MetricDef } from '../../../../src/core/stats/metric-descriptors.js';
import { podMetrics, type MetricSample, type PodMetricsInput } from '../../../../src/core/stats/pod-metrics.js';

const S = 1_000_000_000n;
const T = 1_700_000_000n * S;

function cgroup(over: Partial<CgroupStats> = {}): CgroupStats {
  return {
    timestampNs: T,
    cpu: { usageCoreNanoSeconds: 3n * S + S / 2n },
    memory: { usageBytes: 300n, workingSetBytes: 260n, rssBytes: 200n, pageFaults: 9n, majorPageFaults: 1n, limitBytes: 1024n, availableBytes: 764n },
    pids: { current: 5 },
    detail: {
      cpu: { userNanoSeconds: 2n * S, systemNanoSeconds: S + S / 2n, periods: 40n, throttledPeriods: 7n, throttledNanoSeconds: 2n * S - 1n },
      memory: { cacheBytes: 100n, mappedFileBytes: 30n, activeFileBytes: 60n, inactiveFileBytes: 40n, failcnt: 3n, oomKills: 2n },
      processes: 2,
      io: [{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n }],
      spec: { cpuShares: 512n, cpuQuotaUs: 50000n, cpuPeriodUs: 100000n },
    },
    ...over,
  };
}

const input = (): PodMetricsInput => ({
  id: 'pod-id',
  name: 'web',
  namespace: 'default',
  cgroup: cgroup({ psi: { cpu: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 4_500_000n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 1_000_000n } } } }),
  network: [{ name: 'eth0', rxBytes: 1000n, rxPackets: 10n, rxErrors: 1n, rxDropped: 2n, txBytes: 2000n, txPackets: 20n, txErrors: 3n, txDropped: 4n }],
  networkAt: T + 5n,
  containers: [
    { id: 'ctr-id', name: 'app', image: 'registry/app:1', startedAt: T - 60n * S, cgroup: cgroup(), layer: { usedBytes: 8192n, inodesUsed: 3n, timestampNs: T - S } },
  ],
  layerFs: { device: '8:1', capacityBytes: 1n << 40n, inodesTotal: 1000n, inodesFree: 600n, timestampNs: T + 1n },
  nowNs: T + 10n * S,
});

const byName = new Map<string, MetricDef>(METRIC_DESCRIPTORS.map((d) => [d.name, d]));

function values(samples: readonly MetricSample[], d: MetricDef, extra: readonly string[] = []): bigint[] {
  const n = BASE_LABELS.length;
  return samples.filter((s) => s.name === d.name && extra.every((v, i) => s.labelValues[n + i] === v)).map((s) => s.value);
}

describe('core/stats/pod-metrics', function () {
  it('describes each metric once, with cAdvisor names and the base labels first', function () {
    const names = METRIC_DESCRIPTORS.map((d) => d.name);
    expect(new Set(names).size).to.equal(names.length);
    for (const d of METRIC_DESCRIPTORS) {
      expect(d.name, d.name).to.match(/^container_[a-z_]+$/);
      expect(d.labelKeys.slice(0, BASE_LABELS.length)).to.deep.equal([...BASE_LABELS]);
      expect(new Set(d.labelKeys).size, d.name).to.equal(d.labelKeys.length);
      expect(d.help.length, d.name).to.be.greaterThan(10);
      // Prometheus naming: counters end in _total, gauges do not, but for two names cAdvisor gave
      // them long ago and dashboards use.
      const legacy = d === M.memFailcnt || d === M.fsInodesTotal;
      expect(d.name.endsWith('_total'), d.name).to.equal(legacy ? d.kind === 'gauge' : d.kind === 'counter');
    }
    expect(names).to.include.members([
      'container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'container_network_receive_bytes_total',
      'container_processes', 'container_oom_events_total', 'container_spec_memory_limit_bytes', 'container_fs_usage_bytes',
      'container_fs_reads_bytes_total', 'container_pressure_cpu_stalled_seconds_total',
    ]);
  });

  it('gives every sample a descriptor, its type, and one label value per key', function () {
    const p = podMetrics(input());
    const all = [...p.metrics, ...p.containerMetrics.flatMap((c) => c.metrics)];
    expect(all.length).to.be.greaterThan(50);
    for (const s of all) {
      const d = byName.get(s.name);
      expect(d, s.name).to.not.equal(undefined);
      expect(s.kind, s.name).to.equal(d?.kind);
      expect(s.labelValues.length, s.name).to.equal(d?.labelKeys.length);
    }
    // No two samples of one metric share their labels (Prometheus would reject the scrape).
    const keys = all.map((s) => `${s.name}{${s.labelValues.join(',')}}`);
    expect(new Set(keys).size).to.equal(keys.length);
  });

  it('labels pod samples with container "" and the sandbox id, container samples with name, id and image', function () {
    const p = podMetrics(input());
    expect(p.podSandboxId).to.equal('pod-id');
    for (const s of p.metrics) expect(s.labelValues.slice(0, 5)).to.deep.equal(['web', 'default', '', 'pod-id', '']);
    const c = p.containerMetrics[0]!;
    expect(c.containerId).to.equal('ctr-id');
    for (const s of c.metrics) expect(s.labelValues.slice(0, 5)).to.deep.equal(['web', 'default', 'app', 'ctr-id', 'registry/app:1']);
  });

  it('turns the figures into values: whole seconds, bytes, counts, limits, network per interface', function () {
    const p = podMetrics(input());
    const c = p.containerMetrics[0]!.metrics;
    expect(values(c, M.cpuUsage, ['total'])).to.deep.equal([3n]);
    expect(values(c, M.cpuUser)).to.deep.equal([2n]);
    expect(values(c, M.cpuSystem)).to.deep.equal([1n]);
    expect(values(c, M.cfsThrottledSeconds)).to.deep.equal([1n]);
    expect(values(c, M.cfsThrottledPeriods)).to.deep.equal([7n]);
    expect(values(c, M.memWorkingSet)).to.deep.equal([260n]);
    expect(values(c, M.memUsage)).to.deep.equal([300n]);
    expect(values(c, M.memCache)).to.deep.equal([100n]);
    expect(values(c, M.memFailures, ['pgmajfault', 'container'])).to.deep.equal([1n]);
    expect(values(c, M.oomEvents)).to.deep.equal([2n]);
    expect(values(c, M.processes)).to.deep.equal([2n]);
    expect(values(c, M.threads)).to.deep.equal([5n]);
    // pids.max "max": 0 is cAdvisor's "unlimited".
    expect(values(c, M.threadsMax)).to.deep.equal([0n]);
    expect(values(c, M.specMemLimit)).to.deep.equal([1024n]);
    expect(values(c, M.specCpuQuota)).to.deep.equal([50000n]);
    expect(values(c, M.specCpuShares)).to.deep.equal([512n]);
    expect(values(c, M.specMemSwapLimit)).to.deep.equal([0n]);
    expect(values(c, M.startTime)).to.deep.equal([T / S - 60n]);
    expect(values(c, M.lastSeen)).to.deep.equal([T / S + 10n]);
    expect(values(c, M.fsUsage, ['8:1'])).to.deep.equal([8192n]);
    expect(values(c, M.fsInodesFree, ['8:1'])).to.deep.equal([600n]);
    expect(values(c, M.fsReadsBytes, ['8:0'])).to.deep.equal([4096n]);
    expect(values(c, M.blkioDeviceUsage, ['8:0', '8', '0', 'Write'])).to.deep.equal([8192n]);
    // Network is the pod's: on the pod samples only.
    expect(values(c, M.netRxBytes)).to.deep.equal([]);
    expect(values(p.metrics, M.netRxBytes, ['eth0'])).to.deep.equal([1000n]);
    expect(values(p.metrics, M.netTxDropped, ['eth0'])).to.deep.equal([4n]);
    // The pod cgroup: usage and pressure, no per-container figures (processes, limits, fs).
    expect(values(p.metrics, M.memWorkingSet)).to.deep.equal([260n]);
    expect(values(p.metrics, M.cpuWaiting)).to.deep.equal([4n]);
    expect(values(p.metrics, M.cpuStalled)).to.deep.equal([1n]);
    for (const d of [M.processes, M.threadsMax, M.specMemLimit, M.fsUsage, M.startTime]) expect(values(p.metrics, d), d.name).to.deep.equal([]);
    // v1: no pressure for the container.
    expect(values(c, M.cpuWaiting)).to.deep.equal([]);
  });

  it('stamps each sample with the time its figure was read', function () {
    const p = podMetrics(input());
    const c = p.containerMetrics[0]!.metrics;
    expect(c.find((s) => s.name === M.memUsage.name)?.timestampNs).to.equal(T);
    expect(c.find((s) => s.name === M.fsUsage.name)?.timestampNs).to.equal(T - S);
    expect(p.metrics.find((s) => s.name === M.netRxBytes.name)?.timestampNs).to.equal(T + 5n);
  });

  it('leaves out what it has no figure for: a container whose cgroup is gone keeps last_seen only', function () {
    const p = podMetrics({ ...input(), network: [], containers: [{ id: 'x', name: 'x', image: 'i', startedAt: 0n }] });
    expect(p.containerMetrics[0]!.metrics.map((s) => s.name)).to.deep.equal([M.lastSeen.name]);
    expect(values(p.metrics, M.netRxBytes)).to.deep.equal([]);
    const noSwap = podMetrics(input()).containerMetrics[0]!.metrics;
    expect(values(noSwap, M.memSwap)).to.deep.equal([]);
  });
});
