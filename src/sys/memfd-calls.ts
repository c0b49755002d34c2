// Sealed in-memory files: memfd_create, a copy of the bytes, then seals that no process can
// remove. A container that gets hold of such a file (through /proc/<pid>/exe of a helper it can
// see) can read it but never change it: writes, truncation and growth fail with EPERM, and so
// does adding or removing seals.
import { closeSync, fchmodSync, readFileSync, writeSync } from 'node:fs';
import koffi from 'koffi';
import { check, fn } from './libc.js';
import { SkiffError } from '../core/errors.js';
import { SyscallError } from './errno.js';

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
/** Linux 6.3+: say so explicitly, or the kernel warns (and refuses under vm.memfd_noexec=2). */
const MFD_EXEC = 0x10;
const F_DUPFD_CLOEXEC = 1030;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
/** Linux 6.3+: the mode's exec bits cannot change (a holder could otherwise chmod it 000). */
export const F_SEAL_EXEC = 0x20;
const EACCES = 13;
const EINVAL = 22;

/** What a sealed copy always carries. */
export const SEALED = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

/** vm.memfd_noexec of our pid namespace, or undefined where the kernel has no such sysctl. */
function memfdNoexec(): string | undefined {
  try {
    return readFileSync('/proc/sys/vm/memfd_noexec', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function memfdCreate(name: string): number {
  const create = fn('int memfd_create(const char *name, unsigned int flags)', 'memfd_create');
  const flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  const fd = create(name, flags | MFD_EXEC) as number;
  const errno = fd === -1 ? koffi.errno() : 0;
  // Kernels before 6.3 do not know MFD_EXEC; their memfds are executable anyway.
  if (errno === EINVAL) return check('memfd_create', create(name, flags) as number, name);
  // vm.memfd_noexec=2 refuses every executable memfd, and it cannot be lowered in this pid
  // namespace: say so, rather than a bare EACCES.
  if (errno === EACCES && memfdNoexec() === '2') {
    throw new SkiffError(
      'FailedPrecondition',
      `memfd_create ${name} (MFD_EXEC): EACCES: vm.memfd_noexec is 2, which forbids executable memfds; ` +
        'Skiff runs every helper from a sealed executable memfd and needs vm.memfd_noexec 0 or 1',
    );
  }
  return check('memfd_create', fd, name);
}

function fcntlInt(fd: number, cmd: number, arg: number): number {
  const f = fn('int fcntl(int fd, int cmd, ...)', 'fcntl');
  return f(fd, cmd, 'int', arg) as number;
}

/**
 * A close-on-exec memfd named `name` holding `content`, mode 0555, sealed against every change
 * (SEALED, plus F_SEAL_EXEC where the kernel has it). Its fd is at least `minFd`, so that it
 * never lands on a number a spawn hands a child (3, 4) and gets overwritten there.
 */
export function sealedCopy(name: string, content: Buffer, minFd = 0): number {
  const first = memfdCreate(name);
  let fd = first;
  try {
    if (minFd > 0) {
      fd = check('fcntl', fcntlInt(first, F_DUPFD_CLOEXEC, minFd), 'F_DUPFD_CLOEXEC');
      closeSync(first);
    }
    for (let off = 0; off < content.length; ) off += writeSync(fd, content, off);
    // A memfd is born 0777: a holder of any uid could open it for writing. The seals refuse the
    // writes, not the open, and an open writer makes every execve of it fail (ETXTBSY).
    fchmodSync(fd, 0o555);
    if (fcntlInt(fd, F_ADD_SEALS, SEALED | F_SEAL_EXEC) === -1) {
      if (koffi.errno() !== EINVAL) throw new SyscallError('fcntl', koffi.errno(), `F_ADD_SEALS ${name}`);
      check('fcntl', fcntlInt(fd, F_ADD_SEALS, SEALED), `F_ADD_SEALS ${name}`);
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The seals of an open file (F_GET_SEALS); EINVAL for a file that cannot carry any. */
export function seals(fd: number): number {
  return check('fcntl', fcntlInt(fd, F_GET_SEALS, 0), 'F_GET_SEALS');
}
