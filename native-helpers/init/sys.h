/* The system calls skiff-init needs beyond ../common/rt.h, each returning its result or -errno, and
 * the few kernel constants that the uapi headers do not offer without clashing. */
#ifndef SKIFF_INIT_SYS_H
#define SKIFF_INIT_SYS_H

#include "../common/rt.h"

#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/stat.h>

#define RT_STR_(x) #x
#define RT_STR(x) RT_STR_(x)

/* Signal numbers (the same on x86_64 and arm64). */
#define SIG_HUP 1
#define SIG_STOP 19
#define SIG_TSTP 20
#define SIG_TTIN 21
#define SIG_TTOU 22
#define SIG_COUNT 64
#define SIG_BIT(s) (1ULL << ((s) - 1))
#define SIG_UNBLOCK_HOW 1

#define RT_TIOCSCTTY 0x540E
#define RT_TCGETS 0x5401
#define RT_POLLIN 0x1
#define RT_POLLHUP 0x10
#define RT_CLOSE_RANGE_CLOEXEC (1U << 2)
#define RT_MOUNT_ATTR_RDONLY 0x1
#define RT_AT_RECURSIVE 0x8000
#define RT_S_IFMT 0170000
#define RT_S_IFDIR 0040000
#define RT_S_IFCHR 0020000
#define RT_S_IFBLK 0060000
#define RT_S_IFIFO 0010000
#define RT_S_IFREG 0100000

struct rt_pollfd {
	int fd;
	short events;
	short revents;
};

struct rt_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

struct rt_rlimit {
	uint64_t cur;
	uint64_t max;
};

static inline long rt_openat(int dirfd, const char *path, int flags, int mode)
{
	return RT_RETRY(RT_SYS(__NR_openat, dirfd, path, flags, mode, 0));
}
static inline long rt_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)flags, .mode = 0, .resolve = resolve };

	return RT_RETRY(RT_SYS(__NR_openat2, dirfd, path, &how, sizeof(how), 0));
}
static inline long rt_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *st)
{
	return RT_SYS(__NR_statx, dirfd, path, flags, mask, st);
}
static inline long rt_mkdirat(int dirfd, const char *path, int mode)
{
	return RT_SYS(__NR_mkdirat, dirfd, path, mode, 0, 0);
}
static inline long rt_mknodat(int dirfd, const char *path, unsigned mode, unsigned dev)
{
	return RT_SYS(__NR_mknodat, dirfd, path, mode, dev, 0);
}
static inline long rt_symlinkat(const char *target, int dirfd, const char *path)
{
	return RT_SYS(__NR_symlinkat, target, dirfd, path, 0, 0);
}
static inline long rt_fchownat(int dirfd, const char *path, unsigned uid, unsigned gid, int flags)
{
	return RT_SYS(__NR_fchownat, dirfd, path, uid, gid, flags);
}
static inline long rt_fchdir(int fd) { return RT_SYS(__NR_fchdir, fd, 0, 0, 0, 0); }
static inline long rt_setns(int fd, int nstype) { return RT_SYS(__NR_setns, fd, nstype, 0, 0, 0); }
static inline long rt_pivot_root(const char *new_root, const char *put_old)
{
	return RT_SYS(__NR_pivot_root, new_root, put_old, 0, 0, 0);
}
static inline long rt_mount_setattr(int dirfd, const char *path, unsigned flags, struct rt_mount_attr *attr)
{
	return rt_syscall6(__NR_mount_setattr, dirfd, (long)path, flags, (long)attr, sizeof(*attr), 0);
}
/* The new mount API: a mount made detached (open_tree, fsopen + fsmount) is attached with
 * move_mount; flags as in <linux/mount.h>. */
