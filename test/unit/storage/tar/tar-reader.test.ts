import { expect } from 'chai';
import { PassThrough, Readable } from 'node:stream';
import { SkiffError } from '../../../../src/core/errors.js';
import { TarReader } from '../../../../src/storage/tar/tar-reader.js';
import { block, END_BLOCKS, entry } from '../../../support/tar-blocks.js';

const LIMITS = { maxEntries: 100, maxEntryBytes: 1 << 20 };
const aborted = (signal: AbortSignal) => new SkiffError('Cancelled', `stopped: ${String(signal.reason)}`);

/** A source that counts what was read from it. */
function counted(buf: Buffer, chunk = 700): { src: Readable; read: () => number } {
  let n = 0;
  const src = Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += chunk) {
        const c = buf.subarray(i, i + chunk);
        n += c.length;
        yield c;
      }
    })(),
  );
  return { src, read: () => n };
}

describe('storage/tar/tar-reader', () => {
  it('skips bodies the consumer leaves, and reads the source to its end past the end marker', async () => {
    const tar = Buffer.concat([
      entry({ name: 'skipped' }, 'a'.repeat(3000)),
      entry({ name: 'half' }, 'b'.repeat(3000)),
      entry({ name: 'read' }, 'c'.repeat(10)),
      END_BLOCKS,
      Buffer.alloc(5000, 0x7a), // trailing bytes, part of what the caller hashes
    ]);
    const { src, read } = counted(tar);
    const reader = new TarReader(src, LIMITS, new AbortController().signal, aborted);
    const seen: string[] = [];
    for await (const e of reader.entries()) {
      if (e.header.name === 'half') {
        for await (const chunk of e) {
          seen.push(`half:${chunk.length}`);
          break;
        }
      } else if (e.header.name === 'read') {
        const chunks: Buffer[] = [];
        for await (const chunk of e) chunks.push(chunk);
        seen.push(`read:${Buffer.concat(chunks).toString()}`);
      } else seen.push(e.header.name);
    }
    expect(seen[0]).to.equal('skipped');
    expect(seen[1]).to.match(/^half:\d+$/);
    expect(seen[2]).to.equal(`read:${'c'.repeat(10)}`);
    expect(read()).to.equal(tar.length);
  });

  it("tells the source's own failure from the archive's", async () => {
    const broken = new PassThrough();
    broken.write(entry({ name: 'a' }, 'x'));
    const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    setTimeout(() => broken.destroy(cause), 5);
    const r1 = new TarReader(broken, LIMITS, new AbortController().signal, aborted);
    let e1: unknown;
    try {
      for await (const e of r1.entries()) void e;
    } catch (e) {
      e1 = e;
    }
    expect(e1).to.equal(cause);
    expect(r1.sourceError).to.equal(cause);
    expect(r1.parseError).to.equal(undefined);

    const r2 = new TarReader(Readable.from([block({ name: 'f', checksum: 'wrong' })]), LIMITS, new AbortController().signal, aborted);
    let e2: unknown;
    try {
      for await (const e of r2.entries()) void e;
    } catch (e) {
      e2 = e;
    }
    expect(r2.parseError).to.equal(e2);
    expect(r2.sourceError).to.equal(undefined);
  });

  it('stops a read that waits on a stalled source when the signal fires', async () => {
    const stalled = new PassThrough();
    stalled.write(block({ name: 'f', size: 100 }));
    const ac = new AbortController();
    const reader = new TarReader(stalled, LIMITS, ac.signal, aborted);
    setTimeout(() => ac.abort('caller gone'), 10);
    let err: unknown;
    try {
      for await (const e of reader.entries()) for await (const chunk of e) void chunk;
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal('stopped: caller gone');
  });
});
