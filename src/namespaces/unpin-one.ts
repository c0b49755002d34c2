// Unpins one namespace of a pod (its netns at StopPodSandbox: the kernel then deletes the pod's
// veth with it) while the others stay pinned until RemovePodSandbox.
import { unlinkSync } from 'node:fs';
import { hasErrno } from '../core/errors.js';
import { MNT_DETACH, UMOUNT_NOFOLLOW, umount2 } from '../sys/mount-calls.js';

/** Idempotent: a path that is not mounted or not there is fine. */
export function unpinNamespace(path: string): void {
  try {
    umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
  } catch (e) {
    if (!hasErrno(e, 'EINVAL') && !hasErrno(e, 'ENOENT')) throw e;
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if (!hasErrno(e, 'ENOENT')) throw e;
  }
}
