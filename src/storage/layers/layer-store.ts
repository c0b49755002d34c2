// Unpacked layers, shared by chain id. Each lives in <dir>/<n>/fs with n a small integer, because
// an overlay mount names every lower dir in mount data that is limited to one page. A layer is
// unpacked into <dir>/.tmp-<n>, flushed, renamed to <dir>/<n>, and only then recorded in the index
// (<dir>/index/<hex>.json): a numbered dir without a record, or any .tmp-/.del- dir, is a leftover
// of a crash that init() removes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { abortable, abortError, isCancellation, type OpContext } from '../../core/context.js';
import { hasErrno, isSkiffError, notFound, toSkiffError } from '../../core/errors.js';
import { isDigest, type Digest } from '../../core/ids.js';
import { KeyedMutex, SingleFlight } from '../../core/keyed-mutex.js';
import { RecordStore } from '../../state/record-store.js';
import type { Sys } from '../../sys/index.js';

export interface LayerRecord {
  readonly chainId: Digest;
  readonly diffId: Digest;
  /** The chain id of the layer below, absent for a base layer. */
  readonly parent?: Digest;
  readonly n: number;
  /** Disk use estimate in bytes, and inodes, as counted while unpacking. */
  readonly size: number;
  readonly inodes: number;
  /** Bytes of the uncompressed tar, for an image's size cap; absent in records older than it. */
  readonly tarBytes?: number;
}

export interface LayerSpec {
  readonly chainId: Digest;
  readonly diffId: Digest;
  readonly parentChainId?: Digest;
}

/** What a producer reports about the tree it wrote. */
export interface ProducedLayer {
  readonly bytes: number;
  readonly inodes: number;
  readonly tarBytes?: number;
}

const TMP = '.tmp-';
const DEL = '.del-';

function isLayerRecord(x: unknown): x is LayerRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    typeof r.chainId === 'string' &&
    isDigest(r.chainId) &&
    typeof r.diffId === 'string' &&
    isDigest(r.diffId) &&
    (r.parent === undefined || (typeof r.parent === 'string' && isDigest(r.parent))) &&
    typeof r.n === 'number' &&
    Number.isInteger(r.n) &&
    r.n > 0 &&
    typeof r.size === 'number' &&
    typeof r.inodes === 'number' &&
    (r.tarBytes === undefined || typeof r.tarBytes === 'number')
  );
}

/** chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(
      parent === undefined
        ? diffId
        : (`sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}` as Digest),
    );
  }
  return out;
}

export class LayerStore {
  private readonly index: RecordStore<LayerRecord>;
  private readonly layers = new Map<Digest, LayerRecord>();
  /** Numbers in use: by records, by unpacks in flight, by removals in flight. */
  private readonly taken = new Set<number>();
  private readonly flights = new SingleFlight<Digest, LayerRecord>();
  private readonly locks = new KeyedMutex<Digest>();

  constructor(
    readonly dir: string,
    /** For one syncfs per layer before it is published; without it layers are not flushed. */
    private readonly sys?: Pick<Sys, 'syncfs'>,
  ) {
    this.index = new RecordStore<LayerRecord>(join(dir, 'index'), 'layer', 1, isLayerRecord);
  }

  /** Loads the index and removes what a crash left half done. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.index.init();
    const { records } = await this.index.loadAll();
    this.layers.clear();
    this.taken.clear();
    for (const r of records.values()) {
      this.layers.set(r.chainId, r);
      this.taken.add(r.n);
    }
    for (const name of await readdir(this.dir)) {
      const leftover =
        name.startsWith(TMP) || name.startsWith(DEL) || (/^\d+$/.test(name) && !this.taken.has(Number(name)));
      if (leftover) await rm(join(this.dir, name), { recursive: true, force: true });
    }
    // A record whose directory is gone (removed by hand) would break every mount that uses it.
    for (const r of [...this.layers.values()]) {
      try {
        await readdir(this.fsDir(r.n));
      } catch {
        await this.index.delete(hexOf(r.chainId));
        this.layers.delete(r.chainId);
        this.taken.delete(r.n);
      }
    }
  }

  get(chainId: Digest): LayerRecord | undefined {
    return this.layers.get(chainId);
  }

  /** The layer's root, for an overlay lowerdir; NotFound when it is not unpacked. */
  path(chainId: Digest): string {
    const r = this.layers.get(chainId);
    if (!r) throw notFound(`layer ${chainId} is not unpacked`);
    return this.fsDir(r.n);
  }

  /** The lower dirs of an overlay whose top layer is chainId, top first (overlay's order). */
  lowerDirs(chainId: Digest): string[] {
    const out: string[] = [];
    for (let id: Digest | undefined = chainId; id !== undefined; id = this.layers.get(id)?.parent) {
      out.push(this.path(id));
    }
    return out;
  }

  list(): LayerRecord[] {
    return [...this.layers.values()];
  }

  usage(): { bytes: number; inodes: number } {
    let bytes = 0;
    let inodes = 0;
    for (const r of this.layers.values()) {
      bytes += r.size;
      inodes += r.inodes;
    }
    return { bytes, inodes };
  }

  /**
   * Returns the layer, unpacking it first with `produce(tmpDir)` when it is not there. Each layer is
   * written once: concurrent calls for one chain id share one unpack, and a failed unpack leaves
   * nothing behind.
   */
  async ensure(
    ctx: OpContext,
    spec: LayerSpec,
    produce: (tmpDir: string) => Promise<ProducedLayer | void>,
  ): Promise<LayerRecord> {
    for (;;) {
      const have = this.layers.get(spec.chainId);
      if (have) return have;
      const joined = this.flights.has(spec.chainId);
      try {
        const flight = this.flights.run(spec.chainId, () => this.locks.run(spec.chainId, () => this.unpack(ctx, spec, produce)));
        // The caller whose context runs the unpack waits for it to stop and clean up (it stops
        // as soon as that context is cancelled), so that a failed pull has left nothing behind
        // when it returns; a caller that joined stops waiting at once.
        return await (joined ? abortable(ctx.signal, flight, `unpacking layer ${spec.diffId}`) : flight);
      } catch (e) {
        // Another caller's unpack that was cancelled is not our failure: start our own.
        if (joined && isCancellation(e) && !ctx.signal.aborted) continue;
        throw e;
      }
    }
  }

  private async unpack(
    ctx: OpContext,
    spec: LayerSpec,
    produce: (tmpDir: string) => Promise<ProducedLayer | void>,
  ): Promise<LayerRecord> {
    const have = this.layers.get(spec.chainId);
    if (have) return have;
    const n = this.allocate();
    const tmp = join(this.dir, `${TMP}${n}-${randomBytes(4).toString('hex')}`);
    const final = join(this.dir, String(n));
    try {
      const fs = join(tmp, 'fs');
      await mkdir(fs, { recursive: true, mode: 0o755 });
      const produced = (await produce(fs)) ?? { bytes: 0, inodes: 0 };
      if (ctx.signal.aborted) throw abortError(ctx.signal, `unpacking layer ${spec.diffId}`);
      if (this.sys) await this.flush(tmp);
      await rename(tmp, final);
      await syncDir(this.dir);
      const record: LayerRecord = {
        chainId: spec.chainId,
        diffId: spec.diffId,
        ...(spec.parentChainId ? { parent: spec.parentChainId } : {}),
        n,
        size: produced.bytes,
        inodes: produced.inodes,
        ...(produced.tarBytes !== undefined ? { tarBytes: produced.tarBytes } : {}),
      };
      await this.index.put(hexOf(spec.chainId), record);
      this.layers.set(spec.chainId, record);
      ctx.log.debug('layer unpacked', { chainId: spec.chainId, n, bytes: produced.bytes });
      return record;
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      await rm(final, { recursive: true, force: true });
      this.taken.delete(n);
      throw isSkiffError(e) ? e : toSkiffError(e, `unpacking layer ${spec.diffId}`);
    }
  }

  /** Idempotent. The caller makes sure no image or container still uses the layer. */
  async remove(chainId: Digest): Promise<void> {
    await this.locks.run(chainId, async () => {
      const r = this.layers.get(chainId);
      if (!r) return;
      // Record first: a crash after this leaves an unrecorded dir, which init() removes.
      await this.index.delete(hexOf(chainId));
      this.layers.delete(chainId);
      const doomed = join(this.dir, `${DEL}${r.n}-${randomBytes(4).toString('hex')}`);
      try {
        await rename(this.layerDir(r.n), doomed);
      } catch (e) {
        if (!hasErrno(e, 'ENOENT')) throw e;
      }
      this.taken.delete(r.n);
      await rm(doomed, { recursive: true, force: true });
    });
  }

  private layerDir(n: number): string {
    return join(this.dir, String(n));
  }

  private fsDir(n: number): string {
    return join(this.dir, String(n), 'fs');
  }

  /** The smallest free number, so paths stay short. */
  private allocate(): number {
    let n = 1;
    while (this.taken.has(n)) n++;
    this.taken.add(n);
    return n;
  }

  private async flush(dir: string): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await this.sys!.syncfs(fh.fd);
    } finally {
      await fh.close();
    }
  }
}

function hexOf(d: Digest): string {
  return d.slice('sha256:'.length);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
