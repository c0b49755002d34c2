// Exec over the streaming server, as kubectl exec does it (Exec RPC, SPDY upgrade, streams,
// status), against ExecSync of the same command in the same run; and exec / port-forward
// throughput. Medians. The peer for a ratio is ExecSync (no containerd here).
import { randomBytes } from 'node:crypto';
import { ContainerConfig, PodSandboxConfig } from '../src/generated/runtime/v1/api.js';
import { call } from '../test/support/daemon.js';
import { startBusyboxDaemon } from '../test/support/busybox-daemon.js';
import { collect, isUpgraded, spdyCommand, spdyUpgrade } from '../test/support/spdy-client.js';
import { median, report } from './stats.js';

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

export async function benchStreaming(opts: { runs?: number } = {}): Promise<void> {
  const n = opts.runs ?? 30;
  const bd = await startBusyboxDaemon('logLevel: warn\n');
  const { d, image } = bd;
  try {
    const podConfig = PodSandboxConfig.fromPartial({ metadata: { name: 'bench', namespace: 'bench', uid: 'bench-stream', attempt: 0 } });
    const { podSandboxId } = await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' });
    const start = async (name: string, command: string[]) => {
      const config = ContainerConfig.fromPartial({ metadata: { name, attempt: 0 }, image: { image }, command });
      const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId, config, sandboxConfig: podConfig });
      await call(d.runtime, 'startContainer', { containerId });
      return containerId;
    };
    const box = await start('box', ['/bin/sleep', '600']);
    await start('echo', ['/bin/nc', '-ll', '-p', '8080', '-e', '/bin/cat']);
    const execUrl = async (cmd: string[], stdin = false) =>
      (await call<object, { url: string }>(d.runtime, 'exec', { containerId: box, cmd, stdin, stdout: true, stderr: false, tty: false })).url;

    const streamed: number[] = [];
    const sync: number[] = [];
    for (let i = 0; i < n; i++) {
      let t = process.hrtime.bigint();
      await spdyCommand(await execUrl(['/bin/true']), {});
      streamed.push(ms(t));
      t = process.hrtime.bigint();
      await call(d.runtime, 'execSync', { containerId: box, cmd: ['/bin/true'], timeout: 10n });
      sync.push(ms(t));
    }

    const data = randomBytes(32 << 20);
    const execMBs: number[] = [];
    const pfMBs: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = process.hrtime.bigint();
      const r = await spdyCommand(await execUrl(['/bin/cat'], true), { stdin: data });
      if (r.stdout.length !== data.length) throw new Error(`exec returned ${r.stdout.length} bytes`);
      execMBs.push((2 * data.length) / 1e6 / (ms(t) / 1000));
      const url = (await call<object, { url: string }>(d.runtime, 'portForward', { podSandboxId, port: [8080] })).url;
      t = process.hrtime.bigint();
      const up = await spdyUpgrade(url, ['portforward.k8s.io']);
      if (!isUpgraded(up)) throw new Error('port-forward refused');
      await up.session.openStream({ streamType: 'error', port: '8080', requestID: '0' });
      const s = await up.session.openStream({ streamType: 'data', port: '8080', requestID: '0' });
      const back = collect(s);
      s.end(data);
      const got = await back;
      if (got.length !== data.length) throw new Error(`port-forward returned ${got.length} bytes`);
      pfMBs.push((2 * data.length) / 1e6 / (ms(t) / 1000));
      up.session.close();
    }
    report(`streaming, ${n} runs`, {
      exec_spdy_true_ms: median(streamed),
      execsync_true_ms: median(sync),
      'ratio_exec/execsync': median(streamed) / median(sync),
      exec_cat_32MiB_MBps_both_ways: median(execMBs),
      portforward_32MiB_MBps_both_ways: median(pfMBs),
    });
    await call(d.runtime, 'stopPodSandbox', { podSandboxId });
    await call(d.runtime, 'removePodSandbox', { podSandboxId });
  } finally {
    await bd.close();
  }
}
