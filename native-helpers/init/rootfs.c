/* The root filesystem: propagation of "/" so nothing leaks back to the host, the rootfs bound onto
 * itself (pivot_root needs a mount point), pivot_root without a temporary directory (the old root
 * is stacked on the new one and detached), then the read-only root, readonlyPaths, maskedPaths
 * and the spec's rootfsPropagation. Paths are opened once and mounted over by fd. */
#include "init.h"

static unsigned long propagation_flag(const char *name)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} table[] = {
		{ "private", MS_PRIVATE },	       { "rprivate", MS_PRIVATE | MS_REC },
		{ "slave", MS_SLAVE },		       { "rslave", MS_SLAVE | MS_REC },
		{ "shared", MS_SHARED },	       { "rshared", MS_SHARED | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (rt_streq(name, table[i].name))
			return table[i].flag;
	return 0;
}

int rootfs_prepare(const struct spec *s, const char *bundle, int *rootfd)
{
	static char rootfs[PATH_MAX];
	unsigned long flag = MS_SLAVE | MS_REC;
	long r, fd;

	if (s->rootfs_propagation) {
		unsigned long want = propagation_flag(s->rootfs_propagation);

		if (!want)
			return report("unknown linux.rootfsPropagation %s", s->rootfs_propagation);
		/* Shared propagation is set after pivot_root, which refuses a shared parent. */
		if (want & (MS_PRIVATE | MS_UNBINDABLE))
			flag = want | MS_REC;
	}
	if ((r = rt_mount(NULL, "/", NULL, flag, NULL)) < 0)
		return report_err((int)-r, "set the propagation of /");
	if ((s->root_path[0] == '/' ? rt_format(rootfs, sizeof(rootfs), "%s", s->root_path)
				    : rt_format(rootfs, sizeof(rootfs), "%s/%s", bundle, s->root_path)) >= sizeof(rootfs))
		return report("rootfs path too long");
	if ((r = rt_mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)) < 0)
		return report_err((int)-r, "bind the rootfs %s onto itself", rootfs);
	if ((fd = rt_open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0)) < 0)
		return report_err((int)-fd, "open the rootfs %s", rootfs);
	*rootfd = (int)fd;
	return 0;
}

int rootfs_pivot(int rootfd)
{
	long oldroot = rt_open("/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0), r;
	int rc = 0;

	if (oldroot < 0)
		return report_err((int)-oldroot, "open /");
	if ((r = rt_fchdir(rootfd)) < 0)
		rc = report_err((int)-r, "chdir to the rootfs");
	else if ((r = rt_pivot_root(".", ".")) < 0)
		rc = report_err((int)-r, "pivot_root");
	/* The old root now sits on top of the new one: detach it, without propagating that. */
	else if ((r = rt_fchdir((int)oldroot)) < 0)
		rc = report_err((int)-r, "chdir to the old root");
	else if ((r = rt_mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL)) < 0)
		rc = report_err((int)-r, "make the old root a slave");
	else if ((r = rt_umount2(".", RT_MNT_DETACH)) < 0)
		rc = report_err((int)-r, "detach the old root");
	else if ((r = rt_chdir("/")) < 0)
		rc = report_err((int)-r, "chdir /");
	rt_close((int)oldroot);
	return rc;
}

/* Read-only without touching the other flags (nosuid, noexec... stay as they were). */
static long make_readonly(const char *path, bool recursive)
{
	struct rt_mount_attr attr = { .attr_set = RT_MOUNT_ATTR_RDONLY };

	return rt_mount_setattr(AT_FDCWD, path, recursive ? RT_AT_RECURSIVE : 0, &attr);
}

static long make_readonly_fd(int fd, bool recursive)
{
	struct rt_mount_attr attr = { .attr_set = RT_MOUNT_ATTR_RDONLY };

	return rt_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? RT_AT_RECURSIVE : 0), &attr);
}

/* A path inside the container (after pivot_root), followed like mount(2) would, but never through
 * a /proc magic link. Returns an O_PATH fd or -errno. */
static long open_inside(const char *path, uint64_t resolve)
{
	return rt_openat2(AT_FDCWD, path, O_PATH | O_CLOEXEC, RESOLVE_NO_MAGICLINKS | resolve);
}

/* A recursive bind of the path onto itself, made read-only before it is attached onto that very
 * path's fd: the flag cannot land on another mount. */
