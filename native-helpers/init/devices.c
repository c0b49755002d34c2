/* Device nodes: on a fresh /dev the default ones every container gets (null, zero, full, random,
 * urandom, tty) and the usual symlinks (ptmx → pts/ptmx, fd, stdin, stdout, stderr); then the
 * spec's linux.devices. Where mknod is refused, the host's node is bind-mounted instead. */
#include "init.h"

/* The kernel's dev_t encoding for mknod (new_encode_dev). */
static unsigned encode_dev(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffU) << 12);
}

static int make_node(int rootfd, const char *path, unsigned mode, uint32_t major, uint32_t minor)
{
	const char *slash = rt_find_last(path, '/');
	char dir[PATH_MAX];
	long dirfd, r;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return report("device %s: bad path", path);
	rt_format(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((dirfd = path_open(rootfd, dir[0] ? dir : "/", PATH_DIR)) < 0)
		return report_err((int)-dirfd, "device %s: directory", path);
	r = rt_mknodat((int)dirfd, slash + 1, mode, encode_dev(major, minor));
	rt_close((int)dirfd);
	if (r == -EEXIST)
		return 0;
	if (r == -EPERM && (mode & RT_S_IFMT) != RT_S_IFIFO) {
		char host[PATH_MAX];

		rt_format(host, sizeof(host), "%s", path);
		return bind_mount(host, rootfd, path, false, 0);
	}
	if (r < 0)
		return report_err((int)-r, "mknod %s", path);
	return 0;
}

static int spec_device(int rootfd, const struct device_entry *d)
{
	unsigned type = d->type == 'b' ? RT_S_IFBLK : d->type == 'p' ? RT_S_IFIFO : RT_S_IFCHR;
	unsigned mode = d->has_mode ? d->mode : 0666;
	long fd, r;

	if (make_node(rootfd, d->path, type | mode, d->major, d->minor) < 0)
		return -1;
	if (!d->has_uid && !d->has_gid)
		return 0;
	if ((fd = path_open(rootfd, d->path, PATH_EXISTING)) < 0)
		return report_err((int)-fd, "device %s", d->path);
	r = rt_fchownat((int)fd, "", d->has_uid ? d->uid : (uint32_t)-1, d->has_gid ? d->gid : (uint32_t)-1,
			AT_EMPTY_PATH);
	rt_close((int)fd);
	if (r < 0)
		return report_err((int)-r, "chown device %s", d->path);
	return 0;
}

int devices_create(const struct spec *s, int rootfd, bool defaults)
{
	static const struct {
		const char *path;
		uint32_t major, minor;
	} nodes[] = {
		{ "/dev/null", 1, 3 },	 { "/dev/zero", 1, 5 },	   { "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	};
	static const struct {
		const char *name, *target;
	} links[] = {
		{ "ptmx", "pts/ptmx" },		   { "fd", "/proc/self/fd" },	  { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};

	if (defaults) {
		long devfd;

		for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
			if (make_node(rootfd, nodes[i].path, RT_S_IFCHR | 0666, nodes[i].major, nodes[i].minor) < 0)
				return -1;
		if ((devfd = path_open(rootfd, "/dev", PATH_EXISTING)) < 0)
			return report_err((int)-devfd, "open /dev in the rootfs");
		for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
			long r = rt_symlinkat(links[i].target, (int)devfd, links[i].name);

			if (r < 0 && r != -EEXIST) {
				rt_close((int)devfd);
				return report_err((int)-r, "symlink /dev/%s", links[i].name);
			}
		}
		rt_close((int)devfd);
	}
	for (int i = 0; i < s->ndevices; i++)
		if (spec_device(rootfd, &s->devices[i]) < 0)
			return -1;
	return 0;
}
