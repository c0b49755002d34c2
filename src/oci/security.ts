// Capabilities, devices and masked/read-only paths, as containerd's CRI plugin sets them:
// the default set of 14 capabilities with CRI add/drop ("ALL" first, then the names); a privileged
// container gets every capability, every device allowed and no masked or read-only paths. "Every
// capability" is what the node has (skiffd's own bounding set, as containerd takes its own
// process's): a node without CAP_SYS_RESOURCE cannot give it, and asking for it would fail the start.
import { posix } from 'node:path';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import type { CapabilitiesInput, ContainerSpecInput, OciCapabilities, OciDevice, OciDeviceRule } from './types.js';

/** Every capability up to CAP_CHECKPOINT_RESTORE (Linux 5.9), in number order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

/** containerd's (and Docker's) default set, in containerd's order. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const KNOWN = new Set(ALL_CAPABILITIES);

/** "net_admin" / "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; InvalidArgument for unknown names. */
export function capabilityName(c: string): string {
  const u = c.trim().toUpperCase();
  const name = u.startsWith('CAP_') ? u : `CAP_${u}`;
  if (!KNOWN.has(name)) throw invalidArgument(`unknown capability ${JSON.stringify(c)}`);
  return name;
}

const isAll = (c: string) => c.trim().toUpperCase() === 'ALL';

export function buildCapabilities(
  caps: CapabilitiesInput | undefined,
  privileged: boolean,
  node: readonly string[] = ALL_CAPABILITIES,
): OciCapabilities {
  const onNode = (c: string) => node.includes(c);
  const nodeOrder = ALL_CAPABILITIES.filter(onNode);
  const given = (field: string, list: readonly string[] | undefined) =>
    (list ?? []).filter((c) => !isAll(c)).map((c) => {
      const n = capabilityName(c);
      if (!onNode(n)) throw failedPrecondition(`capabilities.${field}: ${n} is not in this node's bounding set, so no container here can have it`);
      return n;
    });
  let set: string[];
  if (privileged) {
    set = nodeOrder;
  } else {
    // The defaults the node has (all of them on any ordinary node).
    set = DEFAULT_CAPABILITIES.filter(onNode);
    const drop = caps?.drop ?? [];
    if (caps?.add?.some(isAll)) set = [...nodeOrder];
    if (drop.some(isAll)) set = [];
    for (const n of given('add_capabilities', caps?.add)) if (!set.includes(n)) set.push(n);
    const dropped = new Set(drop.filter((c) => !isAll(c)).map(capabilityName));
    set = set.filter((c) => !dropped.has(c));
  }
  const out: OciCapabilities = { bounding: [...set], effective: [...set], permitted: [...set] };
  const ambient = given('add_ambient_capabilities', caps?.addAmbient);
  if (ambient.length > 0) {
    // An ambient capability must also be permitted and inheritable, or the kernel refuses it.
    for (const c of ambient) {
      for (const list of [out.bounding, out.effective, out.permitted]) if (!list.includes(c)) list.push(c);
    }
    out.inheritable = [...ambient];
    out.ambient = [...ambient];
  }
  return out;
}

export interface DevicesResult {
  readonly devices: OciDevice[];
  readonly rules: OciDeviceRule[];
}

/** Device nodes to create and the device cgroup rules: deny all, then allow each given device. */
/** What every container may use (runc's list): mknod of anything, the standard nodes, ptys. */
export const DEFAULT_DEVICE_RULES: readonly OciDeviceRule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...[3, 5, 7, 8, 9].map((minor): OciDeviceRule => ({ allow: true, type: 'c', major: 1, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

export function buildDevices(input: Pick<ContainerSpecInput, 'devices' | 'privileged'>): DevicesResult {
  const devices: OciDevice[] = [];
  const rules: OciDeviceRule[] = input.privileged
    ? [{ allow: true, access: 'rwm' }]
    : [{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES];
  for (const d of input.devices ?? []) {
    if (!d.containerPath.startsWith('/') || d.containerPath.split('/').includes('..')) {
      throw invalidArgument(`device path ${JSON.stringify(d.containerPath)} must be absolute without ".."`);
    }
    const access = d.permissions === undefined || d.permissions === '' ? 'rwm' : d.permissions;
    if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
      throw invalidArgument(`device ${d.containerPath}: permissions ${JSON.stringify(d.permissions)} are not a subset of "rwm"`);
    }
    devices.push({
      path: posix.normalize(d.containerPath),
      type: d.type,
      major: d.major,
      minor: d.minor,
      ...(d.fileMode !== undefined ? { fileMode: d.fileMode } : {}),
      ...(d.uid !== undefined ? { uid: d.uid } : {}),
      ...(d.gid !== undefined ? { gid: d.gid } : {}),
    });
    if (!input.privileged) rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
  }
  return { devices, rules };
}

/** Masked and read-only paths, or none for a privileged container. */
/** containerd's defaults, used when the CRI request names none (kubelet names them itself). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function pathRestrictions(
  input: Pick<ContainerSpecInput, 'maskedPaths' | 'readonlyPaths' | 'privileged'>,
): { maskedPaths?: string[]; readonlyPaths?: string[] } {
  if (input.privileged) return {};
  const check = (p: string) => {
    if (!p.startsWith('/')) throw invalidArgument(`masked or read-only path ${JSON.stringify(p)} is not absolute`);
    return p;
  };
  const masked = input.maskedPaths?.length ? input.maskedPaths : DEFAULT_MASKED_PATHS;
  const readonly = input.readonlyPaths?.length ? input.readonlyPaths : DEFAULT_READONLY_PATHS;
  return { maskedPaths: masked.map(check), readonlyPaths: readonly.map(check) };
}
