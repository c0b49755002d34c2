// CreateContainer+StartContainer, StopContainer+RemoveContainer and ExecSync `true` through
// skiffd's socket, medians over 50 runs, with a busybox image from a registry on 127.0.0.1; and
// the RSS of one skiff-monitor. No peer runs here (containerd is not installed), so no ratio.
import { readFileSync } from 'node:fs';
import { ContainerConfig, PodSandboxConfig, type ContainerStatusResponse } from '../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../test/support/daemon.js';
import { imageSpec } from '../test/support/grpc.js';
import { startRegistry } from '../test/support/registry.js';
import { pushStandardImages } from '../test/support/standard-images.js';
import { median, report } from './stats.js';

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

export async function benchContainer(opts: { runs?: number } = {}): Promise<void> {
  const n = opts.runs ?? 50;
  const reg = await startRegistry();
  const d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\nlogLevel: warn\n`);
  try {
    await pushStandardImages(reg.url);
    await d.start();
    const image = `${reg.host}/skiff-test/busybox-root:1.0`;
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 60_000);
    const podConfig = PodSandboxConfig.fromPartial({ metadata: { name: 'bench', namespace: 'bench', uid: 'bench-uid', attempt: 0 } });
    const { podSandboxId } = await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' });
    const createStart: number[] = [];
    const stopRemove: number[] = [];
    const execs: number[] = [];
    let monitorRss = NaN;
    for (let i = 0; i < n; i++) {
      const config = ContainerConfig.fromPartial({ metadata: { name: `b${i}`, attempt: 0 }, image: { image }, command: ['/bin/sleep', '600'] });
      let t = process.hrtime.bigint();
      const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId, config, sandboxConfig: podConfig });
      await call(d.runtime, 'startContainer', { containerId });
      createStart.push(ms(t));
      t = process.hrtime.bigint();
      await call(d.runtime, 'execSync', { containerId, cmd: ['/bin/true'], timeout: 10n });
      execs.push(ms(t));
      if (i === 0) {
        const s = await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId, verbose: true });
        monitorRss = rssKb((JSON.parse(s.info.info ?? '{}') as { monitorPid: number }).monitorPid);
      }
      t = process.hrtime.bigint();
      await call(d.runtime, 'stopContainer', { containerId, timeout: 0n });
      await call(d.runtime, 'removeContainer', { containerId });
      stopRemove.push(ms(t));
    }
    // ListContainerStats over 200 running containers (issue 8's bench).
    const many: string[] = [];
    for (let i = 0; i < 200; i++) {
      const config = ContainerConfig.fromPartial({ metadata: { name: `s${i}`, attempt: 0 }, image: { image }, command: ['/bin/sleep', '600'] });
      const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId, config, sandboxConfig: podConfig });
      await call(d.runtime, 'startContainer', { containerId });
      many.push(containerId);
    }
    const listStats: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = process.hrtime.bigint();
      await call(d.runtime, 'listContainerStats', {});
      listStats.push(ms(t));
    }
    const listAll: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint();
      await call(d.runtime, 'listContainers', {});
      await call(d.runtime, 'listPodSandbox', {});
      listAll.push(ms(t));
    }
    report(`containers, ${n} runs`, {
      'create+start_ms': median(createStart),
      'stop+remove_ms': median(stopRemove),
      execsync_true_ms: median(execs),
      monitor_rss_KiB: monitorRss,
      'list_stats_200_ms': median(listStats),
      'list_pods+containers_200_ms': median(listAll),
    });
    for (const containerId of many) await call(d.runtime, 'removeContainer', { containerId });
    await call(d.runtime, 'stopPodSandbox', { podSandboxId });
    await call(d.runtime, 'removePodSandbox', { podSandboxId });
  } finally {
    await d.stop();
    await d.cleanup();
    await reg.stop();
  }
}
