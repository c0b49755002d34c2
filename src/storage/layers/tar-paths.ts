// Where a tar entry may write. Entry names are cleaned lexically (never by asking the kernel), and
// every parent directory an entry passes through must be a real directory: a symlink planted by an
// earlier entry ("x -> /etc", then "x/passwd") is refused, not followed.
//
// The tree remembers what this unpack created, so the usual case costs no lstat at all: in a target
// that started empty, a path we did not create does not exist. Paths we did not create (a target
// that was not empty) are looked up once with lstat and remembered. Calls are synchronous for the
// reason given in tar-apply.ts.
//
// It is a tree of path components, not a map of full paths: a layer of a million entries whose
// names are each 4 KiB long would otherwise hold gigabytes of keys, and removing a directory
// would scan every key. A node costs one component (at most NAME_MAX bytes) and a few words.
import { lstatSync, mkdirSync } from 'node:fs';
import { hasErrno, invalidArgument, type SkiffError } from '../../core/errors.js';

export type NodeKind = 'dir' | 'symlink' | 'file' | 'other';

interface Known<T> {
  readonly kind: NodeKind;
  /** Created by this unpack, so a hard link may point at it. */
  readonly ours: boolean;
  /** A directory's entries, as far as they are known. */
  children?: Map<string, Known<T>>;
  /** What the caller attached (tar-apply: a directory's times, set last). */
  data?: T;
}

export function refuse(entry: string, why: string): SkiffError {
  return invalidArgument(`layer entry ${JSON.stringify(entry)} refused: ${why}`);
}

/**
 * "/a/./b/", "./a/b" and "a/b" all name a/b; ".." steps back lexically and may not climb above the
 * layer root. Returns the components, [] for the root, or undefined when the name escapes.
 */
export function cleanEntryPath(name: string): string[] | undefined {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

export class LayerTree<T = never> {
  /** Missing parent directories this unpack had to create. */
  implicitDirs = 0;
  private readonly top: Known<T> = { kind: 'dir', ours: false };

  constructor(
    readonly root: string,
    /** The target was empty when the unpack began. */
    private readonly fresh: boolean,
  ) {}

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /** What is at rel now, or undefined when nothing is. Parents must already be verified. */
  kindOf(rel: string): NodeKind | undefined {
    return this.lookup(rel)?.kind;
  }

  /** Whether rel was created by this unpack, and as what. */
  created(rel: string): NodeKind | undefined {
    const k = this.find(rel);
    return k?.ours ? k.kind : undefined;
  }

  /** rel now holds a new `kind` of ours (whatever was there before is gone). Its parent is known. */
  set(rel: string, kind: NodeKind): void {
    this.place(rel, { kind, ours: true });
  }

  /** rel is gone, and with it everything below it. */
  forget(rel: string): void {
    const { parent, name } = this.parentOf(rel);
    parent?.children?.delete(name);
  }

  /** Attaches `data` to what is at rel (known already). */
  attach(rel: string, data: T): void {
    const k = this.find(rel);
    if (k) k.data = data;
  }

  /** Every attached value with its path, parents before children. */
  *attached(): Generator<[string, T]> {
    const stack: [string, Known<T>][] = [['', this.top]];
    for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
      const [rel, k] = item;
      if (k.data !== undefined) yield [rel, k.data];
      for (const [name, child] of k.children ?? []) stack.push([rel === '' ? name : `${rel}/${name}`, child]);
    }
  }

  /**
   * Makes every parent of comps a real directory inside the root, creating missing ones (0755,
   * as tar does); refuses when one is a symlink or not a directory.
   */
  ensureParents(comps: readonly string[], entry: string): void {
    if (comps.length <= 1) return;
    // A known directory's ancestors were verified when it was recorded, and replacing one of
    // them would have forgotten it.
    if (this.find(comps.slice(0, -1).join('/'))?.kind === 'dir') return;
    let rel = '';
    for (let i = 0; i < comps.length - 1; i++) {
      rel = i === 0 ? comps[0]! : `${rel}/${comps[i]!}`;
      this.ensureDir(rel, entry);
    }
  }

  /** Makes rel itself a directory (its parents are verified first). */
  ensureDir(rel: string, entry: string): void {
    if (rel === '') return;
    const k = this.lookup(rel);
    if (k?.kind === 'dir') return;
    if (k?.kind === 'symlink') throw refuse(entry, `${rel} is a symlink; nothing is written through one`);
    if (k !== undefined) throw refuse(entry, `${rel} is not a directory`);
    if (rel.includes('/')) this.ensureParents(rel.split('/'), entry);
    mkdirSync(this.abs(rel), 0o755);
    this.set(rel, 'dir');
    this.implicitDirs++;
  }

  /** The node at rel, as far as the tree knows it. */
  private find(rel: string): Known<T> | undefined {
    if (rel === '') return this.top;
    let k: Known<T> | undefined = this.top;
    for (const c of rel.split('/')) {
      k = k.children?.get(c);
      if (k === undefined) return undefined;
    }
    return k;
  }

  private parentOf(rel: string): { parent: Known<T> | undefined; name: string } {
    const slash = rel.lastIndexOf('/');
    return slash === -1
      ? { parent: this.top, name: rel }
      : { parent: this.find(rel.slice(0, slash)), name: rel.slice(slash + 1) };
  }

  private place(rel: string, k: Known<T>): void {
    const { parent, name } = this.parentOf(rel);
    // Parents are verified (and so known) before anything is placed below them.
    if (parent === undefined) return;
    // A copy: `name` is a slice of the entry's whole path, and V8 would keep all of it alive.
    (parent.children ??= new Map()).set(Buffer.from(name).toString(), k);
  }

  private lookup(rel: string): Known<T> | undefined {
    const k = this.find(rel);
    if (k !== undefined || this.fresh) return k;
    try {
      const st = lstatSync(this.abs(rel));
      const kind: NodeKind = st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFile()
            ? 'file'
            : 'other';
      const found: Known<T> = { kind, ours: false };
      this.place(rel, found);
      return found;
    } catch (e) {
      if (hasErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }
}
