/* The few files skiff-init writes under the container's /proc after pivot_root (run) or after
 * joining its mount namespace (exec): the AppArmor exec attribute and oom_score_adj. Whoever
 * controls the container's mounts could have put something else there: an image whose /proc is
 * a plain directory while proc is mounted elsewhere, one whose /proc is a symlink into a volume
 * (mounts.c refuses that one), or a container with CAP_SYS_ADMIN that covered /proc (or
 * /proc/self/attr) with a tmpfs before a later exec. A write
 * there would then go to a file the pod made, and the process would run unconfined. So, as runc
 * does since CVE-2019-16884: /proc is opened once, through no symlink, and must be the root of a
 * procfs; each file is opened beneath it, across no mount and through no magic link, and must
 * itself be on a procfs before anything is written to it. */
#include "init.h"

/* Only the root of a procfs has this inode number (include/linux/proc_ns.h). */
#define PROC_ROOT_INO 1
#define SELF_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS)

static int proc_root = -1;

static bool on_procfs(int fd)
{
	struct rt_statfs st;

	return rt_fstatfs(fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

/* The container's /proc as an O_PATH fd (kept, close-on-exec), or -1 after reporting. */
static int open_root(const char *what)
{
	struct statx st;
	long fd, r;

	if (proc_root >= 0)
		return proc_root;
	fd = rt_openat2(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_SYMLINKS);
	if (fd == -ELOOP)
		return refuse("%s: /proc is not the container's procfs: a symlink is on its path", what);
	if (fd < 0)
		return report_err((int)-fd, "%s: open /proc", what);
	if ((r = rt_statx((int)fd, "", AT_EMPTY_PATH, STATX_INO, &st)) < 0) {
		rt_close((int)fd);
		return report_err((int)-r, "%s: stat /proc", what);
	}
	if (!on_procfs((int)fd) || st.stx_ino != PROC_ROOT_INO) {
		rt_close((int)fd);
		return refuse("%s: /proc is not the container's procfs (not the root of a proc filesystem)", what);
	}
	proc_root = (int)fd;
	return proc_root;
}

long procfs_open_self(const char *rel, int flags, bool missing_ok, const char *what)
{
	char path[64];
	long fd;

	if (open_root(what) < 0)
		return -1;
	if (rt_format(path, sizeof(path), "self/%s", rel) >= sizeof(path))
		return report("%s: /proc/self/%s: name too long", what, rel);
	/* "self" is an ordinary symlink to "<pid>" on the same procfs: it stays beneath. */
	fd = rt_openat2(proc_root, path, flags | O_CLOEXEC, SELF_FLAGS);
	if (fd == -ENOENT && missing_ok)
		return fd;
	if (fd == -EXDEV)
		return refuse("%s: /proc/%s is not on the container's procfs: a mount covers it", what, path);
	if (fd < 0)
		return report_err((int)-fd, "%s: open /proc/%s", what, path);
	if (!on_procfs((int)fd)) {
		rt_close((int)fd);
		return refuse("%s: /proc/%s is not on the container's procfs", what, path);
	}
	return fd;
}
