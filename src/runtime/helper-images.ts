// The helper binaries the daemon runs (why: helper-exec.ts). Their bytes are read once, when the
// daemon starts: a later rebuild or replacement of the files on disk reaches only the next
// daemon. Every start of a helper gets a sealed in-memory copy of its own, closed once the
// helper has started: a container that gets hold of one (through /proc/<pid>/exe of a helper it
// sees) holds a file nothing else will ever run. One copy shared by every start would let it
// keep that copy open for writing (the seals refuse writes, not the open), and the kernel then
// executes the file for nobody (ETXTBSY): no start or exec on the node would work any more.
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

export class HelperImages {
  private constructor(private readonly bytes: ReadonlyMap<string, Buffer>) {}

  /**
   * Reads `dir/skiff-<name>` for each name. Unavailable when one is missing; refused when this
   * host cannot run a sealed copy (sealedCopy names the reason), so the daemon stops at start-up
   * rather than at its first pod.
   */
  static load(dir: string, names: readonly string[]): HelperImages {
    const bytes = new Map<string, Buffer>();
    for (const name of names) {
      const path = join(dir, `skiff-${name}`);
      try {
        bytes.set(name, readFileSync(path));
      } catch (e) {
        if (hasErrno(e, 'ENOENT')) throw unavailable(`helper ${path} is missing: run "npm run build"`, e);
        throw toSkiffError(e, `reading helper ${path}`);
      }
    }
    // An empty copy proves the host lets us make and run sealed executable memfds at all.
    try {
      closeSync(sealedCopy('skiff-probe', Buffer.alloc(0), MIN_IMAGE_FD));
    } catch (e) {
      throw toSkiffError(e, 'sealing the helper binaries');
    }
    return new HelperImages(bytes);
  }

  has(name: string): boolean {
    return this.bytes.has(name);
  }

  /** A new sealed, read-only (0555) memfd of `skiff-<name>`, close-on-exec: the caller closes it. */
  copy(name: string): number {
    const bytes = this.bytes.get(name);
    if (!bytes) throw new Error(`helper skiff-${name} was not loaded`);
    try {
      return sealedCopy(`skiff-${name}`, bytes, MIN_IMAGE_FD);
    } catch (e) {
      throw toSkiffError(e, `copying helper skiff-${name}`);
    }
  }
}
