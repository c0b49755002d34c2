// Moves a process into a cgroup (every hierarchy of it on v1).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toSkiffError } from '../core/errors.js';
import type { CgroupDriver } from './types.js';

export function addProcess(driver: CgroupDriver, path: string, pid: number): void {
  for (const dir of driver.dirs(path)) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
    } catch (e) {
      throw toSkiffError(e, `moving pid ${pid} into ${dir}`);
    }
  }
}
