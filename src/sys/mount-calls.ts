// mount(2) and umount2(2): the daemon's own mount work (unpinning namespace files, and later
// rootfs and /dev/shm mounts) without spawning mount(8), which costs milliseconds per call.
import { check, fn } from './libc.js';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;

export const MNT_FORCE = 0x1;
/** Lazy unmount: detached now, released when the last user lets go (never fails with EBUSY). */
export const MNT_DETACH = 0x2;
export const UMOUNT_NOFOLLOW = 0x8;

/** `data` is the file system's option string (overlay's lowerdir=…), or null. */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  const f = fn(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    'mount',
  );
  check('mount', f(source, target, fstype, flags, data) as number, target);
}

/** Throws a SyscallError: EINVAL when target is not a mount point, ENOENT when it does not exist. */
export function umount2(target: string, flags: number): void {
  const f = fn('int umount2(const char *target, int flags)', 'umount2');
  check('umount2', f(target, flags) as number, target);
}
