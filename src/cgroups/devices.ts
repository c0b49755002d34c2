// The device cgroup: which device nodes a container may create (mknod) and open. The rules are
// OCI's (linux.resources.devices), in order, each overriding what came before, with cgroup v1's
// meaning. v1 has files for them (devices.deny, devices.allow: v1-driver.ts writes the rules
// there and the kernel keeps the state); v2 has no files, only an eBPF program attached to the
// cgroup, so devicePolicy() replays the rules the way the v1 kernel code would and
// device-filter.ts turns the resulting state into that program.
import { invalidArgument } from '../core/errors.js';

export interface DeviceRule {
  readonly allow: boolean;
  /** 'a' (or absent) is every device: it resets the state, as in v1. */
  readonly type?: 'a' | 'c' | 'b';
  /** Absent or negative: any major (OCI's -1, v1's "*"). */
  readonly major?: number;
  readonly minor?: number;
  /** Subset of "rwm"; absent or empty is "rwm". */
  readonly access?: string;
}

/** The kernel's BPF_DEVCG_ACC_* bits, which v1 uses as well (ACC_MKNOD, ACC_READ, ACC_WRITE). */
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
export const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;

/** "c 1:3 rwm" as devices.allow and devices.deny read it. */
export function ruleText(r: DeviceRule): string {
  const type = r.type ?? 'a';
  if (type === 'a') return 'a';
  const num = (n: number | undefined) => (n === undefined || n < 0 ? '*' : String(n));
  return `${type} ${num(r.major)}:${num(r.minor)} ${r.access || 'rwm'}`;
}

export function accessBits(access: string | undefined): number {
  if (access === undefined || access === '') return ACC_ALL;
  let bits = 0;
  for (const ch of access) {
    const bit = ch === 'r' ? ACC_READ : ch === 'w' ? ACC_WRITE : ch === 'm' ? ACC_MKNOD : 0;
    if (bit === 0) throw invalidArgument(`device access ${JSON.stringify(access)} is not a subset of "rwm"`);
    bits |= bit;
  }
  return bits;
}

/** One v1 exception: a device (or a range, with a wildcard number) and its access bits. */
export interface DeviceException {
  readonly type: 'c' | 'b';
  /** undefined: any. */
  readonly major: number | undefined;
  readonly minor: number | undefined;
  readonly access: number;
}

/**
 * A v1 device cgroup's state. defaultAllow false (v1 "deny all"): a request is allowed when one
 * exception matches its device and holds every access bit it asks for. defaultAllow true: a
 * request is refused when an exception matches its device and shares any access bit with it.
 */
export interface DevicePolicy {
  readonly defaultAllow: boolean;
  readonly exceptions: readonly DeviceException[];
}

function wildcard(n: number | undefined): number | undefined {
  if (n === undefined || n < 0) return undefined;
  // A jump compares with a sign-extended 32-bit immediate: keep numbers below 2^31 (the
  // kernel's majors have 12 bits, minors 20).
  if (!Number.isInteger(n) || n > 0x7fffffff) throw invalidArgument(`device number ${n} is out of range`);
  return n;
}

/**
 * Replays the rules on a fresh cgroup (which allows everything, as a v2 cgroup without a program
 * does) the way the v1 kernel does: an "a" rule sets the default and drops every exception; a
 * rule of the other action than the default adds an exception (merging access into one with the
 * same type and numbers); a rule of the same action takes its access away from the exception with
 * the same type and numbers. Like v1, a rule never punches a hole into a wider exception.
 */
export function devicePolicy(rules: readonly DeviceRule[]): DevicePolicy {
  let defaultAllow = true;
  let exceptions: DeviceException[] = [];
  for (const r of rules) {
    const type = r.type ?? 'a';
    if (type === 'a') {
      defaultAllow = r.allow;
      exceptions = [];
      continue;
    }
    const ex: DeviceException = { type, major: wildcard(r.major), minor: wildcard(r.minor), access: accessBits(r.access) };
    const same = (e: DeviceException) => e.type === ex.type && e.major === ex.major && e.minor === ex.minor;
    const at = exceptions.findIndex(same);
    if (r.allow !== defaultAllow) {
      if (at === -1) exceptions.push(ex);
      else exceptions[at] = { ...ex, access: (exceptions[at] as DeviceException).access | ex.access };
    } else if (at !== -1) {
      const left = (exceptions[at] as DeviceException).access & ~ex.access;
      if (left === 0) exceptions.splice(at, 1);
      else exceptions[at] = { ...ex, access: left };
    }
  }
  return { defaultAllow, exceptions };
}

/** What a device request is: the fields of the kernel's struct bpf_cgroup_dev_ctx. */
export interface DeviceRequest {
  readonly type: 'c' | 'b';
  readonly major: number;
  readonly minor: number;
  /** ACC_* bits: open(O_RDWR) asks for ACC_READ | ACC_WRITE at once. */
  readonly access: number;
}

/** The v1 kernel's decision for one request (devcgroup_legacy_check_permission). */
export function policyAllows(p: DevicePolicy, req: DeviceRequest): boolean {
  const device = (e: DeviceException) =>
    e.type === req.type && (e.major === undefined || e.major === req.major) && (e.minor === undefined || e.minor === req.minor);
  if (p.defaultAllow) return !p.exceptions.some((e) => device(e) && (e.access & req.access) !== 0);
  return p.exceptions.some((e) => device(e) && (req.access & ~e.access) === 0);
}
