// SPDY compresses every header block of a connection, each direction, as one zlib stream primed
// with the SPDY/3 dictionary and flushed (Z_SYNC_FLUSH) at the end of each block. Node's zlib
// streams are asynchronous, so calls are chained: blocks are (de)compressed in the order given.
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { FrameError } from './frames.js';

/**
 * What one header block may inflate to. kubelet's and crictl's blocks are a few hundred bytes;
 * without a bound a 1 MiB frame of compressed zeros inflated to about 1 GiB (found by the
 * spdy-session fuzz target).
 */
export const MAX_HEADER_BLOCK = 1 << 20;

class ZlibContext {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private outBytes = 0;
  private failure: Error | undefined;
  /** Fails the block being processed at once (the flush callback may never come after close). */
  private failCurrent: ((e: Error) => void) | undefined;

  constructor(
    private readonly z: zlib.Inflate | zlib.Deflate,
    private readonly maxOutput = Infinity,
  ) {
    z.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      this.outBytes += chunk.length;
      if (this.outBytes > this.maxOutput) {
        // The stream stays unusable: its state is mid-block, so later blocks could not be read.
        this.fail(new FrameError(`a header block inflates to more than ${this.maxOutput} bytes`));
        this.out = [];
        this.z.close();
        return;
      }
      this.out.push(chunk);
    });
    z.on('error', (e: Error) => this.fail(e));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.failCurrent?.(this.failure);
  }

  run(input: Buffer): Promise<Buffer> {
    const step = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.out = [];
          this.outBytes = 0;
          this.failCurrent = reject;
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.failCurrent = undefined;
            if (this.failure) reject(this.failure);
            else resolve(Buffer.concat(this.out));
          });
        }),
    );
    this.chain = step.catch(() => {});
    return step;
  }

  close(): void {
    this.z.close();
  }
}

export class HeaderCompressor extends ZlibContext {
  constructor() {
    super(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  }
}

export class HeaderDecompressor extends ZlibContext {
  constructor() {
    super(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }), MAX_HEADER_BLOCK);
  }
}
