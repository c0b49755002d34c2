// CRI requests as kubelet (or anyone who can reach the socket) sends them: bytes decoded with the
// generated codecs, exactly as the gRPC server does, then converted by src/cri/convert/ as the
// handlers do. The codecs' own refusals of broken protobuf are the generated code's business
// (grpc-js answers those); from a decoded message on, conversion must give a value or an
// InvalidArgument.
import fc from 'fast-check';
import * as api from '../../../src/generated/runtime/v1/api.js';
import { toContainerFilter, toContainerResources, toCreateContainerInput } from '../../../src/cri/convert/container.js';
import { requireId } from '../../../src/cri/convert/ids.js';
import { requireImageName, toPullAuth } from '../../../src/cri/convert/image.js';
import { mergeResources, toPodResources, toSandboxFilter, toSandboxSpec } from '../../../src/cri/convert/sandbox.js';
import { inputMix } from '../harness/mutate.js';
import { skiffKinds, violation, type FuzzTarget } from '../harness/target.js';

interface Rpc {
  readonly name: string;
  decode(bytes: Uint8Array): unknown;
  encode(message: never): { finish(): Uint8Array };
  convert(req: never): unknown;
  /** A request as kubelet sends it. */
  readonly sample: unknown;
}

const resources = {
  cpuPeriod: 100000n, cpuQuota: 50000n, cpuShares: 512n, memoryLimitInBytes: 1n << 28n, oomScoreAdj: 1000n, cpusetCpus: '0-1', cpusetMems: '0',
  hugepageLimits: [{ pageSize: '2MB', limit: 0n }], unified: { 'memory.high': '100000' }, memorySwapLimitInBytes: 0n,
};
const podConfig = {
  metadata: { name: 'web', uid: 'u1', namespace: 'default', attempt: 1 },
  hostname: 'web', logDirectory: '/var/log/pods/x',
  dnsConfig: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: ['ndots:5'] },
  portMappings: [{ protocol: api.Protocol.TCP, containerPort: 80, hostPort: 8080, hostIp: '' }],
  labels: { app: 'web' }, annotations: { a: 'b' },
  linux: {
    cgroupParent: '/kubepods/burstable/pod1', sysctls: { 'net.ipv4.ip_forward': '1' },
    securityContext: { namespaceOptions: { network: api.NamespaceMode.POD, pid: api.NamespaceMode.CONTAINER, ipc: api.NamespaceMode.POD, targetId: '' }, privileged: false },
    overhead: resources, resources,
  },
};
const containerConfig = {
  metadata: { name: 'app', attempt: 0 }, image: { image: 'busybox:1.36' }, command: ['/bin/sh'], args: ['-c', 'sleep 1'], workingDir: '/',
  envs: [{ key: 'A', value: Buffer.from('B') }], mounts: [{ containerPath: '/data', hostPath: '/tmp/x', readonly: true, propagation: api.MountPropagation.PROPAGATION_PRIVATE }],
  devices: [{ containerPath: '/dev/fuse', hostPath: '/dev/fuse', permissions: 'rwm' }], labels: { a: 'b' }, annotations: { c: 'd' }, logPath: 'app/0.log',
  stdin: true, stdinOnce: true, tty: true, stopSignal: api.Signal.SIGNAL_SIGTERM,
  linux: {
    resources,
    securityContext: {
      capabilities: { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['ALL'], addAmbientCapabilities: [] },
      runAsUser: { value: 1000n }, runAsGroup: { value: 1000n }, supplementalGroups: [5n], readonlyRootfs: true, noNewPrivs: true,
      seccomp: { profileType: api.SecurityProfile_ProfileType.Localhost, localhostRef: '/var/lib/kubelet/seccomp/x.json' },
      apparmor: { profileType: api.SecurityProfile_ProfileType.RuntimeDefault, localhostRef: '' },
      seccompProfilePath: 'runtime/default', apparmorProfile: 'runtime/default', maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'],
      namespaceOptions: { pid: api.NamespaceMode.TARGET, targetId: 'abc' },
    },
  },
};

function rpc<T>(name: string, codec: api.MessageFns<T>, convert: (req: T) => unknown, sample: unknown): Rpc {
  return {
    name,
    decode: (b) => codec.decode(b),
    encode: (m) => codec.encode(m),
    convert: convert as (req: never) => unknown,
    sample: codec.fromPartial(sample as never),
  };
}

