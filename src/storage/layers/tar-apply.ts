// Applies tar entries to a layer directory, one entry at a time, in archive order. Small files are
// written in the background (a bounded window), because their open/write/chown/chmod/utimes/close
// round trips through the thread pool would otherwise dominate a layer of many small files; every
// later entry that touches such a path waits for its write first.
import { constants as fsc } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink, type FileHandle } from 'node:fs/promises';
import type { Extract, Header } from 'tar-stream';
import type { OpContext } from '../../core/context.js';
import { isSkiffError, toSkiffError } from '../../core/errors.js';
import { makedev, SyscallError, type Sys } from '../../sys/index.js';
import { readAll, skipBody, writeBody, writevAll } from './file-data.js';
import { cleanEntryPath, LayerTree, refuse, type NodeKind } from './tar-paths.js';

export interface UnpackStats {
  /** Entries in the archive. */
  entries: number;
  /** Disk use estimate: file sizes rounded up to 4 KiB blocks, a block per directory. */
  bytes: number;
  /** Inodes created (hard links excluded). */
  inodes: number;
}

/** One archive entry as tar-stream hands it out: a header and a readable body. */
export type Entry = Extract extends AsyncIterable<infer S> ? S : never;

interface Meta {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atime: number;
  readonly mtime: number;
  readonly xattrs: ReadonlyMap<string, Buffer>;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const XATTR_PAX = 'SCHILY.xattr.';
const SMALL_FILE = 256 * 1024;
const MAX_PENDING = 64;
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
// Never through a symlink, never over an existing file (Node adds O_CLOEXEC itself).
const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const BLOCK = 4096;

export class TarApplier {
  readonly stats: UnpackStats = { entries: 0, bytes: 0, inodes: 0 };
  private readonly tree: LayerTree;
  private readonly pending = new Map<string, Promise<void>>();
  private pendingBytes = 0;
  private failure: unknown;
  /** Directory times are set last: creating entries inside a directory changes its mtime. */
  private readonly dirTimes = new Map<string, Meta>();

  constructor(
    private readonly ctx: OpContext,
    root: string,
    fresh: boolean,
    private readonly sys: Sys,
  ) {
    this.tree = new LayerTree(root, fresh);
  }

  async apply(entry: Entry, rawPax: ReadonlyMap<string, Buffer> | undefined): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const h = entry.header;
    this.stats.entries++;
    try {
      await this.applyOne(entry, h, rawPax);
    } catch (e) {
      if (isSkiffError(e) && e.kind === 'InvalidArgument') throw e;
      throw toSkiffError(e, `unpacking layer entry ${JSON.stringify(h.name)}`);
    }
  }

  /** Waits for background writes, then sets directory times. */
  async finish(): Promise<void> {
    await this.drain();
    if (this.failure !== undefined) throw this.failure;
    this.stats.inodes += this.tree.implicitDirs;
    this.stats.bytes += this.tree.implicitDirs * BLOCK;
    const dirs = [...this.dirTimes];
    for (let i = 0; i < dirs.length; i += MAX_PENDING) {
      await Promise.all(
        dirs.slice(i, i + MAX_PENDING).map(([rel, m]) => lutimes(this.tree.abs(rel), m.atime, m.mtime)),
      );
    }
  }

