// Small pieces of the container service that need none of its state: resources for the cgroup,
// the record after an exit, namespace choices, reading the image's files, process liveness.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodResources } from '../../cgroups/types.js';
import type { Logger } from '../../log/logger.js';
import type { DeviceInput, ImageFile, NamespaceChoice, PidNamespaceChoice } from '../../oci/types.js';
import { readRootfsFile } from '../../storage/rootfs-file.js';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { ALL_CAPABILITIES } from '../../oci/security.js';
import type { ExitStatus } from '../../runtime/executor.js';
import type { NsMode, SandboxRecord } from '../sandbox/types.js';
import type { CriContainerPart } from './container-service.js';
import type { ContainerRecord } from './types.js';

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** The container's CRI resources, for its cgroup (the daemon owns cgroups; executors only join). */
export function cgroupResources(r: CriContainerPart['resources']): PodResources | undefined {
  if (!r) return undefined;
  const { oomScoreAdj: _applied, swapAccounting: _ignored, ...rest } = r;
  const out = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as PodResources;
  return Object.keys(out).length ? out : undefined;
}

export function exited(r: ContainerRecord, s: ExitStatus): ContainerRecord {
  const finished = Date.parse(s.finishedAt);
  return {
    ...r,
    state: 'exited',
    finishedAt: Number.isFinite(finished) ? BigInt(finished) * 1_000_000n : nowNs(),
    exitCode: s.exitCode,
    reason: s.oomKilled ? 'OOMKilled' : s.exitCode === 0 ? 'Completed' : 'Error',
    message: '',
  };
}

export function choice(path: string | undefined, mode: NsMode): NamespaceChoice {
  if (mode === 'node' || !path) return { mode: 'node' };
  return { mode: 'pod', path };
}

/** A file of the image (e.g. "etc/passwd"), read as untrusted data: see storage/rootfs-file.ts. */
export async function readImageFile(log: Logger, rootfs: string, rel: string): Promise<ImageFile> {
  const f = await readRootfsFile(rootfs, rel);
  if (f.state === 'read') return f.text;
  if (f.state === 'absent') return undefined;
  log.warn('an image file is unusable: it counts as missing unless a name must be looked up in it', { file: `/${rel}`, reason: f.reason });
  return { unusable: f.reason };
}

/** containerd creates a missing host path of a bind mount as a directory. */
export async function ensureHostPath(p: string): Promise<void> {
  if (!existsSync(p)) await mkdir(p, { recursive: true, mode: 0o755 });
}


let nodeCaps: readonly string[] | undefined;

/**
 * The capabilities this node can give a container: those in the daemon's own bounding set, as
 * containerd takes its process's (this VM's daemon lacks CAP_SYS_RESOURCE, and asking for it
 * fails the start). Read once: a process's bounding set only ever shrinks, and skiffd's does not.
 */
export function nodeCapabilities(): readonly string[] {
  if (nodeCaps) return nodeCaps;
  const mask = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
  nodeCaps = ALL_CAPABILITIES.filter((_c, i) => (mask >> BigInt(i)) & 1n);
  return nodeCaps;
}

/** A CRI device, looked up on the host: its type and numbers go into the spec. */
export function hostDevice(d: { containerPath: string; hostPath: string; permissions: string }): DeviceInput {
  let st;
  try {
    st = statSync(d.hostPath);
  } catch (e) {
    throw notFound(`device ${d.hostPath} does not exist on this node`, e);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw invalidArgument(`${d.hostPath} is not a device node`);
  const rdev = st.rdev;
  return {
    containerPath: d.containerPath || d.hostPath,
    type: st.isCharacterDevice() ? 'c' : 'b',
    major: ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff),
    minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    ...(d.permissions ? { permissions: d.permissions } : {}),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

/** Host /dev entries a privileged container does not get: they are per-container mounts. */
const NOT_HOST_DEVICES = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/console']);

/** Every device node of the host, for a privileged container (as containerd's WithHostDevices). */
export function hostDevices(dir = '/dev'): DeviceInput[] {
  const out: DeviceInput[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (NOT_HOST_DEVICES.has(p)) continue;
    if (entry.isDirectory()) out.push(...hostDevices(p));
    else if (entry.isCharacterDevice() || entry.isBlockDevice()) out.push(hostDevice({ containerPath: p, hostPath: p, permissions: 'rwm' }));
  }
  return out;
}

/** The container's PID namespace: the pod's, the node's, a target container's, or its own. */
export function pidChoice(
  pod: SandboxRecord,
  input: { readonly pidMode: NsMode; readonly targetId: string },
  target: (id: string) => ContainerRecord,
): PidNamespaceChoice {
  switch (input.pidMode) {
    case 'pod':
      if (!pod.ns.pid) throw failedPrecondition(`pod ${pod.id} does not share a PID namespace`);
      return { mode: 'pod', path: pod.ns.pid };
    case 'node':
      return { mode: 'node' };
    case 'target': {
      const t = target(input.targetId);
      if (t.state !== 'running' || !t.pid) throw failedPrecondition(`target container ${t.id} is not running`);
      return { mode: 'target', path: `/proc/${t.pid}/ns/pid` };
    }
    default:
      return { mode: 'container' };
  }
}
