// Moving entry bodies to disk. A body arrives as many small chunks (one per decompressed block);
// one write per chunk would make the thread pool the bottleneck, so chunks are gathered and written
// with writev while the next ones are parsed.
import { writev } from 'node:fs';

/** Entry bodies (storage/tar/tar-reader.ts) yield Buffers. */
type Body = AsyncIterable<unknown>;

/** Gather at most this much before waiting for the write in flight. */
const GATHER = 4 * 1024 * 1024;
/** The kernel takes at most IOV_MAX (1024) buffers per writev. */
const MAX_IOV = 1024;

function writevOnce(fd: number, bufs: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => writev(fd, bufs, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Writes all buffers at the fd's offset, however the kernel splits the writes. */
export async function writevAll(fd: number, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    let n = await writevOnce(fd, rest.slice(0, MAX_IOV));
    let i = 0;
    // A short write: drop what went out and go on with the remainder.
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = i < rest.length ? [rest[i]!.subarray(n), ...rest.slice(i + 1)] : [];
  }
}

export async function readAll(body: Body): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of body) out.push(chunk as Buffer);
  return out;
}

/** Reads a body to its end and drops it. */
export async function skipBody(body: Body): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  while (!(await it.next()).done);
}

/** Streams a body into fd with one write in flight and the next batch gathering meanwhile. */
export async function writeBody(fd: number, body: Body): Promise<number> {
  let total = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inflight: Promise<void> | undefined;
  let failure: unknown;
  const start = (): void => {
    const bufs = batch;
    batch = [];
    batchBytes = 0;
    inflight = writevAll(fd, bufs).then(
      () => {
        inflight = undefined;
      },
      (e: unknown) => {
        failure ??= e;
        inflight = undefined;
      },
    );
  };
  try {
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
  } finally {
    // The caller closes fd when this returns: no write may still be using it.
    if (inflight !== undefined) await inflight;
  }
  if (failure !== undefined) throw failure;
  return total;
}
