/* The root filesystem: propagation of "/" so nothing leaks back to the host, the rootfs bound onto
 * itself (pivot_root needs a mount point), pivot_root without a temporary directory (the old root
 * is stacked on the new one and detached), then the read-only root, readonlyPaths, maskedPaths
 * and the spec's rootfsPropagation. */
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

static int readonly_path(const char *path)
{
	long r = rt_mount(path, path, NULL, MS_BIND | MS_REC, NULL);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return report_err((int)-r, "readonlyPaths: bind %s", path);
	if ((r = make_readonly(path, true)) < 0)
		return report_err((int)-r, "readonlyPaths: make %s read-only", path);
	return 0;
}

static int mask_path(const char *path)
{
	long r = rt_mount("/dev/null", path, NULL, MS_BIND, NULL);

	if (r == -ENOTDIR)
		r = rt_mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return report_err((int)-r, "maskedPaths: mask %s", path);
	return 0;
}

int rootfs_finish(const struct spec *s)
{
	long r;

	if (s->root_readonly && (r = make_readonly("/", false)) < 0)
		return report_err((int)-r, "make / read-only");
	for (int i = 0; i < s->nreadonly; i++)
		if (readonly_path(s->readonly[i]) < 0)
			return -1;
	for (int i = 0; i < s->nmasked; i++)
		if (mask_path(s->masked[i]) < 0)
			return -1;
	if (s->rootfs_propagation && (r = rt_mount(NULL, "/", NULL, propagation_flag(s->rootfs_propagation), NULL)) < 0)
		return report_err((int)-r, "set the propagation of / to %s", s->rootfs_propagation);
	return 0;
}
