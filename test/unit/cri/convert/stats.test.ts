// CRI stats messages from the core's usage figures: pressure (v2) reaches cpu, memory and io as
// kubelet reads it; without PSI (v1) those fields stay unset.
import { expect } from 'chai';
import type { ContainerUsage, PodUsage } from '../../../../src/core/stats/stats-service.js';
import type { ContainerRecord } from '../../../../src/core/container/types.js';
import type { SandboxRecord } from '../../../../src/core/sandbox/types.js';
import type { CgroupStats } from '../../../../src/cgroups/stats.js';
import { toContainerStats, toPodSandboxStats } from '../../../../src/cri/convert/stats.js';

const line = (totalUs: bigint, avg10: number) => ({ avg10, avg60: 0.5, avg300: 0.25, totalUs });

const cgroup = (withPsi: boolean): CgroupStats => ({
  timestampNs: 42n,
  cpu: { usageCoreNanoSeconds: 10n },
  memory: { usageBytes: 3n, workingSetBytes: 2n, rssBytes: 1n, pageFaults: 0n, majorPageFaults: 0n },
  pids: { current: 1 },
  ...(withPsi
    ? { psi: { cpu: { some: line(100n, 1.5), full: line(50n, 0.75) }, memory: { some: line(7n, 0) }, io: { some: line(9n, 2), full: line(3n, 1) } } }
    : {}),
});

const record = { id: 'c1', name: 'app', attempt: 0, labels: {}, annotations: {} } as unknown as ContainerRecord;
const usage = (withPsi: boolean): ContainerUsage => ({ record, cgroup: cgroup(withPsi) });

describe('cri/convert/stats', function () {
  it('maps v2 pressure to cpu, memory and io psi: total in µs, averages in percent', function () {
    const s = toContainerStats(usage(true), '/var/lib/skiff/writable');
    expect(s.cpu?.psi).to.deep.equal({
      Some: { Total: 100n, Avg10: 1.5, Avg60: 0.5, Avg300: 0.25 },
      Full: { Total: 50n, Avg10: 0.75, Avg60: 0.5, Avg300: 0.25 },
    });
    expect(s.memory?.psi).to.deep.equal({ Some: { Total: 7n, Avg10: 0, Avg60: 0.5, Avg300: 0.25 }, Full: undefined });
    expect(s.io).to.deep.equal({
      timestamp: 42n,
      psi: { Some: { Total: 9n, Avg10: 2, Avg60: 0.5, Avg300: 0.25 }, Full: { Total: 3n, Avg10: 1, Avg60: 0.5, Avg300: 0.25 } },
    });
  });

  it('leaves psi and io unset without pressure files (cgroup v1)', function () {
    const s = toContainerStats(usage(false), '/w');
    expect(s.cpu?.psi).to.equal(undefined);
    expect(s.memory?.psi).to.equal(undefined);
    expect(s.io).to.equal(undefined);
  });

  it('gives the pod its own cgroup pressure', function () {
    const pod = {
      record: { id: 'p1', spec: { name: 'p', uid: 'u', namespace: 'n', attempt: 0, labels: {}, annotations: {} } } as unknown as SandboxRecord,
      cgroup: cgroup(true),
      network: [],
      networkAt: 1n,
      containers: [usage(false)],
    } satisfies PodUsage;
    const s = toPodSandboxStats(pod, '/w');
    expect(s.linux?.io?.psi?.Some?.Total).to.equal(9n);
    expect(s.linux?.cpu?.psi?.Full?.Total).to.equal(50n);
    expect(s.linux?.containers[0]?.io).to.equal(undefined);
  });
});
