// Blobs by digest: <dir>/blobs/sha256/<hex>. A blob is written to <dir>/ingest/ while it is hashed,
// and appears under blobs/ only by a rename after its size and digest check out and it is fsynced:
// a crash or a lying registry never leaves a corrupt blob behind, only a temp file that
// cleanupIngest() removes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { abortable, isCancellation, type OpContext } from '../../core/context.js';
import { hasErrno, internal, invalidArgument, notFound, toSkiffError } from '../../core/errors.js';
import { isDigest, parseDigest, type Digest } from '../../core/ids.js';
import { SingleFlight } from '../../core/keyed-mutex.js';
import { BlobWriter } from './blob-writer.js';

export { BlobWriter } from './blob-writer.js';

export interface BlobExpectation {
  readonly digest: Digest;
  /** When known (it is, from a manifest), a longer stream is cut off as soon as it passes it. */
  readonly size?: number;
}

export interface Usage {
  readonly bytes: number;
  readonly inodes: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** Manifests and configs are small; a "small blob" far bigger than this is a bug or an attack. */
const MAX_SMALL_BLOB = 64 * 1024 * 1024;

export class ContentStore {
  private readonly blobsDir: string;
  private readonly ingestDir: string;
  private readonly flights = new SingleFlight<Digest, void>();
  /** Temp files of writers still open, which cleanupIngest() must not take away. */
  private readonly active = new Set<string>();
  /** Disk usage per blob, so usage() reads memory. */
  private readonly sizes = new Map<Digest, number>();

  constructor(readonly dir: string) {
    this.blobsDir = join(dir, 'blobs', 'sha256');
    this.ingestDir = join(dir, 'ingest');
  }

  /** Creates the directories, removes temp files of interrupted ingests, and indexes what is there. */
  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
    await this.cleanupIngest();
    this.sizes.clear();
    for (const digest of await this.list()) {
      try {
        const st = await stat(this.path(digest));
        this.sizes.set(digest, st.blocks * 512);
      } catch (e) {
        if (!hasErrno(e, 'ENOENT')) throw e;
      }
    }
  }

  path(digest: Digest): string {
    return join(this.blobsDir, hexOf(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return false;
      throw toSkiffError(e, `checking blob ${digest}`);
    }
  }

  /** The blob's length in bytes; NotFound when it is not stored. */
  async size(digest: Digest): Promise<number> {
    try {
      return (await stat(this.path(digest))).size;
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) throw notFound(`blob ${digest} not found`);
      throw toSkiffError(e, `reading blob ${digest}`);
    }
  }

  /**
   * Stores the blob `open()` yields unless it is already here. Concurrent ingests of one digest share
   * one download: only the first caller's `open` runs. A caller whose own signal is still live does
   * not inherit another caller's cancellation: it starts over.
   */
  async ingest(ctx: OpContext, expected: BlobExpectation, open: () => Promise<Readable>): Promise<void> {
    for (;;) {
      if (await this.has(expected.digest)) return;
      const joined = this.flights.has(expected.digest);
      try {
        await abortable(
          ctx.signal,
          this.flights.run(expected.digest, () => this.ingestOnce(ctx, expected, open)),
          `fetching blob ${expected.digest}`,
        );
        return;
      } catch (e) {
        // Another caller's download that was cancelled is not our failure: start our own.
        if (joined && isCancellation(e) && !ctx.signal.aborted) continue;
        throw e;
      }
    }
  }

  private async ingestOnce(ctx: OpContext, expected: BlobExpectation, open: () => Promise<Readable>): Promise<void> {
    if (await this.has(expected.digest)) return;
    const writer = await this.openWriter(expected);
    try {
      const source = await open();
      await pipeline(source, writer.sink(), { signal: ctx.signal });
      await writer.commit();
    } catch (e) {
      await writer.abort();
      throw toSkiffError(e, `ingesting ${expected.digest}`);
    }
  }

