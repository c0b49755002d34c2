// Disk usage of containers' writable layers, for CRI ContainerStats (writable_layer) and
// ImageFsInfo's container filesystem. Walking a tree costs a stat per file, far too much for the
// request path (ListContainerStats over 200 containers), so a background scanner walks the
// tracked directories one at a time and get() only reads the last result.
//
// The walk is bounded so it never competes with real work: at most `concurrency` fs calls in
// flight (libuv has 4 threads, which image pulls and overlay mounts also need), and a pause
// after every `entriesPerSlice` entries. Like `du -x`: symlinks are counted, never followed;
// directories on another device (a mount inside the tree) are skipped; a hard-linked file counts
// once.
//
// The tree belongs to a running container, which can swap a directory for a symlink at any
// moment: each directory is opened with openat2 from its parent's fd, one name at a time, with no
// symlink and no mount crossing allowed, and is listed and its entries lstat'ed through that fd
// (/proc/self/fd/N/name), so a swap between the lstat and the listing is never followed onto
// the host. Names are bytes and no path the kernel sees is longer than one name: a name that is
// not UTF-8 or a tree deeper than PATH_MAX hides nothing from the count (and so from the
// container's ephemeral-storage limit). Directories are read as streams: one with a million
// entries is never one array.
import { closeSync, fstat, type Stats } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  AT_FDCWD,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  RESOLVE_BENEATH,
  RESOLVE_NO_SYMLINKS,
  RESOLVE_NO_XDEV,
  openat2,
} from '../sys/openat2-calls.js';

export interface LayerUsage {
  /** Sum of st_blocks × 512 over the tree: what the files take on disk, not their sizes. */
  usedBytes: bigint;
  /** Entries in the tree, the root included. */
  inodesUsed: bigint;
  /** When the scan finished: Unix nanoseconds. */
  timestampNs: bigint;
}

export interface LayerUsageScannerOptions {
  /** Entries stat'ed between two pauses. Default 1000. */
  entriesPerSlice?: number;
  /** The pause after a slice; 0 yields one event-loop turn. Default 0. */
  slicePauseMs?: number;
  /** fs calls in flight at once. Default 2. */
  concurrency?: number;
  /** Told about a scan that failed for another reason than the directory being gone. */
  onError?: (id: string, dir: string, err: unknown) => void;
}

interface Tracked {
  readonly dir: string;
}

/** Why a walk stopped early: untracked, re-tracked elsewhere, or the scanner stopped. */
const ABANDONED = Symbol('abandoned');

export class LayerUsageScanner {
  /** Object identity is the generation: a walk of an entry that was replaced is thrown away. */
  private readonly tracked = new Map<string, Tracked>();
  private readonly results = new Map<string, LayerUsage>();
  /** Entries a round has walked (or tried to) at least once: "new" means not in here. */
  private readonly attempted = new WeakSet<Tracked>();
  private readonly slice: number;
  private readonly pauseMs: number;
  private readonly concurrency: number;
  private readonly onError: ((id: string, dir: string, err: unknown) => void) | undefined;
  private intervalMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(opts: LayerUsageScannerOptions = {}) {
    this.slice = Math.max(1, opts.entriesPerSlice ?? 1000);
    this.pauseMs = Math.max(0, opts.slicePauseMs ?? 0);
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
    this.onError = opts.onError;
  }

  /** Starts (or replaces) tracking `dir` under `id`; a started scanner measures it soon. */
  track(id: string, dir: string): void {
    const cur = this.tracked.get(id);
    if (cur?.dir === dir) return;
    this.tracked.set(id, { dir });
    this.results.delete(id);
    this.kick();
  }

  untrack(id: string): void {
    this.tracked.delete(id);
    this.results.delete(id);
  }

  /** The last finished scan of `id`; memory only. undefined before the first scan finishes. */
  get(id: string): LayerUsage | undefined {
    return this.results.get(id);
  }

