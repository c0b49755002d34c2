// Size and inodes of the filesystem holding a directory (statfs), and its device as "major:minor",
// for the container_fs_* metrics of the writable layers. One statfs and one stat per call: cheap
// enough for every metrics request, unlike a walk of the layers (layer-usage.ts).
import { statfsSync, statSync } from 'node:fs';
import { toSkiffError } from '../core/errors.js';

export interface FsCapacity {
  /** The filesystem's device, "major:minor" like the block io metrics. */
  device: string;
  capacityBytes: bigint;
  inodesTotal: bigint;
  inodesFree: bigint;
}

/** glibc's gnu_dev_major/minor: the 64-bit dev_t keeps 12+20 major bits and 20+12 minor bits. */
export function devName(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export function fsCapacity(dir: string): FsCapacity {
  try {
    const st = statSync(dir, { bigint: true });
    const fs = statfsSync(dir, { bigint: true });
    return { device: devName(st.dev), capacityBytes: fs.blocks * fs.bsize, inodesTotal: fs.files, inodesFree: fs.ffree };
  } catch (e) {
    throw toSkiffError(e, `reading the filesystem size of ${dir}`);
  }
}
