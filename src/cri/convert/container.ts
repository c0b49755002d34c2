// Containers between the CRI's messages and the core's input and records.
import {
  ContainerState,
  MountPropagation,
  Signal,
  type Container,
  type ContainerConfig,
  type ContainerFilter as CriContainerFilter,
  type ContainerStatus,
  type LinuxContainerResources,
  type Mount,
  type SecurityProfile,
  SecurityProfile_ProfileType,
} from '../../generated/runtime/v1/api.js';
import { parseAppArmorString, type AppArmorRequest } from '../../core/container/apparmor.js';
import { parseSeccompString, type SeccompRequest } from '../../core/container/seccomp.js';
import { invalidArgument } from '../../core/errors.js';
import type { ContainerFilter, CreateContainerInput } from '../../core/container/container-service.js';
import type { ContainerRecord } from '../../core/container/types.js';
import { toNamespaceModes, toPodResources } from './sandbox.js';
import { toImageSpec } from './image.js';

const PROPAGATION: Record<number, 'private' | 'rslave' | 'rshared'> = {
  [MountPropagation.PROPAGATION_PRIVATE]: 'private',
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'rslave',
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'rshared',
};
const PROPAGATION_ENUM = {
  private: MountPropagation.PROPAGATION_PRIVATE,
  rslave: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
  rshared: MountPropagation.PROPAGATION_BIDIRECTIONAL,
} as const;

/**
 * The container's share of the pod's conversion, plus what only a process has: oom_score_adj.
 * proto3 cannot tell 0 from unset, so, as containerd does, a resources message sets it, 0 too:
 * kubelet means 0, and the container must not inherit the daemon's own value instead.
 */
export function toContainerResources(r: LinuxContainerResources | undefined) {
  if (!r) return undefined;
  return { ...toPodResources(r), oomScoreAdj: Number(r.oomScoreAdj) };
}

/** CRI Signal enum → "SIGTERM"; RUNTIME_DEFAULT → undefined (the image's or SIGTERM). */
function signalName(s: Signal): string | undefined {
  if (s === Signal.SIGNAL_RUNTIME_DEFAULT || s === Signal.UNRECOGNIZED) return undefined;
  return Signal[s]?.replace(/^SIGNAL_/, '');
}

/** The structured field wins over the deprecated string, as in kubelet. */
function toAppArmor(p: SecurityProfile | undefined, legacy: string): AppArmorRequest | undefined {
  if (p) {
    if (p.profileType === SecurityProfile_ProfileType.Unconfined) return { type: 'unconfined' };
    if (p.profileType === SecurityProfile_ProfileType.Localhost) {
      if (!p.localhostRef) throw invalidArgument('apparmor: a Localhost profile needs localhost_ref');
      return { type: 'localhost', name: p.localhostRef };
    }
    if (p.profileType === SecurityProfile_ProfileType.RuntimeDefault) return { type: 'runtime-default' };
    throw invalidArgument(`apparmor: unknown profile type ${p.profileType}`);
  }
  return parseAppArmorString(legacy);
}

/** The structured field wins over the deprecated string, as in kubelet. */
function toSeccomp(p: SecurityProfile | undefined, legacy: string): SeccompRequest | undefined {
  if (p) {
    if (p.profileType === SecurityProfile_ProfileType.Unconfined) return { type: 'unconfined' };
    if (p.profileType === SecurityProfile_ProfileType.Localhost) {
      if (!p.localhostRef) throw invalidArgument('seccomp: a Localhost profile needs localhost_ref');
      return { type: 'localhost', path: p.localhostRef };
    }
    if (p.profileType === SecurityProfile_ProfileType.RuntimeDefault) return { type: 'runtime-default' };
    throw invalidArgument(`seccomp: unknown profile type ${p.profileType}`);
  }
  return parseSeccompString(legacy);
}

