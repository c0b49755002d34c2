import { expect } from 'chai';
import { parseCniConfig } from '../../../../src/network/cni/config.js';
import {
  cniArgs, cniEnv, cniErrorKind, cniPortMappings, filterRuntimeConfig, parseCniError, parseCniResult, pluginStdin, podAddresses,
} from '../../../../src/network/cni/protocol.js';

const list = parseCniConfig(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'podnet',
    plugins: [
      { type: 'bridge', bridge: 'cni0', name: 'ignored', cniVersion: '0.3.1', prevResult: { stale: true } },
      { type: 'portmap', capabilities: { portMappings: true, bandwidth: false }, snat: true },
    ],
  }),
  'x.conflist',
);
const [bridge, portmap] = list.plugins as [typeof list.plugins[0], typeof list.plugins[0]];
const pod = { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: 'abc123', K8S_POD_UID: 'u-1' };

describe('network/cni/protocol', function () {
  it('builds CNI_ARGS and refuses values that would forge arguments', function () {
    expect(cniArgs(pod)).to.equal('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1');
    const { K8S_POD_UID: _u, ...noUid } = pod;
    expect(cniArgs(noUid)).to.not.contain('K8S_POD_UID');
    expect(() => cniArgs({ ...pod, K8S_POD_NAME: 'x;K8S_POD_NAMESPACE=kube-system' })).to.throw(/contains/);
  });

  it('builds the environment: the base one without stale CNI_ variables, plus the protocol ones', function () {
    const env = cniEnv(
      { PATH: '/usr/bin', HOME: '/root', CNI_NETNS: '/stale', CNI_ARGS: 'stale' },
      { command: 'ADD', containerId: 'abc', netns: '/run/skiff/ns/net/abc', ifName: 'eth0', args: 'IgnoreUnknown=1', path: ['/opt/cni/bin', '/usr/lib/cni'] },
    );
    expect(env).to.deep.equal({
      PATH: '/usr/bin',
      HOME: '/root',
      CNI_COMMAND: 'ADD',
      CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
      CNI_CONTAINERID: 'abc',
      CNI_NETNS: '/run/skiff/ns/net/abc',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1',
    });
    expect(cniEnv({}, { command: 'STATUS', path: ['/x'] })).to.deep.equal({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: 'STATUS',
      CNI_PATH: '/x',
    });
  });

  it('gives each plugin its config with the list name and version, prevResult and its capabilities only', function () {
    const rc = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 }, dns: { servers: ['1.1.1.1'] } };
    expect(JSON.parse(pluginStdin(list, bridge, { runtimeConfig: rc }))).to.deep.equal({
      type: 'bridge',
      bridge: 'cni0',
      name: 'podnet',
      cniVersion: '1.0.0',
    });
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.22.0.5/16' }] };
    expect(JSON.parse(pluginStdin(list, portmap, { prevResult: prev, runtimeConfig: rc }))).to.deep.equal({
      type: 'portmap',
      capabilities: { portMappings: true, bandwidth: false },
      snat: true,
      name: 'podnet',
      cniVersion: '1.0.0',
      prevResult: prev,
      runtimeConfig: { portMappings: rc.portMappings },
    });
    expect(filterRuntimeConfig(portmap, { dns: {} })).to.equal(undefined);
    expect(filterRuntimeConfig(portmap, undefined)).to.equal(undefined);
  });

  it('turns CRI port mappings into portmap ones', function () {
    expect(
      cniPortMappings([
        { protocol: 'TCP', hostPort: 8080, containerPort: 80, hostIP: '' },
        { protocol: 'UDP', hostPort: 0, containerPort: 53 },
        { protocol: 'SCTP', hostPort: 9, containerPort: 9, hostIP: '192.0.2.1' },
      ]),
    ).to.deep.equal([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 9, containerPort: 9, protocol: 'sctp', hostIP: '192.0.2.1' },
    ]);
  });

  it('parses a result and finds the pod addresses on the sandbox interface', function () {
    const raw = {
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cni0', mac: '0a:00:00:00:00:01' },
        { name: 'veth1', mac: '0a:00:00:00:00:02' },
        { name: 'eth0', mac: '0a:00:00:00:00:03', sandbox: '/run/skiff/ns/net/abc' },
      ],
      ips: [
        { address: '10.22.0.5/16', gateway: '10.22.0.1', interface: 2 },
        { address: 'fd00::5/64', interface: 2 },
        { address: '10.22.0.1/16', interface: 0 },
      ],
      dns: { nameservers: ['10.96.0.10'], search: ['svc'] },
    };
    const r = parseCniResult(raw, 'test');
    expect(r.interfaces[2]).to.deep.equal({ name: 'eth0', mac: '0a:00:00:00:00:03', sandbox: '/run/skiff/ns/net/abc' });
    expect(r.dns).to.deep.equal({ nameservers: ['10.96.0.10'], search: ['svc'] });
    expect(r.raw).to.equal(raw);
    expect(podAddresses(r, 'eth0')).to.deep.equal([
      { address: '10.22.0.5', prefix: 16, gateway: '10.22.0.1' },
      { address: 'fd00::5', prefix: 64 },
    ]);
    expect(podAddresses(parseCniResult({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.2/24' }] }, 't'), 'eth0')).to.deep.equal([
      { address: '10.1.0.2', prefix: 24 },
    ]);
    expect(() => parseCniResult({ ips: [{ address: '10.0.0.1' }] }, 'p')).to.throw(/malformed IP/);
    expect(() => parseCniResult([], 'p')).to.throw(/not a JSON object/);
  });

  it('reads plugin errors and maps their codes to error kinds', function () {
    expect(parseCniError('{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"}')).to.deep.equal({
      code: 7,
      msg: 'bad config',
      details: 'no bridge',
    });
    expect(parseCniError('panic: oops')).to.equal(undefined);
    expect(parseCniError('{"ips":[]}')).to.equal(undefined);
    const kinds = [1, 2, 3, 4, 5, 6, 7, 11, 50, 51, 100].map(cniErrorKind);
    expect(kinds).to.deep.equal([
      'FailedPrecondition', 'FailedPrecondition', 'NotFound', 'Internal', 'Internal', 'Internal',
      'FailedPrecondition', 'Unavailable', 'Unavailable', 'Unavailable', 'Internal',
    ]);
  });
});
