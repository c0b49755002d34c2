// The sealed copies of the helper binaries the daemon runs (why: helper-exec.ts). Made once, when
// the daemon starts: a later rebuild or replacement of the files on disk reaches only the next
// daemon, and nothing a container does can reach the copies.
import { closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrno, toSkiffError, unavailable } from '../core/errors.js';
import { sealedCopy } from '../sys/memfd-calls.js';

/**
 * Above every fd number a spawn hands a child (3: an attach client or the sync pipe, 4: the
 * executor's image for skiff-monitor): posix_spawn's dup2s run before the exec of
 * /proc/self/fd/N, so N must not be one of them.
 */
const MIN_IMAGE_FD = 64;

/** name → fd of a sealed memfd holding `dir/skiff-<name>`. Unavailable when one is missing. */
export function sealHelpers(dir: string, names: readonly string[]): Map<string, number> {
  const images = new Map<string, number>();
  try {
    for (const name of names) {
      const path = join(dir, `skiff-${name}`);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch (e) {
        if (hasErrno(e, 'ENOENT')) throw unavailable(`helper ${path} is missing: run "npm run build"`, e);
        throw toSkiffError(e, `reading helper ${path}`);
      }
      images.set(name, sealedCopy(`skiff-${name}`, bytes, MIN_IMAGE_FD));
    }
  } catch (e) {
    for (const fd of images.values()) closeSync(fd);
    throw toSkiffError(e, 'sealing the helper binaries');
  }
  return images;
}
