// ListPodSandboxMetrics (what kubelet's /metrics/cadvisor costs the runtime per scrape) and, for
// comparison, ListPodSandboxStats, over 50 ready pods with 2 running containers each; medians of
// 20 calls through skiffd's socket, busybox from a registry on 127.0.0.1.
import { ContainerConfig, PodSandboxConfig, type ListPodSandboxMetricsResponse } from '../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../test/support/daemon.js';
import { imageSpec } from '../test/support/grpc.js';
import { startRegistry } from '../test/support/registry.js';
import { pushStandardImages } from '../test/support/standard-images.js';
import { median, report } from './stats.js';

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

export async function benchMetrics(opts: { pods?: number; perPod?: number; runs?: number } = {}): Promise<void> {
  const pods = opts.pods ?? 50;
  const perPod = opts.perPod ?? 2;
  const runs = opts.runs ?? 20;
  const reg = await startRegistry();
  const d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\nlogLevel: warn\n`);
  const made: string[] = [];
  try {
    await pushStandardImages(reg.url);
    await d.start();
    const image = `${reg.host}/skiff-test/busybox-root:1.0`;
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 60_000);
    for (let p = 0; p < pods; p++) {
      const config = PodSandboxConfig.fromPartial({ metadata: { name: `m${p}`, namespace: 'bench', uid: `bench-m${p}`, attempt: 0 } });
      const { podSandboxId } = await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config, runtimeHandler: '' });
      made.push(podSandboxId);
      for (let c = 0; c < perPod; c++) {
        const cc = ContainerConfig.fromPartial({ metadata: { name: `c${c}`, attempt: 0 }, image: { image }, command: ['/bin/sleep', '600'] });
        const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId, config: cc, sandboxConfig: config });
        await call(d.runtime, 'startContainer', { containerId });
      }
    }
    const timed = async (method: string) => {
      const out: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = process.hrtime.bigint();
        await call(d.runtime, method, {}, 30_000);
        out.push(ms(t));
      }
      return median(out);
    };
    const logFrom = d.log.length;
    const metrics = await timed('listPodSandboxMetrics');
    // The daemon's own time for the call (its debug line), without the client's decode.
    const served = [...d.log.slice(logFrom).matchAll(/ListPodSandboxMetrics ok.*?ms=([\d.]+)/g)].map((m) => Number(m[1]));
    const stats = await timed('listPodSandboxStats');
    const descriptors = await timed('listMetricDescriptors');
    const r = await call<object, ListPodSandboxMetricsResponse>(d.runtime, 'listPodSandboxMetrics', {});
    const samples = r.podMetrics.reduce((n, p) => n + p.metrics.length + p.containerMetrics.reduce((m, c) => m + c.metrics.length, 0), 0);
    report(`metrics, ${pods} pods × ${perPod} containers`, {
      list_pod_metrics_ms: metrics,
      served_ms: served.length ? median(served) : NaN,
      samples,
      list_pod_stats_ms: stats,
      list_descriptors_ms: descriptors,
    });
  } finally {
    for (const podSandboxId of made) {
      await call(d.runtime, 'stopPodSandbox', { podSandboxId }).catch(() => {});
      await call(d.runtime, 'removePodSandbox', { podSandboxId }).catch(() => {});
    }
    await d.stop();
    await d.cleanup();
    await reg.stop();
  }
}
