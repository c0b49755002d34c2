// Shared by the storage tests: temp dirs, an operation context, and tars built in memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import type { OpContext } from '../../../../src/core/context.js';
import { paxRecords } from '../../../support/tar-blocks.js';
import { silentLogger } from '../../../../src/log/logger.js';

export function testContext(signal: AbortSignal = new AbortController().signal): OpContext {
  return { log: silentLogger(), signal, deadline: undefined };
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `skiff-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

export interface TarEntry extends Partial<tar.Header> {
  name: string;
  body?: string | Buffer;
  /** Raw PAX records for this entry, bytes kept as they are (tar-stream's pack only writes strings). */
  rawPax?: Record<string, Buffer | string>;
}

export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const { body, rawPax, ...header } = e;
    if (rawPax) parts.push(paxHeaderBlocks(paxRecords(rawPax)));
    const data = body === undefined ? undefined : Buffer.from(body);
    parts.push(await packOne({ type: 'file', mode: 0o644, mtime: new Date(1_600_000_000_000), ...header, size: data?.length ?? 0 }, data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** One entry as tar-stream's pack writes it, without the end-of-archive blocks. */
async function packOne(header: Partial<tar.Header> & { name: string }, data?: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  await new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (data !== undefined) pack.entry(header, data, cb);
    else pack.entry(header, cb);
  });
  pack.finalize();
  await done;
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 1024);
}

/** A ustar header of type 'x' followed by the records, padded to whole blocks. */
function paxHeaderBlocks(records: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write('PaxHeader', 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(records.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('x', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = (512 - (records.length % 512)) % 512;
  return Buffer.concat([h, records, Buffer.alloc(pad)]);
}

export function streamOf(buf: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
    })(),
  );
}

export const gzip = (buf: Buffer): Buffer => gzipSync(buf);