  /**
   * A writer for one blob, for callers that route the bytes themselves (a layer pull hashes, stores
   * and unpacks in one pass). Exactly one of commit() or abort() must follow.
   */
  async openWriter(expected: BlobExpectation): Promise<BlobWriter> {
    parseDigest(expected.digest);
    const tmp = join(this.ingestDir, `${hexOf(expected.digest)}-${randomBytes(6).toString('hex')}`);
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx', 0o600);
    } catch (e) {
      throw toSkiffError(e, `creating ingest file for ${expected.digest}`);
    }
    this.active.add(tmp);
    return new BlobWriter(expected, tmp, fh, {
      publish: (path) => this.publish(expected.digest, path),
      release: () => this.active.delete(tmp),
    });
  }

  /**
   * Publishes a file the caller wrote into the ingest area (`<dir>/ingest/`) and hashed while writing
   * it: for bytes whose digest is known only once they have all been read (members of an image
   * archive). The caller vouches for the digest; the size is checked and the file fsynced here.
   * The temp file is gone afterwards, published or not.
   */
  async publishFile(tmpPath: string, digest: Digest, size: number): Promise<void> {
    // Checked before anything is removed: a wrong path must not cost someone else's file.
    if (dirname(tmpPath) !== this.ingestDir) throw internal(`${tmpPath} is not in the ingest area ${this.ingestDir}`);
    try {
      parseDigest(digest);
      const fh = await open(tmpPath, 'r');
      try {
        const actual = (await fh.stat()).size;
        if (actual !== size) throw internal(`size mismatch: ${tmpPath} has ${actual} bytes, expected ${size}`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.publish(digest, tmpPath);
    } catch (e) {
      await rm(tmpPath, { force: true });
      throw toSkiffError(e, `publishing blob ${digest}`);
    }
  }

  /** Renames a verified, fsynced temp file into place; a blob already present is kept as it is. */
  private async publish(digest: Digest, tmp: string): Promise<void> {
    const target = this.path(digest);
    if (await this.has(digest)) {
      await rm(tmp, { force: true });
      return;
    }
    await rename(tmp, target);
    await syncDir(this.blobsDir);
    const st = await stat(target);
    this.sizes.set(digest, st.blocks * 512);
  }

  /** The bytes of a small blob (a manifest, a config), checked against their digest. */
  async readBuffer(digest: Digest): Promise<Buffer> {
    let buf: Buffer;
    try {
      const size = await this.size(digest);
      if (size > MAX_SMALL_BLOB) throw invalidArgument(`blob ${digest} is ${size} bytes, too big to read whole`);
      buf = await readFile(this.path(digest));
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) throw notFound(`blob ${digest} not found`);
      throw toSkiffError(e, `reading blob ${digest}`);
    }
    const actual = sha256Digest(buf);
    if (actual !== digest) throw internal(`blob ${digest} is corrupt on disk: its content hashes to ${actual}`);
    return buf;
  }

  /** Parsed JSON of a small blob; the caller validates its shape. */
  async readJson(digest: Digest): Promise<unknown> {
    const buf = await this.readBuffer(digest);
    try {
      return JSON.parse(buf.toString('utf8')) as unknown;
    } catch (e) {
      throw invalidArgument(`blob ${digest} is not valid JSON`, e);
    }
  }

  /** Stores bytes already in memory and returns their digest. */
  async putBuffer(buf: Buffer): Promise<Digest> {
    const digest = sha256Digest(buf);
    if (await this.has(digest)) return digest;
    const writer = await this.openWriter({ digest, size: buf.length });
    try {
      await pipeline(bufferSource(buf), writer.sink());
      await writer.commit();
    } catch (e) {
      await writer.abort();
      throw toSkiffError(e, `storing blob ${digest}`);
    }
    return digest;
  }

  /** Idempotent: deleting a blob that is not there succeeds. */
  async delete(digest: Digest): Promise<void> {
    await rm(this.path(digest), { force: true });
    this.sizes.delete(digest);
  }

  async list(): Promise<Digest[]> {
    let names: string[];
    try {
      names = await readdir(this.blobsDir);
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return [];
      throw e;
    }
    return names.filter((n) => HEX64.test(n)).map((n) => `sha256:${n}` as Digest);
  }

  /** Removes temp files of ingests that are not running: those of a daemon that was killed mid-pull. */
  async cleanupIngest(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.ingestDir);
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return 0;
      throw e;
    }
    let removed = 0;
    for (const name of names) {
      const p = join(this.ingestDir, name);
      if (this.active.has(p)) continue;
      await rm(p, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Disk used by the stored blobs (from memory; init() indexes what is on disk). */
  usage(): Usage {
    let bytes = 0;
    for (const b of this.sizes.values()) bytes += b;
    return { bytes, inodes: this.sizes.size };
  }

  /** Opens a stored blob for reading; NotFound when it is not stored. */
  async openRead(digest: Digest): Promise<Readable> {
    const fh = await open(this.path(digest), 'r').catch((e: unknown) => {
      if (hasErrno(e, 'ENOENT')) throw notFound(`blob ${digest} not found`);
      throw toSkiffError(e, `opening blob ${digest}`);
    });
    return fh.createReadStream({ highWaterMark: 1024 * 1024 });
  }
}

export function sha256Digest(buf: Buffer): Digest {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}` as Digest;
}

function hexOf(digest: Digest): string {
  if (!isDigest(digest)) throw invalidArgument(`invalid digest ${JSON.stringify(digest)}`);
  return digest.slice('sha256:'.length);
}

async function* bufferSource(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
