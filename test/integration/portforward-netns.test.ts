// PortForward dials inside the pod's network namespace, and nowhere else: a pod stopped after its
// URL was handed out (its netns is gone) gets a refusal, never a connection in the host's
// namespace. A listener on the host's 127.0.0.1 tells which namespace a dial went to.
import { expect } from 'chai';
import net from 'node:net';
import { status as grpcStatus } from '@grpc/grpc-js';
import { NamespaceMode, PodSandboxConfig, type DeepPartial } from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';
import { expectCode } from '../support/grpc.js';
import { collect, isUpgraded, spdyUpgrade } from '../support/spdy-client.js';

describe('port-forward never falls back to the host network namespace', function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let host: net.Server;
  let hostPort: number;
  let hostConnections = 0;
  let seq = 0;

  const runPod = async (over: DeepPartial<PodSandboxConfig> = {}) => {
    const name = `pf-${++seq}`;
    const config = PodSandboxConfig.fromPartial({ metadata: { name, namespace: 'default', uid: `uid-${name}-${process.pid}`, attempt: 0 }, ...over });
    return (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config, runtimeHandler: '' })).podSandboxId;
  };
  const urlFor = async (podSandboxId: string) =>
    (await call<object, { url: string }>(d.runtime, 'portForward', { podSandboxId, port: [hostPort] })).url;

  /** One forwarded connection, as kubectl makes it: what came back, and the error stream's text. */
  const forwardOnce = async (url: string, payload: string) => {
    const up = await spdyUpgrade(url, ['portforward.k8s.io']);
    if (!isUpgraded(up)) throw new Error(`port-forward refused: ${up.status}`);
    const headers = { port: String(hostPort), requestID: '0' };
    const error = await up.session.openStream({ ...headers, streamType: 'error' });
    const data = await up.session.openStream({ ...headers, streamType: 'data' });
    const back = collect(data);
    const err = collect(error);
    data.end(payload);
    const result = { data: (await back).toString(), error: (await err).toString() };
    up.session.close();
    return result;
  };

  before(async function () {
    // An echo server on the host's loopback: any dial that lands in the host's netns reaches it.
    host = net.createServer((s) => {
      hostConnections++;
      s.pipe(s);
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostPort = (host.address() as net.AddressInfo).port;
    d = await TestDaemon.create();
    await d.start();
  });
  after(async function () {
    await d?.cleanup();
    await new Promise((resolve) => host?.close(resolve));
  });
  beforeEach(() => {
    hostConnections = 0;
  });

  it('refuses a connection to a pod stopped after its URL was made, and dials nothing on the host', async function () {
    const pod = await runPod();
    const url = await urlFor(pod);
    await call(d.runtime, 'stopPodSandbox', { podSandboxId: pod });
    const r = await forwardOnce(url, 'hello');
    expect(r.error).to.match(new RegExp(`error forwarding port ${hostPort} to pod: pod sandbox ${pod} is not ready`));
    expect(r.data).to.equal('');
    expect(hostConnections).to.equal(0);
    // A new URL for the stopped pod is refused by the RPC itself.
    await expectCode(urlFor(pod), grpcStatus.FAILED_PRECONDITION);
    await call(d.runtime, 'removePodSandbox', { podSandboxId: pod });
  });

  it('dials a running pod in its own namespace, where the host listener is not', async function () {
    const pod = await runPod();
    const r = await forwardOnce(await urlFor(pod), 'hello');
    expect(r.error).to.match(/nothing listens on localhost/);
    expect(hostConnections).to.equal(0);
    await call(d.runtime, 'removePodSandbox', { podSandboxId: pod });
  });

  it('dials a host-network pod in the host namespace', async function () {
    const pod = await runPod({ linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } } });
    const r = await forwardOnce(await urlFor(pod), 'hello');
    expect(r).to.deep.equal({ data: 'hello', error: '' });
    expect(hostConnections).to.equal(1);
    await call(d.runtime, 'removePodSandbox', { podSandboxId: pod });
  });
});
