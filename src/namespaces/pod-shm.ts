// A pod's /dev/shm: one tmpfs per pod that all its containers bind-mount, sized by the config.
import { mkdirSync, rmdirSync } from 'node:fs';
import { hasErrno } from '../core/errors.js';
import { MNT_DETACH, mount, MS_NODEV, MS_NOEXEC, MS_NOSUID, umount2 } from '../sys/mount-calls.js';

export function mountPodShm(path: string, sizeBytes: number): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  mount('shm', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${sizeBytes}`);
}

/** Idempotent: a path that is not mounted (or not there) is fine. */
export function unmountPodShm(path: string): void {
  try {
    umount2(path, MNT_DETACH);
  } catch (e) {
    if (!hasErrno(e, 'EINVAL') && !hasErrno(e, 'ENOENT')) throw e;
  }
  try {
    rmdirSync(path);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
  }
}