  /** Rescans every tracked directory every `intervalMs` (measured from the end of a round). */
  start(intervalMs: number): void {
    this.intervalMs = Math.max(1, intervalMs);
    if (!this.stopped) return;
    this.stopped = false;
    this.runRound(false);
  }

  /** Stops the rescans; resolves when the walk in progress has given up. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round over every tracked directory now, e.g. in tests or after a container stopped. */
  async scanAll(): Promise<void> {
    await this.running;
    await this.round(false, true);
  }

  /** A newly tracked directory is measured at once rather than at the next interval. */
  private kick(): void {
    if (this.stopped || this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.runRound(true);
  }

  private runRound(onlyNew: boolean): void {
    this.running = this.round(onlyNew, false).finally(() => {
      this.running = undefined;
      this.arm();
    });
  }

  private arm(): void {
    if (this.stopped || this.intervalMs === undefined) return;
    // Tracked while the round ran: measure those first.
    if ([...this.tracked.values()].some((t) => !this.attempted.has(t))) {
      this.runRound(true);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runRound(false);
    }, this.intervalMs);
    this.timer.unref();
  }

  private async round(onlyNew: boolean, force: boolean): Promise<void> {
    for (const [id, t] of [...this.tracked]) {
      if (!force && this.stopped) return;
      if (onlyNew && this.attempted.has(t)) continue;
      if (this.tracked.get(id) !== t) continue;
      this.attempted.add(t);
      try {
        const usage = await this.measure(id, t, force);
        if (usage === undefined) this.results.delete(id);
        else if (this.tracked.get(id) === t) this.results.set(id, usage);
      } catch (e) {
        if (e === ABANDONED) continue;
        this.results.delete(id);
        this.onError?.(id, t.dir, e);
      }
    }
  }

  /** The usage of t's tree; undefined when its root is gone. Throws ABANDONED when t is stale. */
  private async measure(id: string, t: Tracked, force: boolean): Promise<LayerUsage | undefined> {
    let rootFd: number;
    try {
      rootFd = await openat2(AT_FDCWD, t.dir, O_RDONLY | O_DIRECTORY, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return await this.walk(id, t, force, rootFd);
    } finally {
      closeSync(rootFd);
    }
  }

  /**
   * Depth first, each directory opened from its parent's fd by one name (as bytes), so no path
   * the kernel sees is longer than a name and no name is re-encoded. The fds of the directories on
   * the way down stay open, up to MAX_OPEN_DIRS; past that the higher ones are closed and reached
   * again through ".." on the way back, checked to be the same directory.
   */
  private async walk(id: string, t: Tracked, force: boolean, rootFd: number): Promise<LayerUsage> {
    const root = await fstatAsync(rootFd);
    let bytes = root.blocks * 512;
    let inodes = 1;
    const dev = root.dev;
    const linked = new Set<number>();
    let budget = this.slice;
    /** Lists dir, counts its entries, and returns the names of its subdirectories. */
    const scan = async (dirFd: number): Promise<Buffer[]> => {
      const subdirs: Buffer[] = [];
      const names = await listing(fdPath(dirFd));
      if (!names) return subdirs; // removed or unreadable meanwhile: a layer in use changes under us
      let batch: Buffer[] = [];
      const flush = async () => {
        const stats = await Promise.all(batch.map((n) => statOrUndefined(inFd(dirFd, n))));
        for (let k = 0; k < batch.length; k++) {
          const st = stats[k];
          if (st === undefined || st.dev !== dev) continue;
          if (st.nlink > 1 && !st.isDirectory()) {
            if (linked.has(st.ino)) continue;
            linked.add(st.ino);
          }
          bytes += st.blocks * 512;
          inodes++;
          if (st.isDirectory()) subdirs.push(batch[k]!);
        }
        budget -= batch.length;
        batch = [];
        if (budget <= 0) {
          budget = this.slice;
          await (this.pauseMs > 0 ? sleep(this.pauseMs) : yieldToLoop());
          if (this.tracked.get(id) !== t || (this.stopped && !force)) throw ABANDONED;
        }
      };
      for await (const name of names) {
        batch.push(name);
        if (batch.length >= this.concurrency) await flush();
      }
      if (batch.length > 0) await flush();
      return subdirs;
    };

    const stack: Frame[] = [{ fd: rootFd, dev: root.dev, ino: root.ino, subdirs: await scan(rootFd) }];
    try {
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const name = top.subdirs.pop();
        if (name === undefined) {
          stack.pop();
          const parent = stack[stack.length - 1];
          try {
            if (parent !== undefined && parent.fd === CLOSED) parent.fd = await reopenParent(top.fd, parent);
          } finally {
            if (top.fd !== rootFd) closeSync(top.fd);
            top.fd = CLOSED;
          }
          continue;
        }
        const fd = await openChild(top.fd, name);
        if (fd === undefined) continue; // removed, or swapped for a symlink: not ours to walk
        const st = await fstatAsync(fd).catch(() => undefined);
        if (st === undefined) {
          closeSync(fd);
          continue;
        }
        const frame: Frame = { fd, dev: st.dev, ino: st.ino, subdirs: [] };
        stack.push(frame);
        // The root's fd is the caller's, and the fd count stays bounded whatever the depth.
        const far = stack.length - 1 - MAX_OPEN_DIRS;
        if (far > 0 && stack[far]!.fd !== CLOSED) {
          closeSync(stack[far]!.fd);
          stack[far]!.fd = CLOSED;
        }
        frame.subdirs = await scan(fd);
      }
    } finally {
      for (const f of stack) if (f.fd !== CLOSED && f.fd !== rootFd) closeSync(f.fd);
    }
    return {
      usedBytes: BigInt(bytes),
      inodesUsed: BigInt(inodes),
      timestampNs: BigInt(Date.now()) * 1_000_000n,
    };
  }
}