const RPCS: readonly Rpc[] = [
  rpc('CreateContainer', api.CreateContainerRequest, (r) => toCreateContainerInput(r.podSandboxId, r.config), { podSandboxId: 'p1', config: containerConfig, sandboxConfig: podConfig }),
  rpc('RunPodSandbox', api.RunPodSandboxRequest, (r) => toSandboxSpec(r.config, r.runtimeHandler), { config: podConfig, runtimeHandler: 'runc' }),
  rpc('ListContainers', api.ListContainersRequest, (r) => toContainerFilter(r.filter), { filter: { id: 'ab', state: { state: api.ContainerState.CONTAINER_RUNNING }, podSandboxId: 'p', labelSelector: { a: 'b' } } }),
  rpc('ListPodSandbox', api.ListPodSandboxRequest, (r) => toSandboxFilter(r.filter), { filter: { id: 'ab', state: { state: api.PodSandboxState.SANDBOX_READY }, labelSelector: { a: 'b' } } }),
  rpc('PullImage', api.PullImageRequest, (r) => [requireImageName(r.image), toPullAuth(r.auth)], { image: { image: 'busybox' }, auth: { username: 'u', password: 'p', serverAddress: 'r.example' }, sandboxConfig: podConfig }),
  rpc('ImageStatus', api.ImageStatusRequest, (r) => requireImageName(r.image), { image: { image: 'busybox' }, verbose: true }),
  rpc('RemoveImage', api.RemoveImageRequest, (r) => requireImageName(r.image), { image: { image: 'sha256:abc' } }),
  rpc('UpdateContainerResources', api.UpdateContainerResourcesRequest, (r) => [requireId(r.containerId, 'container_id'), toContainerResources(r.linux)], { containerId: 'c', linux: resources }),
  rpc('UpdatePodSandboxResources', api.UpdatePodSandboxResourcesRequest, (r) => [requireId(r.podSandboxId, 'pod_sandbox_id'), mergeResources(toPodResources(r.overhead), toPodResources(r.resources))], { podSandboxId: 'p', overhead: resources, resources }),
  rpc('StopContainer', api.StopContainerRequest, (r) => requireId(r.containerId, 'container_id'), { containerId: 'c', timeout: 10n }),
];

/** Protobuf wire records with field numbers the messages use, nested a few levels deep. */
const wire: fc.Arbitrary<Buffer> = fc.letrec<{ msg: Buffer }>((tie) => ({
  msg: fc
    .array(
      fc.oneof(
        { depthSize: 'small', maxDepth: 4 },
        fc.tuple(fc.integer({ min: 1, max: 20 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([f, v]) => Buffer.concat([varint(BigInt(f << 3)), varint(v)])),
        fc.tuple(fc.integer({ min: 1, max: 20 }), fc.string({ maxLength: 12 })).map(([f, s]) => lenField(f, Buffer.from(s))),
        fc.tuple(fc.integer({ min: 1, max: 20 }), tie('msg')).map(([f, m]) => lenField(f, m)),
      ),
      { maxLength: 8 },
    )
    .map((parts) => Buffer.concat(parts)),
})).msg;

function varint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

function lenField(field: number, body: Buffer): Buffer {
  return Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(body.length)), body]);
}

/** Input layout: which RPC (first byte), then the request bytes. */
const withRpc = (b: fc.Arbitrary<Buffer>) => fc.tuple(fc.nat({ max: RPCS.length - 1 }), b).map(([i, m]) => Buffer.concat([Buffer.from([i]), m]));

/** NaN or an infinity in a converted request would reach cgroup files and specs as text. */
function checkNumbers(v: unknown, path: string): void {
  if (typeof v === 'number' && !Number.isFinite(v)) violation(`${path} converted to ${v}`);
  if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkNumbers(x, `${path}.${k}`);
}

export const criTarget: FuzzTarget = {
  name: 'cri-convert',
  about: 'cri/convert/*: requests decoded from bytes with the generated codecs, then converted: core input, or InvalidArgument',
  smokeRuns: 500,
  inputs: async () => {
    const seeds = RPCS.map((r, i) => Buffer.concat([Buffer.from([i]), r.encode(r.sample as never).finish()]));
    return inputMix({ structured: withRpc(wire), seeds, maxLength: 64 * 1024 });
  },
  run: (input) => {
    const r = RPCS[(input[0] ?? 0) % RPCS.length]!;
    let req: unknown;
    try {
      req = r.decode(input.subarray(1));
    } catch {
      return; // not protobuf: the codec's refusal, answered by grpc-js before any handler runs
    }
    checkNumbers(r.convert(req as never), r.name);
  },
  accepts: skiffKinds('InvalidArgument'),
};
