// The device cgroup: which device nodes a container may create and open. cgroup v1 has files for
// it (devices.deny, devices.allow); v2 needs an eBPF program attached to the cgroup, which Skiff
// does not build yet, so there the caller is told nothing was applied.
import type { OpContext } from '../core/context.js';
import { writeControl } from './cgroup-fs.js';
import type { CgroupDriver } from './types.js';

export interface DeviceRule {
  readonly allow: boolean;
  readonly type?: 'a' | 'c' | 'b';
  readonly major?: number;
  readonly minor?: number;
  readonly access?: string;
}

/** "c 1:3 rwm" as devices.allow and devices.deny read it. */
export function ruleText(r: DeviceRule): string {
  const type = r.type ?? 'a';
  if (type === 'a') return 'a';
  return `${type} ${r.major ?? '*'}:${r.minor ?? '*'} ${r.access ?? 'rwm'}`;
}

/** Applies the rules in order; returns false on cgroup v2, where nothing was applied. */
export function applyDeviceRules(ctx: OpContext, driver: CgroupDriver, path: string, rules: readonly DeviceRule[]): boolean {
  if (driver.version !== 1) return false;
  const dir = driver.dirs(path).find((d) => d.includes('/devices/'));
  if (!dir) return false;
  for (const r of rules) writeControl(dir, r.allow ? 'devices.allow' : 'devices.deny', ruleText(r));
  ctx.log.debug('device rules applied', { cgroup: path, rules: rules.length });
  return true;
}
