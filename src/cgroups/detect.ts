// Which cgroup layout a machine has, from the files under the mount point alone (so a fake tree
// in a temp dir answers the same way): cgroup.controllers at the top is a cgroup2 mount; one
// directory per v1 controller is v1; v1 plus a cgroup2 mount at <root>/unified is hybrid, where
// the controllers (and so resource control) still live in v1.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../core/errors.js';
import type { CgroupMode } from './types.js';
import { V1_CONTROLLERS } from './v1-driver.js';

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

export function detectCgroupMode(root = DEFAULT_CGROUP_ROOT): CgroupMode {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  // memory first: it is the controller every v1 setup that runs pods mounts.
  if (['memory', ...V1_CONTROLLERS].some((c) => existsSync(join(root, c)))) {
    return existsSync(join(root, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'v1';
  }
  throw failedPrecondition(
    `no cgroup file system at ${root}: neither cgroup.controllers (v2) nor controller directories (v1)`,
  );
}