  /** Waits for every background write; their errors are kept in `failure`. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()]);
  }

  private async applyOne(entry: Entry, h: Header, rawPax: ReadonlyMap<string, Buffer> | undefined): Promise<void> {
    const name = h.name;
    if (name.includes('\0')) throw refuse(name, 'NUL in name');
    const comps = cleanEntryPath(name);
    if (comps === undefined) throw refuse(name, 'path climbs out of the layer');
    const meta = metaOf(h, rawPax);
    const base = comps[comps.length - 1] ?? '';
    const isWhiteout = base.startsWith(WHITEOUT);
    const isFile = !isWhiteout && (h.type === 'file' || h.type === 'contiguous-file');
    // Only regular files take their body; any other body is skipped so the parser can go on.
    if (!isFile && (h.size ?? 0) > 0 && h.type !== 'directory') await skipBody(entry);

    if (isWhiteout) return this.whiteout(name, comps, base, h, meta);
    const rel = comps.join('/');
    if (comps.length === 0) {
      if (h.type !== 'directory') throw refuse(name, 'the layer root can only be a directory');
      return this.dirMeta(rel, meta);
    }
    if (this.pending.has(rel)) await this.pending.get(rel);
    switch (h.type) {
      case 'directory':
        return this.directory(name, comps, rel, meta);
      case 'file':
      case 'contiguous-file':
        return this.file(name, comps, rel, meta, h.size ?? 0, entry);
      case 'symlink':
        return this.symlink(name, comps, rel, meta, h.linkname || '');
      case 'link':
        return this.hardlink(name, comps, rel, h.linkname || '');
      case 'character-device':
      case 'block-device':
      case 'fifo':
        return this.node(name, comps, rel, meta, h);
      default:
        throw refuse(name, `unsupported entry type ${String(h.type)}`);
    }
  }

  private async directory(name: string, comps: string[], rel: string, meta: Meta): Promise<void> {
    await this.tree.ensureParents(comps, name);
    if ((await this.tree.kindOf(rel)) !== 'dir') {
      await this.clear(rel);
      await mkdir(this.tree.abs(rel), 0o700);
      this.tree.set(rel, 'dir');
      this.count(BLOCK);
    }
    await this.dirMeta(rel, meta);
  }

  private async dirMeta(rel: string, meta: Meta): Promise<void> {
    const abs = this.tree.abs(rel);
    await lchown(abs, meta.uid, meta.gid);
    await chmod(abs, meta.mode);
    this.setXattrs(abs, meta);
    this.dirTimes.set(rel, meta);
  }

  private async file(name: string, comps: string[], rel: string, meta: Meta, size: number, body: Entry): Promise<void> {
    await this.prepare(name, comps, rel);
    const abs = this.tree.abs(rel);
    this.tree.set(rel, 'file');
    this.count(Math.ceil(size / BLOCK) * BLOCK);
    if (size > SMALL_FILE) {
      const fh = await open(abs, CREATE, 0o600);
      try {
        await writeBody(fh, body);
        await this.fileMeta(fh, abs, meta);
      } finally {
        await fh.close();
      }
      return;
    }
    const data = await readAll(body);
    await this.room();
    const job = (async () => {
      const fh = await open(abs, CREATE, 0o600);
      try {
        if (data.length > 0) await writevAll(fh, data);
        await this.fileMeta(fh, abs, meta);
      } finally {
        await fh.close();
      }
    })().then(
      () => undefined,
      (e: unknown) => {
        this.failure ??= toSkiffError(e, `writing layer entry ${JSON.stringify(name)}`);
      },
    );
    this.pendingBytes += size;
    const done = job.finally(() => {
      this.pendingBytes -= size;
      if (this.pending.get(rel) === done) this.pending.delete(rel);
    });
    this.pending.set(rel, done);
  }

  private async fileMeta(fh: FileHandle, abs: string, meta: Meta): Promise<void> {
    // chown drops setuid bits and file capabilities, so it goes first.
    await fh.chown(meta.uid, meta.gid);
    await fh.chmod(meta.mode);
    this.setXattrs(abs, meta);
    await fh.utimes(meta.atime, meta.mtime);
  }

  private async symlink(name: string, comps: string[], rel: string, meta: Meta, target: string): Promise<void> {
    if (target === '') throw refuse(name, 'symlink without a target');
    if (target.includes('\0')) throw refuse(name, 'NUL in symlink target');
    await this.prepare(name, comps, rel);
    const abs = this.tree.abs(rel);
    // The target is stored as written and never followed here: it is resolved inside the container.
    await symlink(target, abs);
    this.tree.set(rel, 'symlink');
    this.count(0);
    await lchown(abs, meta.uid, meta.gid);
    this.setXattrs(abs, meta);
    await lutimes(abs, meta.atime, meta.mtime);
  }

  private async hardlink(name: string, comps: string[], rel: string, linkname: string): Promise<void> {
    const target = cleanEntryPath(linkname);
    if (target === undefined || linkname.includes('\0')) {
      throw refuse(name, `hard link target ${JSON.stringify(linkname)} is outside the layer`);
    }
    const targetRel = target.join('/');
    const kind = this.tree.created(targetRel);
    if (kind === undefined) {
      throw refuse(name, `hard link target ${JSON.stringify(linkname)} is not an earlier entry of this layer`);
    }
    if (kind === 'dir') throw refuse(name, `hard link target ${JSON.stringify(linkname)} is a directory`);
    if (targetRel === rel) return;
    await this.pending.get(targetRel);
    await this.prepare(name, comps, rel);
    await link(this.tree.abs(targetRel), this.tree.abs(rel));
    this.tree.set(rel, kind);
  }

  private async node(name: string, comps: string[], rel: string, meta: Meta, h: Header): Promise<void> {
    await this.prepare(name, comps, rel);
    const abs = this.tree.abs(rel);
    const type = h.type === 'fifo' ? S_IFIFO : h.type === 'block-device' ? S_IFBLK : S_IFCHR;
    const dev = h.type === 'fifo' ? 0n : makedev(h.devmajor ?? 0, h.devminor ?? 0);
    this.sys.mknod(abs, type | meta.mode, dev);
    this.tree.set(rel, 'other');
    this.count(0);
    await lchown(abs, meta.uid, meta.gid);
    await chmod(abs, meta.mode); // after chown, and past the umask mknod applied
    this.setXattrs(abs, meta);
    await lutimes(abs, meta.atime, meta.mtime);
  }

  /** ".wh.<name>" hides <name> of the layers below; ".wh..wh..opq" hides everything below its directory. */
  private async whiteout(name: string, comps: string[], base: string, h: Header, meta: Meta): Promise<void> {
    const dirComps = comps.slice(0, -1);
    if (base === OPAQUE) {
      const dir = dirComps.join('/');
      if (this.pending.has(dir)) await this.pending.get(dir);
      await this.tree.ensureDir(dir, name);
      this.sys.lsetxattr(this.tree.abs(dir), OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    const hidden = base.slice(WHITEOUT.length);
    // Other ".wh..wh." names are aufs bookkeeping, meaningless to overlayfs.
    if (hidden.startsWith(WHITEOUT)) return;
    if (hidden === '' || hidden === '.' || hidden === '..') throw refuse(name, 'whiteout of no name');
    if (h.type === 'directory') throw refuse(name, 'a whiteout must not be a directory');
    const targetComps = [...dirComps, hidden];
    const rel = targetComps.join('/');
    if (this.pending.has(rel)) await this.pending.get(rel);
    await this.prepare(name, targetComps, rel);
    const abs = this.tree.abs(rel);
    this.sys.mknod(abs, S_IFCHR, makedev(0, 0));
    this.tree.set(rel, 'other');
    this.count(0);
    await lchown(abs, meta.uid, meta.gid);
  }

  /** Verifies the parents and removes whatever is at rel (a later entry replaces an earlier one). */
  private async prepare(name: string, comps: string[], rel: string): Promise<void> {
    await this.tree.ensureParents(comps, name);
    await this.clear(rel);
  }

  private async clear(rel: string): Promise<void> {
    const kind: NodeKind | undefined = await this.tree.kindOf(rel);
    if (kind === undefined) return;
    if (kind === 'dir') {
      await this.drain(); // something below may still be being written
      const prefix = `${rel}/`;
      for (const k of this.dirTimes.keys()) if (k === rel || k.startsWith(prefix)) this.dirTimes.delete(k);
    }
    await rm(this.tree.abs(rel), { recursive: kind === 'dir', force: true });
    this.tree.forget(rel);
  }

  /** Keeps the background window bounded in count and in buffered bytes. */
  private async room(): Promise<void> {
    while (this.pending.size >= MAX_PENDING || this.pendingBytes >= MAX_PENDING_BYTES) {
      await Promise.race(this.pending.values());
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private count(bytes: number): void {
    this.stats.inodes++;
    this.stats.bytes += bytes;
  }

  private setXattrs(abs: string, meta: Meta): void {
    for (const [key, value] of meta.xattrs) {
      try {
        this.sys.lsetxattr(abs, key, value);
      } catch (e) {
        // A file system without that namespace (security.selinux on a host without SELinux) is not
        // a reason to fail the pull; containerd skips these too.
        if (e instanceof SyscallError && (e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP')) {
          this.ctx.log.debug('layer xattr not supported here, skipped', { path: abs, xattr: key });
          continue;
        }
        throw e;
      }
    }
  }
}

function metaOf(h: Header, rawPax: ReadonlyMap<string, Buffer> | undefined): Meta {
  const pax = (h.pax ?? undefined) as Record<string, string> | undefined;
  const num = (v: string | undefined): number | undefined => {
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const mtime = num(pax?.mtime) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  const xattrs = new Map<string, Buffer>();
  if (pax) {
    for (const [key, value] of Object.entries(pax)) {
      if (!key.startsWith(XATTR_PAX)) continue;
      const xname = key.slice(XATTR_PAX.length);
      // Overlay's own attributes (redirect, metacopy, opaque) would let a layer steer the mount;
      // opaque directories come from ".wh..wh..opq" entries only.
      if (xname.startsWith('trusted.overlay.') || xname === '') continue;
      xattrs.set(xname, rawPax?.get(key) ?? Buffer.from(value, 'utf8'));
    }
  }
  return {
    mode: (h.mode ?? 0o644) & 0o7777,
    uid: num(pax?.uid) ?? h.uid ?? 0,
    gid: num(pax?.gid) ?? h.gid ?? 0,
    mtime,
    atime: num(pax?.atime) ?? mtime,
    xattrs,
  };
}
