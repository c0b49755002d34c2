// RunPodSandbox and StopPodSandbox+RemovePodSandbox through skiffd's socket on the built-in bridge
// (a bridge, /24 and iptables chains of this run's own), medians over 50 pods, and the processes
// each RunPodSandbox spawned. No peer runs on this machine (containerd is not installed), so no ratio.
import { NamespaceMode, PodSandboxConfig, Protocol, type StatusResponse } from '../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../test/support/daemon.js';
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
  } finally {
    await d.stop();
    await d.cleanup();
  }
}
