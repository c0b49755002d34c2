// skiffd's own /metrics (config `metrics:`): RPC latency by method and code, pods and containers
// by state, pulled layer bytes; a taken address stops start-up before any host state changes.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { status as grpcStatus } from '@grpc/grpc-js';
import { PodSandboxConfig, type ImageStatusResponse } from '../../src/generated/runtime/v1/api.js';
import { call, runSkiffd, TestDaemon } from '../support/daemon.js';
import { expectCode, imageSpec } from '../support/grpc.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushStandardImages } from '../support/standard-images.js';

/** A port nothing listens on right now, from the kernel. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The value of the one sample line that starts with `series` ("name{labels}"). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("skiffd's own metrics endpoint", function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  let url: string;
  let listen: string;

  before(async function () {
    reg = await startRegistry();
    await pushStandardImages(reg.url);
    listen = `127.0.0.1:${await freePort()}`;
    url = `http://${listen}/metrics`;
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\nmetrics:\n  enabled: true\n  listen: "${listen}"\n`);
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
    await reg?.stop();
  });

  it('counts calls by method and code, pods by state and the layer bytes a pull downloaded', async function () {
    await call(d.runtime, 'version', {});
    await expectCode(call(d.runtime, 'containerStatus', { containerId: 'f'.repeat(64) }), grpcStatus.NOT_FOUND);
    const image = `${reg.host}/skiff-test/busybox-root:1.0`;
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 30_000);
    const pod = PodSandboxConfig.fromPartial({ metadata: { name: 'm', namespace: 'default', uid: `uid-m-${process.pid}`, attempt: 0 } });
    const { podSandboxId } = await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: pod, runtimeHandler: '' });

    const res = await fetch(url);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).to.contain('# TYPE skiff_grpc_request_duration_seconds histogram');
    expect(sample(text, 'skiff_grpc_request_duration_seconds_count{method="Version",code="OK"}')).to.be.at.least(1);
    expect(sample(text, 'skiff_grpc_request_duration_seconds_count{method="ContainerStatus",code="NOT_FOUND"}')).to.equal(1);
    expect(sample(text, 'skiff_grpc_request_duration_seconds_bucket{method="RunPodSandbox",code="OK",le="+Inf"}')).to.equal(1);
    expect(sample(text, 'skiff_pods{state="ready"}')).to.equal(1);
    expect(sample(text, 'skiff_containers{state="running"}')).to.equal(0);
    expect(sample(text, 'process_resident_memory_bytes')).to.be.greaterThan(10e6);
    // The pulled image's layers, as its status reports their total (config and manifest aside).
    const st = await call<object, ImageStatusResponse>(d.images, 'imageStatus', { image: imageSpec(image), verbose: false });
    const pulled = sample(text, 'skiff_image_pull_bytes_total')!;
    expect(pulled).to.be.greaterThan(0);
    expect(pulled).to.be.below(Number(st.image?.size));
    // A second pull finds the layers in place: nothing more downloaded.
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 30_000);
    expect(sample(await (await fetch(url)).text(), 'skiff_image_pull_bytes_total')).to.equal(pulled);

    await call(d.runtime, 'stopPodSandbox', { podSandboxId });
    await call(d.runtime, 'removePodSandbox', { podSandboxId });
    expect(sample(await (await fetch(url)).text(), 'skiff_pods{state="ready"}')).to.equal(0);
  });

  it('answers other paths with 404 and other methods with 405', async function () {
    expect((await fetch(`http://${listen}/`)).status).to.equal(404);
    expect((await fetch(url, { method: 'POST' })).status).to.equal(405);
  });

  it('refuses to start on a taken metrics address, before touching the host, naming it', async function () {
    const other = await TestDaemon.create(`metrics:\n  enabled: true\n  listen: "${listen}"\n`);
    try {
      const r = await runSkiffd(other.args());
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(`cannot serve metrics on ${listen}: EADDRINUSE`);
      // It stopped before the network: its bridge was never made. The first daemon serves on.
      expect(spawnSync('ip', ['link', 'show', other.net.bridge]).status).to.not.equal(0);
      expect((await fetch(url)).status).to.equal(200);
    } finally {
      await other.cleanup();
    }
  });
});