static inline long rt_open_tree(int dirfd, const char *path, unsigned flags)
{
	return RT_SYS(__NR_open_tree, dirfd, path, flags, 0, 0);
}
static inline long rt_move_mount(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned flags)
{
	return RT_SYS(__NR_move_mount, from_dirfd, from, to_dirfd, to, flags);
}
static inline long rt_fsopen(const char *type, unsigned flags) { return RT_SYS(__NR_fsopen, type, flags, 0, 0, 0); }
static inline long rt_fsconfig(int fd, unsigned cmd, const char *key, const char *value, int aux)
{
	return RT_SYS(__NR_fsconfig, fd, cmd, key, value, aux);
}
static inline long rt_fsmount(int fd, unsigned flags, unsigned attr_flags)
{
	return RT_SYS(__NR_fsmount, fd, flags, attr_flags, 0, 0);
}
/* Only f_type is read; the buffer is larger than the kernel's struct statfs on 64-bit arches. */
struct rt_statfs {
	long f_type;
	long rest[15];
};
static inline long rt_fstatfs(int fd, struct rt_statfs *st) { return RT_SYS(__NR_fstatfs, fd, st, 0, 0, 0); }
static inline long rt_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	return RT_SYS(__NR_readlinkat, dirfd, path, buf, size, 0);
}
static inline long rt_execve(const char *path, char *const argv[], char *const envp[])
{
	return RT_SYS(__NR_execve, path, argv, envp, 0, 0);
}
static inline long rt_setgroups(size_t n, const unsigned *gids) { return RT_SYS(__NR_setgroups, n, gids, 0, 0, 0); }
static inline long rt_setresgid(unsigned g) { return RT_SYS(__NR_setresgid, g, g, g, 0, 0); }
static inline long rt_setresuid(unsigned u) { return RT_SYS(__NR_setresuid, u, u, u, 0, 0); }
static inline long rt_umask(unsigned mask) { return RT_SYS(__NR_umask, mask, 0, 0, 0, 0); }
static inline long rt_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return RT_SYS(__NR_ioctl, fd, req, arg, 0, 0);
}
static inline long rt_prlimit(int resource, const struct rt_rlimit *lim)
{
	return RT_SYS(__NR_prlimit64, 0, resource, lim, 0, 0);
}
static inline long rt_prctl5(int op, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
	return RT_SYS(__NR_prctl, op, a2, a3, a4, a5);
}
static inline long rt_pidfd_open(int pid) { return RT_SYS(__NR_pidfd_open, pid, 0, 0, 0, 0); }
static inline long rt_pread(int fd, void *buf, size_t n, long off)
{
	return RT_RETRY(RT_SYS(__NR_pread64, fd, buf, n, off, 0));
}
/* The filesystem type (f_type, a *_MAGIC) of an open file, or -errno. The buffer is larger than
 * the kernel's struct statfs on 64-bit arches; only its first field is read. */
static inline long rt_fs_magic(int fd)
{
	long st[16];
	long r = RT_SYS(__NR_fstatfs, fd, st, 0, 0, 0);

	return r < 0 ? r : st[0];
}
static inline long rt_setpgid(int pid, int pgid) { return RT_SYS(__NR_setpgid, pid, pgid, 0, 0, 0); }
/* Waits at most `ms` for one of the signals in `set` (blocked); -EAGAIN when none came. */
static inline long rt_sigtimedwait_ms(const uint64_t *set, struct rt_siginfo *info, long ms)
{
	struct {
		long sec, nsec;
	} t = { ms / 1000, (ms % 1000) * 1000000 };

	return RT_SYS(__NR_rt_sigtimedwait, set, info, &t, sizeof(uint64_t), 0);
}
static inline long rt_ppoll_now(struct rt_pollfd *fds, unsigned n)
{
	/* Writable: the kernel (and qemu-user) write the time left back. */
	struct {
		long sec, nsec;
	} zero = { 0, 0 };

	return RT_RETRY(RT_SYS(__NR_ppoll, fds, n, &zero, 0, 0));
}

#endif