/** A directory on the walk's way down: its fd (CLOSED once closed for depth), and what to visit. */
interface Frame {
  fd: number;
  readonly dev: number;
  readonly ino: number;
  subdirs: Buffer[];
}

const CLOSED = -1;
/** Directory fds one walk holds at most (the root's aside). */
const MAX_OPEN_DIRS = 64;

const fstatAsync = promisify(fstat);
const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

const inFd = (fd: number, name: Buffer) => Buffer.concat([Buffer.from(`${fdPath(fd)}/`), name]);

/** A subdirectory by its one name: never through a symlink, never onto another mount. */
async function openChild(dirFd: number, name: Buffer): Promise<number | undefined> {
  try {
    return await openat2(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
  } catch {
    return undefined;
  }
}

/**
 * The parent of `childFd` through "..", which is never a symlink. The container may have moved
 * the child meanwhile: the result must be the directory the walk came down through, or the walk
 * stops rather than count (or list) a directory that is not the one it left.
 */
async function reopenParent(childFd: number, expected: Frame): Promise<number> {
  const fd = await openat2(childFd, '..', O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
  const st = await fstatAsync(fd).catch((e: unknown) => {
    closeSync(fd);
    throw e;
  });
  if (st.dev !== expected.dev || st.ino !== expected.ino) {
    closeSync(fd);
    throw new Error('a directory was moved while its usage was measured; the scan is retried next round');
  }
  return fd;
}

/** The entry names of an open directory as bytes, read in small batches; undefined when it cannot be read. */
async function listing(dirPath: string): Promise<AsyncIterable<Buffer> | undefined> {
  let dir;
  try {
    // Node's types allow only text encodings here, but 'buffer' works and gives the raw bytes:
    // a name that is not UTF-8 would otherwise be mangled and never found again.
    dir = await opendir(dirPath, { bufferSize: 64, encoding: 'buffer' as BufferEncoding });
  } catch {
    return undefined;
  }
  return (async function* () {
    // for-await over the Dir closes it however the loop ends.
    for await (const entry of dir) yield entry.name as unknown as Buffer;
  })();
}

/** lstat, never following a symlink; undefined when the entry vanished or cannot be read. */
async function statOrUndefined(path: Buffer): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}
