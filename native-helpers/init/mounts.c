/* The spec's mounts, in order, under the new root: OCI options → mount flags, propagation and
 * data; bind mounts (the destination made as a file or a directory like the source) with their
 * per-mount flags; the "cgroup" type as the container's own view of its cgroups. Every
 * destination is resolved inside the rootfs (paths.c; a new filesystem's through no symlink at
 * all), checked against the rules for /proc (proc-dest.c), and gets a mount made detached and
 * flagged first (detached.c). */
#include "init.h"

#define DATA_MAX 4096
#define MNT_FLAGS_PER_MOUNT                                                                         \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | \
	 MS_NOSYMFOLLOW)
#define ATTR_NOSUID 0x2
#define ATTR_NODEV 0x4
#define ATTR_NOEXEC 0x8
#define ATTR_NOATIME 0x10
#define ATTR_NODIRATIME 0x80
#define ATTR_NOSYMFOLLOW 0x200000

struct mount_opts {
	unsigned long flags;
	unsigned long propagation;
	bool bind, rec;
	uint64_t attr_set, attr_clr;
	char data[DATA_MAX];
};

enum opt_kind { OPT_FLAG, OPT_PROPAGATION, OPT_BIND, OPT_REC_ATTR };

static const struct {
	const char *name;
	enum opt_kind kind;
	unsigned long set, clear;
} option_table[] = {
	{ "ro", OPT_FLAG, MS_RDONLY, 0 },
	{ "rw", OPT_FLAG, 0, MS_RDONLY },
	{ "nosuid", OPT_FLAG, MS_NOSUID, 0 },
	{ "suid", OPT_FLAG, 0, MS_NOSUID },
	{ "nodev", OPT_FLAG, MS_NODEV, 0 },
	{ "dev", OPT_FLAG, 0, MS_NODEV },
	{ "noexec", OPT_FLAG, MS_NOEXEC, 0 },
	{ "exec", OPT_FLAG, 0, MS_NOEXEC },
	{ "sync", OPT_FLAG, MS_SYNCHRONOUS, 0 },
	{ "async", OPT_FLAG, 0, MS_SYNCHRONOUS },
	{ "dirsync", OPT_FLAG, MS_DIRSYNC, 0 },
	{ "mand", OPT_FLAG, MS_MANDLOCK, 0 },
	{ "nomand", OPT_FLAG, 0, MS_MANDLOCK },
	{ "noatime", OPT_FLAG, MS_NOATIME, 0 },
	{ "atime", OPT_FLAG, 0, MS_NOATIME },
	{ "nodiratime", OPT_FLAG, MS_NODIRATIME, 0 },
	{ "diratime", OPT_FLAG, 0, MS_NODIRATIME },
	{ "relatime", OPT_FLAG, MS_RELATIME, 0 },
	{ "norelatime", OPT_FLAG, 0, MS_RELATIME },
	{ "strictatime", OPT_FLAG, MS_STRICTATIME, 0 },
	{ "nostrictatime", OPT_FLAG, 0, MS_STRICTATIME },
	{ "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW, 0 },
	{ "symfollow", OPT_FLAG, 0, MS_NOSYMFOLLOW },
	{ "bind", OPT_BIND, 0, 0 },
	{ "rbind", OPT_BIND, MS_REC, 0 },
	{ "private", OPT_PROPAGATION, MS_PRIVATE, 0 },
	{ "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC, 0 },
	{ "shared", OPT_PROPAGATION, MS_SHARED, 0 },
	{ "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC, 0 },
	{ "slave", OPT_PROPAGATION, MS_SLAVE, 0 },
	{ "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC, 0 },
	{ "unbindable", OPT_PROPAGATION, MS_UNBINDABLE, 0 },
	{ "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC, 0 },
	/* Recursive per-mount flags (mount_setattr with AT_RECURSIVE). */
	{ "rro", OPT_REC_ATTR, RT_MOUNT_ATTR_RDONLY, 0 },
	{ "rrw", OPT_REC_ATTR, 0, RT_MOUNT_ATTR_RDONLY },
	{ "rnosuid", OPT_REC_ATTR, ATTR_NOSUID, 0 },
	{ "rsuid", OPT_REC_ATTR, 0, ATTR_NOSUID },
	{ "rnodev", OPT_REC_ATTR, ATTR_NODEV, 0 },
	{ "rdev", OPT_REC_ATTR, 0, ATTR_NODEV },
	{ "rnoexec", OPT_REC_ATTR, ATTR_NOEXEC, 0 },
	{ "rexec", OPT_REC_ATTR, 0, ATTR_NOEXEC },
	{ "rnoatime", OPT_REC_ATTR, ATTR_NOATIME, 0 },
	{ "rnodiratime", OPT_REC_ATTR, ATTR_NODIRATIME, 0 },
	{ "rnosymfollow", OPT_REC_ATTR, ATTR_NOSYMFOLLOW, 0 },
};

static int parse_options(const struct mount_entry *m, struct mount_opts *o)
{
	size_t dlen = 0;

	*o = (struct mount_opts){ .flags = 0 };
	for (int i = 0; i < m->noptions; i++) {
		const char *name = m->options[i];
		bool known = false;

		for (size_t t = 0; t < sizeof(option_table) / sizeof(option_table[0]); t++) {
			if (!rt_streq(name, option_table[t].name))
				continue;
			known = true;
			switch (option_table[t].kind) {
			case OPT_FLAG:
				o->flags = (o->flags & ~option_table[t].clear) | option_table[t].set;
				break;
			case OPT_PROPAGATION:
				o->propagation = option_table[t].set;
				break;
			case OPT_BIND:
				o->bind = true;
				o->rec = o->rec || (option_table[t].set & MS_REC);
				break;
			case OPT_REC_ATTR:
				o->attr_set = (o->attr_set & ~(uint64_t)option_table[t].clear) | option_table[t].set;
				o->attr_clr = (o->attr_clr & ~(uint64_t)option_table[t].set) | option_table[t].clear;
				break;
			}
		}
		if (known)
			continue;
		if (rt_streq(name, "idmap") || rt_streq(name, "ridmap") || rt_streq(name, "tmpcopyup"))
			return report("mount %s: option %s is not supported by skiff-init", m->destination, name);
		/* Anything else is filesystem data ("mode=755", "newinstance"). */
		dlen += rt_format(o->data + dlen, sizeof(o->data) - dlen, "%s%s", dlen ? "," : "", name);
		if (dlen >= sizeof(o->data))
			return report("mount %s: options too long", m->destination);
	}
	return 0;
}

static int set_propagation(int fd, const char *dest, unsigned long propagation)
{
	char p[32];
	long r;

	if (propagation && (r = rt_mount(NULL, fd_path(fd, p), NULL, propagation, NULL)) < 0)
		return report_err((int)-r, "mount %s: set propagation", dest);
	return 0;
}

static int set_recursive_attrs(int fd, const char *dest, const struct mount_opts *o)
{
	struct rt_mount_attr attr = { .attr_set = o->attr_set, .attr_clr = o->attr_clr };
	long r;

	if (!o->attr_set && !o->attr_clr)
		return 0;
	if ((r = rt_mount_setattr(fd, "", AT_EMPTY_PATH | RT_AT_RECURSIVE, &attr)) < 0)
		return report_err((int)-r, "mount %s: set recursive flags", dest);
	return 0;
}

/* The destination of a mount, resolved (and made where missing) inside the root, and checked
 * against the rules for /proc. Returns an O_PATH fd, or -1. */
static int destination(int rootfd, const char *dest, enum path_create create, bool fresh_proc, int srcfd)
{
	long fd = path_open(rootfd, dest, create);

	if (fd < 0)
		return report_err((int)-fd, "mount %s: destination in the rootfs", dest);
	if (proc_dest_check(rootfd, (int)fd, dest, fresh_proc, srcfd) < 0) {
		rt_close((int)fd);
		return -1;
	}
	return (int)fd;
}

/* The destination of a new filesystem (proc, sysfs, tmpfs, ...): an ordinary directory reached
 * through no symlink, made where missing, and checked against the rules for /proc. Returns an
 * O_PATH fd, or -1. */
static int fs_destination(int rootfd, const char *dest, const char *type)
{
	long fd = path_open_plain_dir(rootfd, dest);

	if (fd == -ELOOP)
		return refuse("mount %s: refused: a symlink is on its path (%s is mounted only on an ordinary directory)", dest,
			      type);
	if (fd == -ENOTDIR)
		return refuse("mount %s: refused: not a directory (%s is mounted only on an ordinary directory)", dest, type);
	if (fd < 0)
		return report_err((int)-fd, "mount %s: destination in the rootfs", dest);
	if (proc_dest_check(rootfd, (int)fd, dest, rt_streq(type, "proc"), -1) < 0) {
		rt_close((int)fd);
		return -1;
	}
	return (int)fd;
}

/* Attaches the detached mount mfd onto dest. Returns mfd (now the fd of the attached mount) or,
 * without keep, 0; -1 on failure (mfd closed). */
static int attach(int mfd, int destfd, const char *dest, bool keep)
{
	long r = attach_mount(mfd, destfd);

	rt_close(destfd);
	if (r < 0) {
		rt_close(mfd);
		return report_err((int)-r, "mount %s: attach", dest);
	}
	if (keep)
		return mfd;
	rt_close(mfd);
	return 0;
}

/* Binds source onto dest inside the root, with its per-mount flags set before it is attached.
 * Returns 0, or with keep the fd of the new mount; -1 on failure. */
static int bind_onto(const char *source, int rootfd, const char *dest, bool rec, unsigned long flags, bool keep)
{
	struct statx st;
	long tree, r;
	int fd;

	if ((tree = detached_bind(AT_FDCWD, source, rec, flags & MNT_FLAGS_PER_MOUNT)) < 0)
		return report_err((int)-tree, "mount %s: source %s", dest, source);
	/* The type of what was cloned, not of what the path names by now. */
	if ((r = rt_statx((int)tree, "", AT_EMPTY_PATH, STATX_TYPE, &st)) < 0) {
		rt_close((int)tree);
		return report_err((int)-r, "mount %s: source %s", dest, source);
	}
	fd = destination(rootfd, dest, (st.stx_mode & RT_S_IFMT) == RT_S_IFDIR ? PATH_DIR : PATH_FILE, false, (int)tree);
	if (fd < 0) {
		rt_close((int)tree);
		return -1;
	}
	return attach((int)tree, fd, dest, keep);
}

int bind_mount(const char *source, int rootfd, const char *dest, bool rec, unsigned long flags)
{
	return bind_onto(source, rootfd, dest, rec, flags, false);
}

/* A filesystem of its own (proc, tmpfs, devpts, mqueue, sysfs...), attached onto the very fd that
 * was checked. Returns 0, or with keep an fd of it; -1 on failure. */
static int mount_fs(const char *dest, int rootfd, const char *source, const char *type, const char *data,
		    unsigned long flags, bool keep)
{
	char what[PATH_MAX + 64];
	int mfd, fd;

	rt_format(what, sizeof(what), "mount %s (%s)", dest, type);
	if ((fd = fs_destination(rootfd, dest, type)) < 0)
		return -1;
	if ((mfd = detached_fs(type, source, data, flags, what)) < 0) {
		rt_close(fd);
		return -1;
	}
	return attach(mfd, fd, dest, keep);
}

/* /sys/fs/cgroup: on a v2-only host the container's cgroup dir itself; otherwise a tmpfs with one
 * directory per hierarchy (and symlinks for co-mounted controllers, "cpu" → "cpu,cpuacct"), all
 * made read-only (and nosuid...) at once with mount_setattr. */
static int mount_cgroup(const struct mount_entry *m, int rootfd, const struct cgroup_views *cg, unsigned long flags,
			bool keep)
{
	struct rt_mount_attr attr = { .attr_set = 0 };
	char path[320];
	int fd;
	long r;

	if (cg->count == 1 && !cg->views[0].name[0])
		return bind_onto(cg->views[0].source, rootfd, m->destination, false, flags, keep);
	if ((fd = mount_fs(m->destination, rootfd, "tmpfs", "tmpfs", "mode=755", flags & ~(unsigned long)MS_RDONLY, true)) < 0)
		return -1;
	for (int i = 0; i < cg->count; i++) {
		const struct cgroup_view *v = &cg->views[i];
		char list[128], *names[16];
		int n;

		/* A fresh tmpfs: nothing in it can be a symlink planted by the image. */
		if ((r = rt_mkdirat(fd, v->name, 0755)) < 0 && r != -EEXIST) {
			report_err((int)-r, "mount %s: mkdir %s", m->destination, v->name);
			goto fail;
		}
		if (rt_format(path, sizeof(path), "/proc/self/fd/%d/%s", fd, v->name) >= sizeof(path)) {
			report("mount %s: hierarchy name too long: %s", m->destination, v->name);
			goto fail;
		}
		if ((r = rt_mount(v->source, path, NULL, MS_BIND, NULL)) < 0) {
			report_err((int)-r, "mount %s/%s: bind %s", m->destination, v->name, v->source);
			goto fail;
		}
		rt_format(list, sizeof(list), "%s", v->controllers);
		n = split_list(list, ',', names, 16);
		for (int j = 0; j < n; j++) {
			if (rt_starts_with(names[j], "name=") || rt_streq(names[j], v->name))
				continue;
			if ((r = rt_symlinkat(v->name, fd, names[j])) < 0 && r != -EEXIST) {
				report_err((int)-r, "mount %s: symlink %s", m->destination, names[j]);
				goto fail;
			}
		}
	}
	attr.attr_set = ((flags & MS_RDONLY) ? RT_MOUNT_ATTR_RDONLY : 0) | ((flags & MS_NOSUID) ? ATTR_NOSUID : 0) |
			((flags & MS_NODEV) ? ATTR_NODEV : 0) | ((flags & MS_NOEXEC) ? ATTR_NOEXEC : 0);
	if (attr.attr_set && (r = rt_mount_setattr(fd, "", AT_EMPTY_PATH | RT_AT_RECURSIVE, &attr)) < 0) {
		report_err((int)-r, "mount %s: set its flags", m->destination);
		goto fail;
	}
	if (keep)
		return fd;
	rt_close(fd);
	return 0;
fail:
	rt_close(fd);
	return -1;
}

static int mount_one(const struct mount_entry *m, int rootfd, const struct cgroup_views *cg, bool *dev_tmpfs)
{
	struct mount_opts o;
	const char *type = m->type && m->type[0] ? m->type : "none";
	bool keep;
	int fd;

	if (parse_options(m, &o) < 0)
		return -1;
	keep = o.propagation || o.attr_set || o.attr_clr;
	if (o.bind || rt_streq(type, "bind")) {
		if (!m->source || !m->source[0])
			return report("mount %s: a bind mount needs a source", m->destination);
		fd = bind_onto(m->source, rootfd, m->destination, o.rec, o.flags, keep);
	} else if (rt_streq(type, "cgroup")) {
		fd = mount_cgroup(m, rootfd, cg, o.flags, keep);
	} else {
		fd = mount_fs(m->destination, rootfd, m->source && m->source[0] ? m->source : type, type, o.data, o.flags, keep);
		if (fd >= 0 && rt_streq(m->destination, "/dev"))
			*dev_tmpfs = true;
	}
	if (fd <= 0)
		return fd;
	if (set_propagation(fd, m->destination, o.propagation) < 0 || set_recursive_attrs(fd, m->destination, &o) < 0) {
		rt_close(fd);
		return -1;
	}
	rt_close(fd);
	return 0;
}

int mounts_apply(const struct spec *s, int rootfd, const struct cgroup_views *cg, bool *dev_tmpfs)
{
	*dev_tmpfs = false;
	for (int i = 0; i < s->nmounts; i++)
		if (mount_one(&s->mounts[i], rootfd, cg, dev_tmpfs) < 0)
			return -1;
	return 0;
}
