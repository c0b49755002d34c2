// Moving entry bodies to disk. A body arrives as many small chunks (one per decompressed block);
// one write per chunk would make the thread pool the bottleneck, so chunks are gathered and written
// with writev while the next ones are parsed.
import type { FileHandle } from 'node:fs/promises';

/** Gather at most this much before waiting for the write in flight. */
const GATHER = 4 * 1024 * 1024;
/** The kernel takes at most IOV_MAX (1024) buffers per writev. */
const MAX_IOV = 1024;

/** Writes all buffers, however the kernel splits the writes. */
export async function writevAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    const batch = rest.length > MAX_IOV ? rest.slice(0, MAX_IOV) : rest;
    rest = rest.length > MAX_IOV ? rest.slice(MAX_IOV) : [];
    let { bytesWritten } = await fh.writev(batch);
    let i = 0;
    // A short write: drop what went out and try the remainder again.
    while (i < batch.length && bytesWritten >= batch[i]!.length) bytesWritten -= batch[i++]!.length;
    if (i < batch.length) rest = [batch[i]!.subarray(bytesWritten), ...batch.slice(i + 1), ...rest];
  }
}

/** Bodies come from tar-stream, typed as unknown chunks; they are always Buffers. */
type Body = AsyncIterable<unknown>;

export async function readAll(body: Body): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of body) out.push(chunk as Buffer);
  return out;
}

/** Streams a body into fh with one write in flight and the next batch gathering meanwhile. */
export async function writeBody(fh: FileHandle, body: Body): Promise<number> {
  let total = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inflight: Promise<void> | undefined;
  let failure: unknown;
  const start = (): void => {
    const bufs = batch;
    batch = [];
    batchBytes = 0;
    inflight = writevAll(fh, bufs).then(
      () => {
        inflight = undefined;
      },
      (e: unknown) => {
        failure ??= e;
        inflight = undefined;
      },
    );
  };
  for await (const item of body) {
    const chunk = item as Buffer;
    if (failure !== undefined) throw failure;
    batch.push(chunk);
    batchBytes += chunk.length;
    total += chunk.length;
    if (inflight === undefined) start();
    else if (batchBytes >= GATHER) {
      await inflight;
      if (failure === undefined) start();
    }
  }
  if (inflight !== undefined) await inflight;
  if (failure === undefined && batch.length > 0) {
    start();
    await inflight;
  }
  if (failure !== undefined) throw failure;
  return total;
}

/** Reads a body to its end and drops it. */
export async function skipBody(body: Body): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  while (!(await it.next()).done);
}
