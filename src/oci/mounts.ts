// The container's mounts, in the order an executor performs them (containerd's WithMounts):
// 1. the defaults: /proc, /dev, /dev/pts, /dev/mqueue, /sys (ro), /sys/fs/cgroup (ro), minus any a
//    CRI mount replaces (a CRI /dev also drops every default below /dev);
// 2. the CRI mounts followed by the pod's files (/etc/hostname, /etc/hosts, /etc/resolv.conf and
//    /dev/shm) that no CRI mount replaces, stably sorted by path depth so a parent is mounted
//    before what lies under it. Each is an rbind with ro|rw and rprivate|rslave|rshared.
// No CRI mount goes at or under /proc but onto the few files runc allows (checkProcDestination).
import { posix } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import type { ContainerSpecInput, MountInput, OciMount, Propagation } from './types.js';

export const DEFAULT_MOUNTS: readonly Readonly<OciMount>[] = [
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  {
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
];

/** Cleans and checks a container path: absolute, no ".." component, not "/" itself. */
export function cleanContainerPath(p: string): string {
  if (!p.startsWith('/')) throw invalidArgument(`mount path ${JSON.stringify(p)} is not absolute`);
  if (p.includes('\0')) throw invalidArgument('mount path contains a NUL byte');
  if (p.split('/').includes('..')) throw invalidArgument(`mount path ${JSON.stringify(p)} contains ".."`);
  let c = posix.normalize(p);
  if (c.length > 1 && c.endsWith('/')) c = c.slice(0, -1);
  if (c === '/') throw invalidArgument('a mount over the container\'s / is not allowed');
  return c;
}

/**
 * The files under /proc that runc lets a mount cover (what lxcfs provides), as exact paths; the
 * same list as skiff-init's (native-helpers/init/proc-dest.c). Not runc's /proc/net/dev: /proc/net
 * is a symlink into /proc/self, so at the start that destination resolves to
 * /proc/<pid>/net/dev, which skiff-init refuses; refusing it here says so at CreateContainer.
 */
export const PROC_MOUNT_EXCEPTIONS: readonly string[] = [
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
];

/**
 * runc's checkProcMount for a bind: InvalidArgument when `resolved` (a clean container path: the
 * destination, or where the image's symlinks send it) is /proc or inside it, unless it is one of
 * PROC_MOUNT_EXCEPTIONS. A bind over /proc/sys or /proc/self/attr would undo the read-only and
 * masked paths; one over /proc itself would replace the container's own proc.
 */
export function checkProcDestination(resolved: string, mount: string): void {
  const where = resolved === mount ? '' : ` (it resolves to ${resolved} in the image)`;
  if (resolved === '/proc') throw invalidArgument(`mount ${mount}${where}: a mount over /proc is refused; the container has its own proc`);
  if (resolved.startsWith('/proc/') && !PROC_MOUNT_EXCEPTIONS.includes(resolved)) {
    throw invalidArgument(`mount ${mount}${where}: a mount inside /proc is refused; only ${PROC_MOUNT_EXCEPTIONS.join(', ')} may be mounted over`);
  }
}

function checkHostPath(m: MountInput): void {
  if (!m.hostPath.startsWith('/')) {
    throw invalidArgument(`host path ${JSON.stringify(m.hostPath)} of mount ${m.containerPath} is not absolute`);
  }
  if (m.hostPath.includes('\0')) throw invalidArgument('host path contains a NUL byte');
}

/** Number of path elements: what containerd's orderedMounts sorts by. */
function depth(cleanPath: string): number {
  return cleanPath.split('/').length;
}

const PROPAGATION: Readonly<Record<Propagation, string>> = {
  private: 'rprivate',
  rslave: 'rslave',
  rshared: 'rshared',
};

export interface MountsResult {
  readonly mounts: OciMount[];
  /** 'rshared' when any bind is rshared, else 'rslave' when any is rslave. */
  readonly rootfsPropagation?: 'rslave' | 'rshared';
}

type MountsInput = Pick<ContainerSpecInput, 'mounts' | 'podFilesDir' | 'shmPath' | 'readonlyRootfs' | 'privileged'>;

/** The pod's files every container gets unless a CRI mount takes the path (containerd's order). */
function podMounts(input: MountsInput): MountInput[] {
  const ro = input.readonlyRootfs;
  return [
    { containerPath: '/etc/hostname', hostPath: posix.join(input.podFilesDir, 'hostname'), readonly: ro },
    { containerPath: '/etc/hosts', hostPath: posix.join(input.podFilesDir, 'hosts'), readonly: ro },
    { containerPath: '/etc/resolv.conf', hostPath: posix.join(input.podFilesDir, 'resolv.conf'), readonly: ro },
    { containerPath: '/dev/shm', hostPath: input.shmPath, readonly: false },
  ];
}

export function buildMounts(input: MountsInput): MountsResult {
  const cri = input.mounts.map((m) => {
    const destination = cleanContainerPath(m.containerPath);
    checkProcDestination(destination, destination);
    checkHostPath(m);
    if (m.propagation !== undefined && !(m.propagation in PROPAGATION)) {
      throw invalidArgument(`unknown mount propagation ${JSON.stringify(m.propagation)} for ${m.containerPath}`);
    }
    return { ...m, destination };
  });
  const seen = new Set<string>();
  for (const m of cri) {
    if (seen.has(m.destination)) throw invalidArgument(`duplicate mount path ${m.destination}`);
    seen.add(m.destination);
  }
  const binds = [
    ...cri,
    ...podMounts(input)
      .map((m) => ({ ...m, destination: m.containerPath }))
      .filter((m) => !seen.has(m.destination)),
  ];
  // Array.prototype.sort is stable.
  binds.sort((a, b) => depth(a.destination) - depth(b.destination));

  const mounts: OciMount[] = [];
  for (const d of DEFAULT_MOUNTS) {
    if (seen.has(d.destination)) continue;
    if (seen.has('/dev') && d.destination.startsWith('/dev/')) continue;
    let options = [...d.options];
    // A privileged container gets /sys and /sys/fs/cgroup writable (containerd does the same).
    if (input.privileged && (d.type === 'sysfs' || d.type === 'cgroup')) options = options.map((o) => (o === 'ro' ? 'rw' : o));
    mounts.push({ destination: d.destination, type: d.type, source: d.source, options });
  }

  let rootfsPropagation: 'rslave' | 'rshared' | undefined;
  for (const b of binds) {
    const propagation = b.propagation ?? 'private';
    if (propagation === 'rshared') rootfsPropagation = 'rshared';
    else if (propagation === 'rslave' && rootfsPropagation === undefined) rootfsPropagation = 'rslave';
    mounts.push({
      destination: b.destination,
      type: 'bind',
      source: b.hostPath,
      options: ['rbind', PROPAGATION[propagation], b.readonly ? 'ro' : 'rw'],
    });
  }
  return rootfsPropagation === undefined ? { mounts } : { mounts, rootfsPropagation };
}
