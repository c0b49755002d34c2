// Unpacks one layer's tar stream into a directory, in the overlayfs format: whiteouts become 0/0
// character devices and opaque markers become trusted.overlay.opaque. Nothing is written outside
// the target (see tar-paths.ts); a refused entry fails the whole layer with InvalidArgument.
import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { abortError, type OpContext } from '../../core/context.js';
import { invalidArgument, isSkiffError, SkiffError, toSkiffError } from '../../core/errors.js';
import type { Sys } from '../../sys/index.js';
import { TarReader, type TarLimits } from '../tar/tar-reader.js';
import { TarApplier, type UnpackStats } from './tar-apply.js';

export type { UnpackStats } from './tar-apply.js';

const YIELD_MS = 2;

/**
 * Reads `tarStream` to its end (callers hash it for the diff id, so every byte must pass) and
 * applies its entries to `targetDir`. On failure the caller removes the directory: entries written
 * before the failure stay, but none of them outside it. `limits` caps the entries (and the
 * directories they imply) and the size of one entry's body.
 */
export async function unpackTar(
  ctx: OpContext,
  tarStream: Readable,
  targetDir: string,
  sys: Sys,
  limits: TarLimits,
): Promise<UnpackStats> {
  const fresh = (await readdir(targetDir)).length === 0;
  const applier = new TarApplier(ctx, targetDir, fresh, sys, limits.maxEntries);
  const reader = new TarReader(tarStream, limits, ctx.signal, (signal) => abortError(signal, 'unpacking layer'));
  try {
    let slice = performance.now();
    for await (const entry of reader.entries()) {
      await applier.apply(entry);
      // Entries already buffered are applied without a turn of the event loop in between, and
      // their file calls are synchronous (tar-apply.ts): give other work a turn every few ms.
      if (performance.now() - slice > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    applier.finish();
    return applier.stats;
  } catch (e) {
    tarStream.destroy();
    throw classify(e, reader.sourceError);
  }
}

/**
 * A failed source (network, gunzip, blob digest, a size cap) is the cause, whatever the entry that
 * was reading from it says; otherwise the parser's and the applier's errors say what is wrong.
 */
function classify(e: unknown, sourceError: unknown): SkiffError {
  if (sourceError !== undefined) return isSkiffError(sourceError) ? sourceError : toSkiffError(sourceError, 'reading layer');
  if (isSkiffError(e)) return e;
  if (e instanceof Error && (e.name === 'AbortError' || (e as NodeJS.ErrnoException).code !== undefined)) {
    return toSkiffError(e, 'unpacking layer');
  }
  return invalidArgument(`layer is not a valid tar archive: ${e instanceof Error ? e.message : String(e)}`, e);
}
