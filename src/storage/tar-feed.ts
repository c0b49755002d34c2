// Feeding a tar parser from a stream, shared by the layer unpacker and the archive reader: with
// backpressure, stopping when the parser is destroyed, and turning an abort into `abortError`.
import type { Readable } from 'node:stream';
import type * as tar from 'tar-stream';
import { writeDrained } from '../util/write-drained.js';

/** Records the source's own error in `state` so the caller can tell it from a parse error. */
export async function feedTar(
  signal: AbortSignal,
  src: Readable,
  extract: tar.Extract,
  state: { error?: unknown },
  abortError: (signal: AbortSignal) => Error,
): Promise<void> {
  const onAbort = () => src.destroy(abortError(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) throw abortError(signal);
    for await (const chunk of src) {
      if (extract.destroyed) return;
      await writeDrained(extract, chunk as Buffer);
    }
    if (!extract.destroyed) extract.end(null);
  } catch (e) {
    state.error = e;
    extract.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