static int readonly_path(const char *path)
{
	long fd = open_inside(path, 0), tree, r;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return report_err((int)-fd, "readonlyPaths: open %s", path);
	if ((tree = detached_bind((int)fd, "", true, 0)) < 0) {
		rt_close((int)fd);
		return report_err((int)-tree, "readonlyPaths: bind %s", path);
	}
	if ((r = make_readonly_fd((int)tree, true)) < 0 || (r = attach_mount((int)tree, (int)fd)) < 0) {
		rt_close((int)tree);
		rt_close((int)fd);
		return report_err((int)-r, "readonlyPaths: make %s read-only", path);
	}
	rt_close((int)tree);
	rt_close((int)fd);
	return 0;
}

/* The container's /dev/null, for masking, only if it is the null device (1:3) itself: an image or
 * a volume may have put a symlink or a file there, and binding that over a masked path would
 * unmask it. No symlink is followed on the way. Returns an O_PATH fd, or -1. */
static int null_device(void)
{
	struct statx st;
	long fd = open_inside("/dev/null", RESOLVE_NO_SYMLINKS), r;

	if (fd == -ELOOP)
		return refuse("maskedPaths: /dev/null is not the null device: a symlink is on its path");
	if (fd < 0)
		return report_err((int)-fd, "maskedPaths: /dev/null");
	if ((r = rt_statx((int)fd, "", AT_EMPTY_PATH, STATX_TYPE, &st)) < 0) {
		rt_close((int)fd);
		return report_err((int)-r, "maskedPaths: stat /dev/null");
	}
	if ((st.stx_mode & RT_S_IFMT) != RT_S_IFCHR || st.stx_rdev_major != 1 || st.stx_rdev_minor != 3) {
		rt_close((int)fd);
		return refuse("maskedPaths: /dev/null is not the null device (mode %o, device %u:%u)", st.stx_mode,
			      st.stx_rdev_major, st.stx_rdev_minor);
	}
	return (int)fd;
}

/* A file gets the null device bound over it, a directory an empty read-only tmpfs. Only a
 * masked path that does not exist is skipped; every other failure fails the start, since the
 * container would run with the path unmasked. *nullfd is opened on first use. */
static int mask_path(const char *path, int *nullfd)
{
	struct statx st;
	long fd = open_inside(path, 0), r;
	int mfd;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return report_err((int)-fd, "maskedPaths: open %s", path);
	if ((r = rt_statx((int)fd, "", AT_EMPTY_PATH, STATX_TYPE, &st)) < 0) {
		rt_close((int)fd);
		return report_err((int)-r, "maskedPaths: stat %s", path);
	}
	if ((st.stx_mode & RT_S_IFMT) == RT_S_IFDIR) {
		char what[PATH_MAX + 32];

		rt_format(what, sizeof(what), "maskedPaths: mask %s", path);
		mfd = detached_fs("tmpfs", "tmpfs", NULL, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, what);
	} else {
		if (*nullfd < 0 && (*nullfd = null_device()) < 0) {
			rt_close((int)fd);
			return -1;
		}
		if ((r = detached_bind(*nullfd, "", false, 0)) < 0) {
			rt_close((int)fd);
			return report_err((int)-r, "maskedPaths: bind /dev/null for %s", path);
		}
		mfd = (int)r;
	}
	if (mfd < 0) {
		rt_close((int)fd);
		return -1;
	}
	r = attach_mount(mfd, (int)fd);
	rt_close(mfd);
	rt_close((int)fd);
	if (r < 0)
		return report_err((int)-r, "maskedPaths: mask %s", path);
	return 0;
}

int rootfs_finish(const struct spec *s)
{
	int nullfd = -1;
	long r;

	if (s->root_readonly && (r = make_readonly("/", false)) < 0)
		return report_err((int)-r, "make / read-only");
	for (int i = 0; i < s->nreadonly; i++)
		if (readonly_path(s->readonly[i]) < 0)
			return -1;
	for (int i = 0; i < s->nmasked; i++) {
		if (mask_path(s->masked[i], &nullfd) < 0) {
			if (nullfd >= 0)
				rt_close(nullfd);
			return -1;
		}
	}
	if (nullfd >= 0)
		rt_close(nullfd);
	if (s->rootfs_propagation && (r = rt_mount(NULL, "/", NULL, propagation_flag(s->rootfs_propagation), NULL)) < 0)
		return report_err((int)-r, "set the propagation of / to %s", s->rootfs_propagation);
	return 0;
}
