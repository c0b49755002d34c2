// A pod's tmpfs mounts, sized by the config: its /dev/shm, and the dir of its hosts, resolv.conf
// and hostname, which all its containers bind-mount read-write.
import { mkdirSync, rmdirSync } from 'node:fs';
import { hasErrno } from '../core/errors.js';
import { MNT_DETACH, mount, MS_NODEV, MS_NOEXEC, MS_NOSUID, umount2 } from '../sys/mount-calls.js';

export function mountPodShm(path: string, sizeBytes: number): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  mount('shm', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${sizeBytes}`);
}

/**
 * The pod files' own filesystem: what containers write into /etc/hosts (and the others) fills it
 * and not the daemon's state dir, /run on a real node.
 */
export function mountPodFilesDir(path: string, sizeBytes: number): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  mount('skiff-pod-files', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=755,size=${sizeBytes}`);
}

/** Idempotent: a path that is not mounted (or not there) is fine. The dir stays (the pod's goes). */
export function unmountPodFilesDir(path: string): void {
  try {
    umount2(path, MNT_DETACH);
  } catch (e) {
    if (!hasErrno(e, 'EINVAL') && !hasErrno(e, 'ENOENT')) throw e;
  }
}

/** Idempotent: a path that is not mounted (or not there) is fine. */
export function unmountPodShm(path: string): void {
  unmountPodFilesDir(path);
  try {
    rmdirSync(path);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
  }
}
