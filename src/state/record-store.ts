// One versioned JSON record per object, written tmp → fsync → rename → fsync(dir), so a crash leaves
// either the old record or the new one, never half of one. Callers update memory only after put()
// resolves. Records are validated by a type guard when read back: the disk is an untyped boundary.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hasErrno, internal, invalidArgument } from '../core/errors.js';

export interface Envelope<T> {
  readonly kind: string;
  readonly version: number;
  readonly id: string;
  readonly data: T;
}

export interface LoadResult<T> {
  readonly records: Map<string, T>;
  /** Files that could not be read back: name and reason. Kept on disk for a person to look at. */
  readonly invalid: { file: string; reason: string }[];
}

const ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const SUFFIX = '.json';
const TMP_MARK = '.tmp-';

export class RecordStore<T> {
  constructor(
    readonly dir: string,
    private readonly kind: string,
    private readonly version: number,
    private readonly guard: (x: unknown) => x is T,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(id: string): string {
    if (!ID.test(id)) throw invalidArgument(`invalid record id ${JSON.stringify(id)}`);
    return join(this.dir, id + SUFFIX);
  }

  async put(id: string, data: T): Promise<void> {
    const target = this.file(id);
    const tmp = `${target}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    const envelope: Envelope<T> = { kind: this.kind, version: this.version, id, data };
    const body = JSON.stringify(envelope, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    try {
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await this.syncDir();
  }

  async get(id: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(id), 'utf8');
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
    return this.decode(id, text);
  }

  /** Idempotent: removing a record that is not there succeeds. */
  async delete(id: string): Promise<void> {
    await rm(this.file(id), { force: true });
    await this.syncDir();
  }

  /** Reads every record; leftovers of interrupted writes are removed, unreadable records reported. */
  async loadAll(): Promise<LoadResult<T>> {
    const records = new Map<string, T>();
    const invalid: { file: string; reason: string }[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return { records, invalid };
      throw e;
    }
    for (const name of names) {
      if (name.includes(TMP_MARK)) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const id = name.slice(0, -SUFFIX.length);
      try {
        records.set(id, this.decode(id, await readFile(join(this.dir, name), 'utf8')));
      } catch (e) {
        invalid.push({ file: name, reason: e instanceof Error ? e.message : String(e) });
      }
    }
    return { records, invalid };
  }

  private decode(id: string, text: string): T {
    const raw: unknown = JSON.parse(text, (_k, v: unknown) =>
      typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
    );
    if (typeof raw !== 'object' || raw === null) throw internal(`record ${id}: not an object`);
    const env = raw as Partial<Envelope<unknown>>;
    if (env.kind !== this.kind) throw internal(`record ${id}: kind ${String(env.kind)}, want ${this.kind}`);
    if (env.version !== this.version) {
      throw internal(`record ${id}: version ${String(env.version)} is not the supported ${this.version}`);
    }
    if (env.id !== id) throw internal(`record ${id}: file holds id ${String(env.id)}`);
    if (!this.guard(env.data)) throw internal(`record ${id}: data does not have the expected shape`);
    return env.data;
  }

  private async syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
