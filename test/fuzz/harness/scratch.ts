// Where targets that need files (a layer to unpack into, an archive to import) put them: one
// directory per fuzz run, made by whoever starts the run and removed by it afterwards, so that a
// worker ended in the middle of an input (a hang) leaves nothing behind either.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string | undefined;

/** A fresh run directory: on tmpfs when there is one (the import target fsyncs every blob). */
export function makeScratch(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, 'skiff-fuzz-'));
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function useScratch(dir: string): void {
  root = dir;
}

/** The run directory; made on first use when nobody handed one in (a replay), removed at exit. */
export function scratch(): string {
  if (root === undefined) {
    const made = makeScratch();
    process.once('exit', () => removeScratch(made));
    root = made;
  }
  return root;
}
