// The kernel facts Skiff depends on, read once at start-up by skiff-hostinfo.
import type { OpContext } from '../core/context.js';
import type { HelperRunner } from './helper-exec.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

export interface HostInfo {
  readonly kernel: string;
  readonly machine: string;
  readonly cgroup: CgroupMode;
  readonly overlay: boolean;
  readonly pidfd: boolean;
}

export function isHostInfo(x: unknown): x is HostInfo {
  if (typeof x !== 'object' || x === null) return false;
  const h = x as Record<string, unknown>;
  return (
    typeof h.kernel === 'string' &&
    typeof h.machine === 'string' &&
    (h.cgroup === 'v1' || h.cgroup === 'v2' || h.cgroup === 'hybrid' || h.cgroup === 'none') &&
    typeof h.overlay === 'boolean' &&
    typeof h.pidfd === 'boolean'
  );
}

export function probeHost(ctx: OpContext, helpers: HelperRunner, cgroupRoot?: string): Promise<HostInfo> {
  return helpers.runJson(ctx, 'hostinfo', cgroupRoot ? ['--cgroup-root', cgroupRoot] : [], isHostInfo);
}
