// One blob on its way into the content store: every byte is hashed and counted as it is written to
// a temp file. The writer is a stream stage, so a layer pull can put it in the middle of its
// pipeline (download → here → gunzip → untar) and the blob costs no second pass.
import { createHash, type Hash } from 'node:crypto';
import { rm, type FileHandle } from 'node:fs/promises';
import { createWriteStream, write, writev, type WriteStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { internal } from '../../core/errors.js';
import type { Digest } from '../../core/ids.js';

interface Expected {
  readonly digest: Digest;
  readonly size?: number;
}

interface Hooks {
  /** Moves the verified, fsynced temp file into place. */
  publish(tmpPath: string): Promise<void>;
  /** The writer is done with its temp file, one way or the other. */
  release(): void;
}

type Callback = (err?: Error | null) => void;

/** Big enough that the file stream gathers many network chunks into one writev. */
const WRITE_BUFFER = 1024 * 1024;

export class BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private readonly out: WriteStream;
  private failure: Error | undefined;
  private settled = false;

  constructor(
    readonly expected: Expected,
    readonly tmpPath: string,
    private readonly fh: FileHandle,
    private readonly hooks: Hooks,
  ) {
    // A numeric fd, not the FileHandle: a stream over a FileHandle holds a reference that keeps
    // fh.close() waiting, and closes the handle itself when destroyed. destroy() closes even a
    // numeric fd, autoClose or not, and fh.close() would then close the number a second time,
    // after an open elsewhere (a layer unpacking beside this failed pull) may have reused it: the
    // stream gets a close that does nothing, and the FileHandle alone closes the file.
    this.out = createWriteStream('', {
      fd: fh.fd,
      highWaterMark: WRITE_BUFFER,
      autoClose: false,
      fs: { write, writev, close: (_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => cb(null) },
    });
    this.out.on('error', (e) => (this.failure ??= e));
  }

  /** Bytes seen so far. */
  get written(): number {
    return this.bytes;
  }

  /** The digest of the bytes seen so far (final once the stream has ended). */
  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}` as Digest;
  }

  /** A final stage that only records into the blob. */
  sink(): Writable {
    return new Writable({
      highWaterMark: WRITE_BUFFER,
      write: (chunk: Buffer, _enc, cb: Callback) => this.record(chunk, cb),
      final: (cb: Callback) => this.finish(cb),
    });
  }

  /** A middle stage: hands every chunk on at once and records it into the blob meanwhile. */
  passThrough(): Transform {
    const record = (chunk: Buffer, cb: Callback) => this.record(chunk, cb);
    const finish = (cb: Callback) => this.finish(cb);
    return new Transform({
      highWaterMark: WRITE_BUFFER,
      transform(chunk: Buffer, _enc, cb: Callback) {
        this.push(chunk);
        record(chunk, cb);
      },
      flush: finish,
    });
  }

  /** Bytes too many, too few, or with the wrong digest: the error to throw, or undefined when all is well. */
  verify(): Error | undefined {
    const { digest, size } = this.expected;
    if (size !== undefined && this.bytes !== size) {
      return internal(`size mismatch: blob ${digest} has ${this.bytes} bytes, the manifest says ${size}`);
    }
    const actual = this.digest();
    if (actual !== digest) return internal(`digest mismatch: expected ${digest}, the content hashes to ${actual}`);
    return undefined;
  }

  /** Verifies, fsyncs and publishes. Call after the stream stage has ended; on failure the temp file is gone. */
  async commit(): Promise<void> {
    if (this.settled) throw internal(`blob writer for ${this.expected.digest} used after commit or abort`);
    const problem =
      this.failure ??
      (this.out.writableFinished ? this.verify() : internal('blob writer committed before its stream ended'));
    if (problem) {
      await this.abort();
      throw problem;
    }
    this.settled = true;
    try {
      await this.fh.sync();
      await this.fh.close();
      await this.hooks.publish(this.tmpPath);
    } catch (e) {
      await this.fh.close().catch(() => undefined);
      await rm(this.tmpPath, { force: true });
      throw e;
    } finally {
      this.hooks.release();
    }
  }

  /** Idempotent; throws nothing: it runs on failure paths. */
  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    if (!this.out.closed) {
      // The stream lets a write in flight finish before 'close'; only then may the fd go.
      const closed = new Promise<void>((resolve) => this.out.once('close', () => resolve()));
      this.out.destroy();
      await closed;
    }
    await this.fh.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true }).catch(() => undefined);
    this.hooks.release();
  }

  private record(chunk: Buffer, cb: Callback): void {
    if (this.failure) return cb(this.failure);
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const { digest, size } = this.expected;
    if (size !== undefined && this.bytes > size) {
      // Stop a stream that runs past its declared size before it fills the disk.
      this.failure = internal(`size mismatch: blob ${digest} is longer than the expected ${size} bytes`);
      return cb(this.failure);
    }
    if (this.out.write(chunk)) return cb();
    const done = (): void => {
      this.out.off('drain', done);
      this.out.off('close', done);
      cb(this.failure);
    };
    this.out.on('drain', done);
    this.out.on('close', done);
  }

  private finish(cb: Callback): void {
    if (this.failure) return cb(this.failure);
    this.out.end(() => cb(this.failure));
  }
}
