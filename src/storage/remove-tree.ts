// Removing a tree a container filled (its writable layer). The container chose its shape, so:
// - never on the event loop: rmSync of 100 000 files held the daemon for 3 s on the 2-core VM;
// - never a whole directory in memory: Node's rm lists a directory and starts one promise per
//   entry at once;
// - never by full path: a container can nest directories past PATH_MAX (mkdir and cd in a loop),
//   and every path-based remover then fails with ENAMETOOLONG and the layer stays forever. Each
//   directory is reached from its parent's fd, and its entries are removed through
//   /proc/self/fd/N/<name>;
// - never following a symlink (O_NOFOLLOW): links are unlinked, not entered; never entering
//   another file system;
// - names as bytes: a name that is not UTF-8 would otherwise never match its entry again.
// One fs call and one directory fd at a time, so the other libuv workers stay free for the
// daemon's own work and no depth runs it out of fds.
import { constants } from 'node:fs';
import { open, opendir, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { failedPrecondition, hasErrno } from '../core/errors.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

const inDir = (fh: FileHandle, name: Buffer | string) => Buffer.concat([Buffer.from(`/proc/self/fd/${fh.fd}/`), Buffer.from(name)]);

/** Removes `path` and everything below it; a missing path is fine, a file or symlink is unlinked. */
export async function removeTree(path: string): Promise<void> {
  let dir: FileHandle;
  try {
    dir = await open(path, DIR_FLAGS);
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return;
    if (!hasErrno(e, 'ENOTDIR') && !hasErrno(e, 'ELOOP')) throw e;
    await unlink(path).catch((u: unknown) => {
      if (!hasErrno(u, 'ENOENT')) throw u;
    });
    return;
  }
  // Down through a child's name, up through "..", which is never a symlink: one fd whatever the
  // depth, and only the names on the way down are kept.
  const names: Buffer[] = [];
  try {
    const dev = (await dir.stat()).dev;
    for (;;) {
      const child = await emptyOrFirstSubdir(dir);
      if (child !== undefined) {
        const next = await open(inDir(dir, child), DIR_FLAGS);
        await dir.close();
        dir = next;
        // Nothing of another file system is ours to delete (a mount inside the tree).
        if ((await dir.stat()).dev !== dev) throw failedPrecondition(`${path} has a mount inside; not removed`);
        names.push(child);
        continue;
      }
      const done = names.pop();
      if (done === undefined) break;
      const up = await open(inDir(dir, '..'), constants.O_RDONLY | constants.O_DIRECTORY);
      await dir.close();
      dir = up;
      await rmdir(inDir(dir, done));
    }
  } finally {
    await dir.close().catch(() => {});
  }
  await rmdir(path);
}

/** Unlinks in flight at once: enough to hide the round trips to libuv's workers, few enough
 * that the daemon's own fs calls wait behind a millisecond of them at most. */
const BATCH = 32;

/**
 * Unlinks every non-directory in `dir`, and returns the name of the first subdirectory met, or
 * undefined once the directory is empty. Unlinking while the directory is read may hide entries
 * from that same listing: it is read again until a listing finds nothing.
 */
async function emptyOrFirstSubdir(dir: FileHandle): Promise<Buffer | undefined> {
  for (;;) {
    let seen = 0;
    let batch: Buffer[] = [];
    let subdir: Buffer | undefined;
    const flush = async () => {
      const results = await Promise.allSettled(batch.map((name) => unlink(inDir(dir, name))));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled' || hasErrno(r.reason, 'ENOENT')) return;
        // A file system that does not report entry types: the unlink tells.
        if (hasErrno(r.reason, 'EISDIR')) subdir ??= batch[i];
        else throw r.reason;
      });
      batch = [];
    };
    // Node's types allow only text encodings here, but 'buffer' works and gives the raw bytes.
    const listing = await opendir(`/proc/self/fd/${dir.fd}`, { encoding: 'buffer' as BufferEncoding, bufferSize: 128 });
    for await (const entry of listing) {
      seen++;
      const name = entry.name as unknown as Buffer;
      if (entry.isDirectory()) {
        subdir = name;
        break;
      }
      batch.push(name);
      if (batch.length >= BATCH) await flush();
      if (subdir) break;
    }
    await flush();
    if (subdir) return subdir;
    if (seen === 0) return undefined;
  }
}
