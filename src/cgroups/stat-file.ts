// Reading cgroup control files: one reused buffer, no fstat, no fresh allocation per file, and
// the two text layouts stats need ("key value" lines, a single number).
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrno, toSkiffError } from '../core/errors.js';

/**
 * One reused buffer for every stats read (all synchronous, so never shared between two reads):
 * open/read/close into it costs half of readFileSync, which adds an fstat and a fresh buffer per
 * file, and a ListContainerStats reads six files per container.
 */
let readBuf = Buffer.allocUnsafeSlow(16 * 1024);

/** A control file's text, or undefined when it does not exist (cgroup gone, controller off). */
export function readStatFile(dir: string, file: string): string | undefined {
  const path = join(dir, file);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return undefined;
    throw toSkiffError(e, `reading ${path}`);
  }
  try {
    let len = 0;
    for (;;) {
      if (len === readBuf.length) {
        const bigger = Buffer.allocUnsafeSlow(readBuf.length * 2);
        readBuf.copy(bigger, 0, 0, len);
        readBuf = bigger;
      }
      const room = readBuf.length - len;
      const n = readSync(fd, readBuf, len, room, null);
      len += n;
      // cgroupfs files are seq_files, which fill the buffer up to EOF: a short read is the end,
      // and the read that would return 0 is a syscall saved per file.
      if (n < room) break;
    }
    // Control files are ASCII; latin1 skips the UTF-8 validation.
    return readBuf.toString('latin1', 0, len);
  } catch (e) {
    // ENODEV: the cgroup was removed between open and read.
    if (hasErrno(e, 'ENODEV') || hasErrno(e, 'ENOENT')) return undefined;
    throw toSkiffError(e, `reading ${path}`);
  } finally {
    closeSync(fd);
  }
}

/** "key value" lines (memory.stat, cpu.stat) → key → value; lines that are not two fields are skipped. */
export function parseFlatKeyed(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (!text) return out;
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const v = toBigint(line.slice(sp + 1));
    if (v !== undefined) out.set(line.slice(0, sp), v);
  }
  return out;
}

/** A single-number control file; undefined when absent or not a number ("max"). */
export function parseCounter(text: string | undefined): bigint | undefined {
  return text === undefined ? undefined : toBigint(text);
}

function toBigint(s: string): bigint | undefined {
  const t = s.trim();
  return /^\d+$/.test(t) ? BigInt(t) : undefined;
}
