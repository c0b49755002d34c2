// SPDY compresses every header block of a connection, each direction, as one zlib stream primed
// with the SPDY/3 dictionary and flushed (Z_SYNC_FLUSH) at the end of each block. Node's zlib
// streams are asynchronous, so calls are chained: blocks are (de)compressed in the order given.
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';

class ZlibContext {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private failure: Error | undefined;

  constructor(private readonly z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (chunk: Buffer) => this.out.push(chunk));
    z.on('error', (e: Error) => {
      this.failure = e;
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const step = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.out = [];
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
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
    super(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  }
}
