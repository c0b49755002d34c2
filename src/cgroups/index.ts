// The cgroups module's surface: detect the layout, make the driver for it.
import type { CgroupDriver, CgroupMode } from './types.js';
import { DEFAULT_CGROUP_ROOT, detectCgroupMode } from './detect.js';
import { CgroupV1Driver } from './v1-driver.js';
import { CgroupV2Driver } from './v2-driver.js';

export type { CgroupDriver, CgroupMode, KillOptions, PidsOptions, PodResources, RemoveOptions } from './types.js';
export { DEFAULT_CGROUP_ROOT, detectCgroupMode } from './detect.js';
export { CgroupV1Driver, V1_CONTROLLERS, type CgroupV1Options } from './v1-driver.js';
export { CgroupV2Driver, V2_CONTROLLERS, type CgroupV2Options } from './v2-driver.js';
export {
  SKIFF_CGROUP_PARENT,
  checkCgroupPath,
  childCgroupPath,
  expandSlice,
  podCgroupOwned,
  podCgroupPath,
  resolveCgroupParent,
} from './cgroup-path.js';
export { sharesToWeight } from './resources.js';

export interface CgroupDriverOptions {
  /** Default /sys/fs/cgroup. */
  readonly root?: string;
  /** Skips detection; hybrid gets the v1 driver. */
  readonly mode?: CgroupMode;
}

/** The driver for the machine's layout: v2 for a cgroup2 mount, v1 for v1 and hybrid. */
export function createCgroupDriver(opts: CgroupDriverOptions = {}): CgroupDriver {
  const root = opts.root ?? DEFAULT_CGROUP_ROOT;
  const mode = opts.mode ?? detectCgroupMode(root);
  return mode === 'v2' ? new CgroupV2Driver({ root }) : new CgroupV1Driver({ root });
}
