// RunPodSandbox and StopPodSandbox+RemovePodSandbox through skiffd's socket on the built-in bridge
// (a bridge, /24 and iptables chains of this run's own), medians over 50 pods, and the processes
// each RunPodSandbox spawned. No peer runs on this machine (containerd is not installed), so no ratio.
import { NamespaceMode, PodSandboxConfig, Protocol, type StatusResponse } from '../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../test/support/daemon.js';
import { readFileSync } from 'node:fs';
import { median, report } from './stats.js';

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

async function spawns(d: TestDaemon): Promise<number> {
  const s = await call<object, StatusResponse>(d.runtime, 'status', { verbose: true });
  return Number(s.info.spawns ?? 'NaN');
}

export async function benchSandbox(opts: { pods?: number } = {}): Promise<void> {
  const n = opts.pods ?? 50;
  const d = await TestDaemon.create('logLevel: warn\n');
  try {
    await d.start();
    for (const [label, ports] of [['no hostPort', false], ['one hostPort', true]] as const) {
      const runTimes: number[] = [];
      const stopRemove: number[] = [];
      const spawnsPerRun: number[] = [];
      for (let i = 0; i < n; i++) {
        const cfg = PodSandboxConfig.fromPartial({
          metadata: { name: `bench-${label.replace(' ', '-')}-${i}`, namespace: 'bench', uid: `u-${i}-${ports}`, attempt: 0 },
          hostname: `bench${i}`,
          portMappings: ports ? [{ protocol: Protocol.TCP, containerPort: 80, hostPort: 30000 + i, hostIp: '' }] : [],
          linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } },
        });
        const before = await spawns(d);
        let t = process.hrtime.bigint();
        const { podSandboxId } = await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: cfg, runtimeHandler: '' });
        runTimes.push(ms(t));
        spawnsPerRun.push((await spawns(d)) - before);
        t = process.hrtime.bigint();
        await call(d.runtime, 'stopPodSandbox', { podSandboxId });
        await call(d.runtime, 'removePodSandbox', { podSandboxId });
        stopRemove.push(ms(t));
      }
      report(`sandbox (${label}), ${n} pods`, {
        run_ms: median(runTimes),
        'stop+remove_ms': median(stopRemove),
        spawns_per_run: median(spawnsPerRun),
      });
    }
    await concurrentAndList(d);
  } finally {
    await d.stop();
    await d.cleanup();
  }
}

/** 30 pods started at once (wall time), then 110 pods: ListPodSandbox median and daemon RSS. */
async function concurrentAndList(d: TestDaemon): Promise<void> {
  const cfg = (name: string) =>
    PodSandboxConfig.fromPartial({
      metadata: { name, namespace: 'bench', uid: `u-${name}`, attempt: 0 },
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } },
    });
  const t = process.hrtime.bigint();
  const ids = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: cfg(`burst-${i}`), runtimeHandler: '' }, 60_000),
    ),
  );
  const burst = ms(t);
  for (let i = 30; i < 110; i++) {
    ids.push(await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: cfg(`many-${i}`), runtimeHandler: '' }));
  }
  const lists: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = process.hrtime.bigint();
    await call(d.runtime, 'listPodSandbox', {});
    lists.push(ms(t0));
  }
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.proc?.pid}/status`, 'utf8'))?.[1];
  report('30 pods at once; 110 pods listed', {
    burst_wall_ms: burst,
    list110_ms: median(lists),
    daemon_rss_MiB: Number(rss) / 1024,
  });
  for (const { podSandboxId } of ids) {
    await call(d.runtime, 'stopPodSandbox', { podSandboxId });
    await call(d.runtime, 'removePodSandbox', { podSandboxId });
  }
}
