// Unpacks one layer's tar stream into a directory, in the overlayfs format: whiteouts become 0/0
// character devices and opaque markers become trusted.overlay.opaque. Nothing is written outside
// the target (see tar-paths.ts); a refused entry fails the whole layer with InvalidArgument.
import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { feedTar } from '../tar-feed.js';
import { abortError, type OpContext } from '../../core/context.js';
import { invalidArgument, isKind, isSkiffError, SkiffError, toSkiffError } from '../../core/errors.js';
import type { Sys } from '../../sys/index.js';
import { captureRawPax } from './pax-raw.js';
import { TarApplier, type UnpackStats } from './tar-apply.js';

export type { UnpackStats } from './tar-apply.js';

const YIELD_MS = 2;

/**
 * Reads `tarStream` to its end (callers hash it for the diff id, so every byte must pass) and
 * applies its entries to `targetDir`. On failure the caller removes the directory: entries written
 * before the failure stay, but none of them outside it.
 */
export async function unpackTar(ctx: OpContext, tarStream: Readable, targetDir: string, sys: Sys): Promise<UnpackStats> {
  const fresh = (await readdir(targetDir)).length === 0;
  const applier = new TarApplier(ctx, targetDir, fresh, sys);
  // Old v7 archives have no ustar magic; Go's archive/tar reads them, so do we (checksums still hold).
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const takeRawPax = captureRawPax(extract);
  const feedState: { error?: unknown } = {};
  const feeding = feedTar(ctx.signal, tarStream, extract, feedState, (signal) => abortError(signal, 'unpacking layer'));
  // Awaited below; until then its rejection is only recorded.
  feeding.catch(() => undefined);
  try {
    let slice = performance.now();
    for await (const entry of extract) {
      const hasPax = entry.header.pax != null;
      await applier.apply(entry, hasPax ? takeRawPax() : undefined);
      // Entries already buffered are applied without a turn of the event loop in between, and
      // their file calls are synchronous (tar-apply.ts): give other work a turn every few ms.
      if (performance.now() - slice > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    await feeding;
    applier.finish();
    return applier.stats;
  } catch (e) {
    // Taken before tarStream.destroy(), whose own premature-close error is no cause.
    const sourceError = feedState.error;
    extract.destroy();
    tarStream.destroy();
    await feeding.catch(() => undefined);
    throw classify(e, sourceError);
  }
}

/**
 * A refused entry is reported as such. Otherwise a failed source (network, gunzip, blob digest) is
 * the cause, whatever the entry that was reading from it says; the parser's own errors mean a bad
 * archive.
 */
function classify(e: unknown, sourceError: unknown): SkiffError {
  if (isKind(e, 'InvalidArgument')) return e as SkiffError;
  if (sourceError !== undefined) return toSkiffError(sourceError, 'reading layer');
  if (isSkiffError(e)) return e;
  // Errno codes are the system's; tar-stream's stream errors (STREAM_DESTROYED…) are the parser's.
  if (e instanceof Error && (e.name === 'AbortError' || /^E[A-Z0-9]+$/.test(String((e as NodeJS.ErrnoException).code)))) {
    return toSkiffError(e, 'unpacking layer');
  }
  // Ours, not the layer's.
  if (e instanceof TypeError || e instanceof RangeError) return toSkiffError(e, 'unpacking layer');
  return invalidArgument(`layer is not a valid tar archive: ${e instanceof Error ? e.message : String(e)}`, e);
}
