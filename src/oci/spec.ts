// ContainerSpecInput → the OCI runtime spec (config.json of the bundle). Pure: everything the
// function needs from disk (the container's /etc/passwd and /etc/group) is in the input.
import { invalidArgument } from '../core/errors.js';
import { buildMounts } from './mounts.js';
import { buildNamespaces, ownsUts } from './namespaces.js';
import { processArgs, processEnv, workingDir } from './process.js';
import { buildResources, oomScoreAdj } from './resources.js';
import { buildCapabilities, buildDevices, pathRestrictions } from './security.js';
import { parseSignal, type SignalSpec } from './signals.js';
import { resolveUser } from './user.js';
import type { ContainerMeta, ContainerSpecInput, ImageProcessConfig, OciLinux, OciProcess, OciSpec } from './types.js';

export const OCI_VERSION = '1.1.0';
/** The bundle-relative rootfs every executor finds the container's root in. */
export const ROOTFS_DIR = 'rootfs';

/** The annotation keys containerd's CRI plugin puts on a container's spec. */
export const CRI_ANNOTATIONS = {
  containerType: 'io.kubernetes.cri.container-type',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  sandboxUid: 'io.kubernetes.cri.sandbox-uid',
  containerName: 'io.kubernetes.cri.container-name',
  imageName: 'io.kubernetes.cri.image-name',
} as const;

export function criAnnotations(meta: ContainerMeta): Record<string, string> {
  const a: Record<string, string> = {
    [CRI_ANNOTATIONS.containerType]: 'container',
    [CRI_ANNOTATIONS.sandboxId]: meta.sandboxId,
  };
  if (meta.sandboxName !== undefined) a[CRI_ANNOTATIONS.sandboxName] = meta.sandboxName;
  if (meta.sandboxNamespace !== undefined) a[CRI_ANNOTATIONS.sandboxNamespace] = meta.sandboxNamespace;
  if (meta.sandboxUid !== undefined) a[CRI_ANNOTATIONS.sandboxUid] = meta.sandboxUid;
  a[CRI_ANNOTATIONS.containerName] = meta.containerName;
  if (meta.imageName !== undefined) a[CRI_ANNOTATIONS.imageName] = meta.imageName;
  return a;
}

const SIGTERM: SignalSpec = { name: 'SIGTERM', number: 15 };

/**
 * The signal StopContainer sends first: the CRI stop_signal when set (not "" nor
 * SIGNAL_RUNTIME_DEFAULT), else the image's STOPSIGNAL, else SIGTERM. InvalidArgument for a name
 * or number that is no signal.
 */
export function stopSignal(input: { readonly stopSignal?: string; readonly image: Pick<ImageProcessConfig, 'stopSignal'> }): SignalSpec {
  const cri = input.stopSignal?.trim() ?? '';
  if (cri !== '' && cri.toUpperCase() !== 'SIGNAL_RUNTIME_DEFAULT') {
    try {
      return parseSignal(cri);
    } catch (e) {
      throw invalidArgument(`stop signal: ${(e as Error).message}`);
    }
  }
  const img = input.image.stopSignal.trim();
  if (img !== '') {
    try {
      return parseSignal(img);
    } catch (e) {
      throw invalidArgument(`the image's STOPSIGNAL: ${(e as Error).message}`);
    }
  }
  return SIGTERM;
}

export function buildSpec(input: ContainerSpecInput): OciSpec {
  const args = processArgs(input);
  const user = resolveUser(input, input.etcPasswd, input.etcGroup);
  const process: OciProcess = {
    terminal: input.tty,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    args,
    env: processEnv(input, user.home),
    cwd: workingDir(input),
    capabilities: buildCapabilities(input.capabilities, input.privileged, input.nodeCapabilities),
    noNewPrivileges: input.noNewPrivileges,
    // Always set: without it the container would inherit the daemon's own score (deploy/ gives
    // skiffd -999, so the OOM killer would spare the container as it spares the runtime).
    oomScoreAdj: oomScoreAdj(input.resources) ?? 0,
  };

  const { mounts, rootfsPropagation } = buildMounts(input);
  const { devices, rules } = buildDevices(input);
  if (!input.cgroupsPath) throw invalidArgument('the container has no cgroup path');
  const linux: OciLinux = {
    namespaces: buildNamespaces(input.namespaces),
    cgroupsPath: input.cgroupsPath,
    resources: { ...buildResources(input.resources), devices: rules },
    ...pathRestrictions(input),
  };
  if (rootfsPropagation !== undefined) linux.rootfsPropagation = rootfsPropagation;
  if (devices.length > 0) linux.devices = devices;

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process,
    root: { path: ROOTFS_DIR, readonly: input.readonlyRootfs },
    mounts,
    linux,
    annotations: criAnnotations(input.meta),
  };
  // runc refuses a hostname without a UTS namespace of the container's own; a container that
  // joins the pod's UTS namespace sees the hostname skiff-pinns set there.
  if (ownsUts(input.namespaces) && input.hostname !== '') spec.hostname = input.hostname;
  return spec;
}
