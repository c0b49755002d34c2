// Reading a tar stream as entries, for the layer unpacker and the image archive reader. Pull-based:
// a chunk is read from the source only when the consumer wants the next entry or body chunk, so the
// source's own buffer is the backpressure, and the parser holds at most one header block and one
// extended header (tar-parser.ts). The source is read to its end, past the end-of-archive marker,
// because callers hash every byte of it.
import type { Readable } from 'node:stream';
import { TarParser, type TarEvent, type TarHeader, type TarLimits } from './tar-parser.js';

export type { TarHeader, TarLimits } from './tar-parser.js';

/** One entry: its header, and its body to iterate (or not: the reader skips what is left). */
export interface TarEntry extends AsyncIterable<Buffer> {
  readonly header: TarHeader;
}

export class TarReader {
  /** The source's own error, when reading it failed: the caller tells it from a bad archive. */
  sourceError: unknown;
  /** The parser's error: what is wrong with the archive (InvalidArgument, or ResourceExhausted). */
  parseError: unknown;
  private readonly parser: TarParser;
  private readonly source: AsyncIterator<unknown>;
  private events: TarEvent[] = [];
  private next = 0;
  private ended = false;

  constructor(
    private readonly src: Readable,
    limits: TarLimits,
    private readonly signal: AbortSignal,
    private readonly abortError: (signal: AbortSignal) => Error,
  ) {
    this.parser = new TarParser(limits);
    this.source = src[Symbol.asyncIterator]();
  }

  /** Entries in archive order; each must be done with before the next is asked for. */
  async *entries(): AsyncGenerator<TarEntry, void, undefined> {
    // A source that stalls would never see a check between chunks: destroying it wakes the read.
    const onAbort = () => this.src.destroy(this.abortError(this.signal));
    this.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.signal.aborted) throw this.abortError(this.signal);
      for (let ev = await this.event(); ev !== undefined; ev = await this.event()) {
        if (ev.type !== 'entry') continue; // 'end': what follows is drained through the parser
        const body = new EntryBody(this, ev.header);
        yield body;
        await body.skipRest();
      }
    } finally {
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The next event, reading the source as needed; undefined once the source has ended. */
  async event(): Promise<TarEvent | undefined> {
    // Once broken, always broken: nobody may read on past a failure as if the archive went on.
    if (this.parseError !== undefined) throw this.parseError;
    if (this.sourceError !== undefined) throw this.sourceError;
    while (this.next >= this.events.length) {
      if (this.ended) return undefined;
      let r: IteratorResult<unknown>;
      try {
        r = await this.source.next();
      } catch (e) {
        this.sourceError = e;
        throw e;
      }
      if (this.signal.aborted) throw this.abortError(this.signal);
      this.next = 0;
      try {
        if (r.done) {
          this.ended = true;
          this.events = this.parser.end();
        } else {
          this.events = this.parser.write(r.value as Buffer);
        }
      } catch (e) {
        this.parseError = e;
        throw e;
      }
    }
    return this.events[this.next++];
  }
}

class EntryBody implements TarEntry, AsyncIterator<Buffer> {
  private done = false;

  constructor(
    private readonly reader: TarReader,
    readonly header: TarHeader,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this;
  }

  async next(): Promise<IteratorResult<Buffer, undefined>> {
    if (this.done) return { done: true, value: undefined };
    const ev = await this.reader.event();
    if (ev?.type === 'data') return { done: false, value: ev.bytes };
    // The parser ends every body with 'entry-end', or throws when the source ends inside it.
    this.done = true;
    return { done: true, value: undefined };
  }

  /** A consumer that stops early (break, throw) leaves the rest to skipRest(). */
  async return(): Promise<IteratorResult<Buffer, undefined>> {
    return { done: true, value: undefined };
  }

  async skipRest(): Promise<void> {
    while (!this.done) await this.next();
  }
}