export function toCreateContainerInput(sandboxId: string, config: ContainerConfig | undefined): CreateContainerInput {
  if (!sandboxId) throw invalidArgument('pod_sandbox_id is empty');
  if (!config?.metadata) throw invalidArgument('config.metadata is missing');
  const image = config.image?.image ?? '';
  if (!image) throw invalidArgument('config.image.image is empty');
  const sc = config.linux?.securityContext;
  const ns = toNamespaceModes(sc?.namespaceOptions);
  const stop = signalName(config.stopSignal);
  return {
    sandboxId,
    name: config.metadata.name,
    attempt: config.metadata.attempt,
    image,
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    logPath: config.logPath,
    stdin: config.stdin,
    stdinOnce: config.stdinOnce,
    devices: config.devices.map((d) => ({ containerPath: d.containerPath, hostPath: d.hostPath, permissions: d.permissions })),
    pidMode: ns.pid,
    targetId: ns.targetId,
    ...(() => {
      const a = toAppArmor(sc?.apparmor, sc?.apparmorProfile ?? '');
      return a ? { apparmor: a } : {};
    })(),
    ...(() => {
      const sp = toSeccomp(sc?.seccomp, sc?.seccompProfilePath ?? '');
      return sp ? { seccomp: sp } : {};
    })(),
    cri: {
      command: config.command,
      args: config.args,
      // KeyValue.value is bytes on the wire (newer cri-api); environment values are text.
      env: config.envs.map((e) => [e.key, Buffer.from(e.value).toString('utf8')] as const),
      workingDir: config.workingDir,
      tty: config.tty,
      ...(sc?.runAsUser ? { runAsUser: Number(sc.runAsUser.value) } : {}),
      ...(sc?.runAsGroup ? { runAsGroup: Number(sc.runAsGroup.value) } : {}),
      ...(sc?.runAsUsername ? { runAsUsername: sc.runAsUsername } : {}),
      supplementalGroups: (sc?.supplementalGroups ?? []).map(Number),
      privileged: sc?.privileged ?? false,
      readonlyRootfs: sc?.readonlyRootfs ?? false,
      noNewPrivileges: sc?.noNewPrivs ?? false,
      ...(sc?.capabilities
        ? { capabilities: { add: sc.capabilities.addCapabilities, drop: sc.capabilities.dropCapabilities, addAmbient: sc.capabilities.addAmbientCapabilities } }
        : {}),
      ...(sc?.maskedPaths.length ? { maskedPaths: sc.maskedPaths } : {}),
      ...(sc?.readonlyPaths.length ? { readonlyPaths: sc.readonlyPaths } : {}),
      mounts: config.mounts.map((m, i) => {
        const propagation = PROPAGATION[m.propagation];
        if (!propagation) throw invalidArgument(`mounts[${i}]: unknown propagation ${m.propagation}`);
        if (m.image) throw invalidArgument(`mounts[${i}]: image volumes are not supported by skiff yet`);
        return { containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly, propagation };
      }),
      ...(config.linux?.resources ? { resources: toContainerResources(config.linux.resources) } : {}),
      ...(stop ? { stopSignal: stop } : {}),
    },
  };
}

const STATE = { created: ContainerState.CONTAINER_CREATED, running: ContainerState.CONTAINER_RUNNING, exited: ContainerState.CONTAINER_EXITED } as const;


export function toContainer(r: ContainerRecord): Container {
  return {
    id: r.id,
    podSandboxId: r.sandboxId,
    metadata: { name: r.name, attempt: r.attempt },
    image: toImageSpec(r.image),
    imageRef: r.imageRef,
    state: STATE[r.state],
    createdAt: r.createdAt,
    labels: { ...r.labels },
    annotations: { ...r.annotations },
    imageId: r.imageId,
  };
}

function toMount(m: ContainerRecord['mounts'][number]): Mount {
  return {
    containerPath: m.containerPath,
    hostPath: m.hostPath,
    readonly: m.readonly,
    selinuxRelabel: false,
    propagation: PROPAGATION_ENUM[m.propagation],
    uidMappings: [],
    gidMappings: [],
    recursiveReadOnly: false,
    image: undefined,
    imageSubPath: '',
    mountOptions: [],
  };
}

export function toContainerStatus(r: ContainerRecord): ContainerStatus {
  const stopEnum = (Signal as unknown as Record<string, number>)[r.stopSignalKey];
  return {
    id: r.id,
    metadata: { name: r.name, attempt: r.attempt },
    state: STATE[r.state],
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    exitCode: r.exitCode,
    image: toImageSpec(r.image),
    imageRef: r.imageRef,
    reason: r.reason,
    message: r.message,
    labels: { ...r.labels },
    annotations: { ...r.annotations },
    mounts: r.mounts.map(toMount),
    logPath: r.logPath,
    resources: undefined,
    imageId: r.imageId,
    user: { linux: { uid: BigInt(r.user.uid), gid: BigInt(r.user.gid), supplementalGroups: r.user.groups.map(BigInt) } },
    stopSignal: stopEnum ?? Signal.SIGNAL_RUNTIME_DEFAULT,
  };
}

export function toContainerFilter(f: CriContainerFilter | undefined): ContainerFilter {
  if (!f) return {};
  const states = { [ContainerState.CONTAINER_CREATED]: 'created', [ContainerState.CONTAINER_RUNNING]: 'running', [ContainerState.CONTAINER_EXITED]: 'exited' } as const;
  const state = f.state ? states[f.state.state as keyof typeof states] : undefined;
  return {
    ...(f.id ? { idPrefix: f.id } : {}),
    ...(f.podSandboxId ? { sandboxId: f.podSandboxId } : {}),
    ...(state ? { state } : {}),
    ...(Object.keys(f.labelSelector).length ? { labels: f.labelSelector } : {}),
  };
}
