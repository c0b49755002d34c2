// Which pod sysctls Skiff accepts: only those the kernel keeps per namespace, so a pod can never
// change the host. Checked before anything for the pod is created; skiff-pinns checks again.
import { invalidArgument } from '../core/errors.js';

export type SysctlNamespace = 'net' | 'ipc';

/** Components: letters, digits and _-@+: (a '/' inside a dotted name stands for a literal dot). */
const COMPONENT = /^[A-Za-z0-9_@+:-]+$/;

/**
 * Kubernetes' normal form: dots between components. A key whose first separator is '/' is a path
 * ("net/ipv4/conf/eth0.100/rp_filter"); its dots and slashes swap ("net.ipv4.conf.eth0/100.rp_filter").
 */
export function normalizeSysctlName(key: string): string {
  const m = /[./]/.exec(key);
  if (!m || m[0] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** The namespace a normalised sysctl name belongs to, or undefined when the kernel shares it host-wide. */
export function sysctlNamespace(name: string): SysctlNamespace | undefined {
  if (name.startsWith('net.')) return 'net';
  if (name.startsWith('kernel.shm') || name.startsWith('kernel.msg') || name === 'kernel.sem') return 'ipc';
  if (name.startsWith('fs.mqueue.')) return 'ipc';
  return undefined;
}

function validName(name: string): boolean {
  // Components split on '.', and each '/'-separated part of one is a path component in /proc/sys.
  return name.split('.').every((c) => c.split('/').every((part) => COMPONENT.test(part)));
}

/**
 * Throws InvalidArgument naming the first key that is not a namespaced sysctl, is not allowed with
 * the pod's host namespaces, is given twice (after normalising), or has a value with a newline.
 */
export function validatePodSysctls(
  sysctls: Readonly<Record<string, string>>,
  opts: { readonly hostNetwork: boolean; readonly hostIpc: boolean },
): void {
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(sysctls)) {
    const name = normalizeSysctlName(key);
    if (!validName(name)) throw invalidArgument(`sysctl ${JSON.stringify(key)}: not a valid sysctl name`);
    const ns = sysctlNamespace(name);
    if (ns === undefined) {
      throw invalidArgument(
        `sysctl ${key}: not a namespaced sysctl (allowed: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)`,
      );
    }
    if (ns === 'net' && opts.hostNetwork) throw invalidArgument(`sysctl ${key}: not allowed with host network`);
    if (ns === 'ipc' && opts.hostIpc) throw invalidArgument(`sysctl ${key}: not allowed with host IPC`);
    if (seen.has(name)) throw invalidArgument(`sysctl ${key}: given twice`);
    seen.add(name);
    if (value === '' || /[\n\r\0]/.test(value)) {
      throw invalidArgument(`sysctl ${key}: the value must be non-empty and on one line`);
    }
  }
}
