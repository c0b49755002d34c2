/* runc's checkProcMount, on where a destination really is: the path it resolved to inside the
 * rootfs (symlinks of the image and ".." followed), and the filesystem it is on. Nothing may be
 * mounted at or under /proc, nor anywhere on a procfs, but a proc filesystem at /proc itself and
 * binds onto the few files lxcfs emulates. A mount over, say, /proc/sys or /proc/self/attr would
 * let the container write where the kernel's masks and read-only paths are meant to hold. */
#include "init.h"

/* Where runc allows a mount under /proc (exact paths), but /proc/net/dev: /proc/net is a symlink
 * into /proc/self, so that destination always resolves to /proc/<pid>/net/dev, which is refused. */
static const char *const allowed[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
	"/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
};

/* Only the root of a procfs has this inode number (include/linux/proc_ns.h). */
#define PROC_ROOT_INO 1

static long fd_target(int fd, char *buf, size_t size)
{
	char p[32];
	long n = rt_readlinkat(AT_FDCWD, fd_path(fd, p), buf, size - 1);

	if (n >= 0)
		buf[n] = '\0';
	return n == (long)size - 1 ? -ENAMETOOLONG : n;
}

/* The path of destfd as the container will see it ("/" for the root). */
static int path_in_root(int rootfd, int destfd, const char *dest, char *out, size_t size)
{
	static char root[PATH_MAX], at[PATH_MAX];
	long r;
	size_t len;

	if ((r = fd_target(rootfd, root, sizeof(root))) < 0 || (r = fd_target(destfd, at, sizeof(at))) < 0)
		return report_err((int)-r, "mount %s: where the destination is", dest);
	len = rt_strlen(root);
	if (rt_streq(root, "/"))
		len = 0;
	if (!rt_starts_with(at, root) || (at[len] != '/' && at[len] != '\0'))
		return report("mount %s: the destination is outside the rootfs (%s)", dest, at);
	rt_format(out, size, "%s", at[len] ? at + len : "/");
	return 0;
}

static bool is_procfs(int fd)
{
	struct rt_statfs st;

	return rt_fstatfs(fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

static bool is_procfs_root(int fd)
{
	struct statx st;

	return is_procfs(fd) && rt_statx(fd, "", AT_EMPTY_PATH, STATX_INO, &st) == 0 && st.stx_ino == PROC_ROOT_INO;
}

int proc_dest_check(int rootfd, int destfd, const char *dest, bool fresh_proc, int srcfd)
{
	char at[PATH_MAX];
	const char *where;

	if (path_in_root(rootfd, destfd, dest, at, sizeof(at)) < 0)
		return -1;
	where = rt_streq(at, dest) ? "" : at;
	if (rt_streq(at, "/proc")) {
		/* The container's proc itself: a new one, or (as runc allows) a bind of a whole procfs. */
		if (fresh_proc || (srcfd >= 0 && is_procfs_root(srcfd)))
			return 0;
		return refuse("mount %s: refused: %s%snot a proc filesystem, at /proc", dest, where, where[0] ? " is " : "");
	}
	if (rt_starts_with(at, "/proc/")) {
		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (rt_streq(at, allowed[i]))
				return 0;
		return refuse("mount %s: refused: %s%sinside /proc (only /proc/cpuinfo, /proc/meminfo and the other files "
			      "lxcfs provides may be mounted over)",
			      dest, where, where[0] ? " is " : "");
	}
	if (is_procfs(destfd))
		return refuse("mount %s: refused: %s is on a procfs", dest, at);
	return 0;
}
