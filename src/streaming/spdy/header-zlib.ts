// SPDY compresses every header block of a connection, each direction, as one zlib stream primed
// with the SPDY/3 dictionary and flushed (Z_SYNC_FLUSH) at the end of each block. Node's zlib
// streams are asynchronous, so calls are chained: blocks are (de)compressed in the order given.
//
// A peer's header block is inflated into a bounded buffer: zlib expands up to ~1000:1, so a 1 MiB
// frame could otherwise become a gigabyte in the daemon. Past the limit the inflater is destroyed
// at once (so it produces no more) and the block fails; the session then closes that connection.
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { FrameError } from './frames.js';

/**
 * The most one decompressed header block may hold: Go's http.DefaultMaxHeaderBytes, the limit
 * kubelet's HTTP server puts on request headers. Real blocks (streamType, port, requestID) are
 * tens of bytes.
 */
export const MAX_HEADER_BLOCK_BYTES = 1024 * 1024;

class ZlibContext {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private size = 0;
  private failure: Error | undefined;
  private pending: ((e: Error) => void) | undefined;

  constructor(
    private readonly z: zlib.Inflate | zlib.Deflate,
    private readonly maxOutput = Infinity,
  ) {
    z.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      this.size += chunk.length;
      if (this.size > this.maxOutput) return this.abort(new FrameError(`a header block decompresses to more than ${this.maxOutput} bytes`));
      this.out.push(chunk);
    });
    // Bad zlib data ends the stream without a flush callback: the block waiting for it must fail
    // here, or it never settles and every later frame of the connection waits behind it.
    z.on('error', (e: Error) => {
      if (!this.failure) this.abort(new FrameError(`a header block is not valid zlib data: ${e.message}`));
    });
  }

  private abort(e: Error): void {
    this.failure = e;
    this.out = [];
    this.z.destroy();
    this.pending?.(e);
  }

  run(input: Buffer): Promise<Buffer> {
    const step = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.out = [];
          this.size = 0;
          this.pending = reject;
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.pending = undefined;
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
  constructor(maxBlockBytes = MAX_HEADER_BLOCK_BYTES) {
    super(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }), maxBlockBytes);
  }
}
