// One daemon per state dir. The lock is an flock on <state>/skiffd.lock, so it dies with the
// process that holds it (a kill -9 never leaves a stale lock). The holder writes its pid in the
// file only to make the refusal message useful.
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { failedPrecondition } from '../core/errors.js';
import type { Sys } from '../sys/index.js';

export interface DaemonLock {
  readonly path: string;
  readonly fd: number;
  release(): void;
}

export function acquireDaemonLock(sys: Sys, path: string): DaemonLock {
  const fd = openSync(path, 'a+', 0o600);
  try {
    sys.lockExclusive(fd);
  } catch (e) {
    closeSync(fd);
    if ((e as NodeJS.ErrnoException).code === 'EWOULDBLOCK' || (e as NodeJS.ErrnoException).code === 'EAGAIN') {
      let holder = '';
      try {
        holder = readFileSync(path, 'utf8').trim();
      } catch {
        // The message is still right without the pid.
      }
      throw failedPrecondition(
        `another skiffd${holder ? ` (pid ${holder})` : ''} holds the lock ${path}; ` +
          'only one daemon may use a state directory',
      );
    }
    throw e;
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let released = false;
  return {
    path,
    fd,
    release() {
      if (released) return;
      released = true;
      closeSync(fd);
    },
  };
}
