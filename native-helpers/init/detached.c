/* Mounts made detached (open_tree of a bind, fsopen + fsmount of a new filesystem), given their
 * flags while nothing else can reach them, and attached onto the fd of their destination
 * (move_mount). No path is looked up after a mount is made: a destination swapped for a symlink
 * meanwhile cannot send the flags (read-only above all) to another mount. */
#include "init.h"

#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

uint64_t mount_attr_of(unsigned long flags)
{
	uint64_t attr = 0;

	if (flags & MS_RDONLY)
		attr |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		attr |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		attr |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		attr |= MOUNT_ATTR_NOEXEC;
	if (flags & MS_NODIRATIME)
		attr |= MOUNT_ATTR_NODIRATIME;
	if (flags & MS_NOSYMFOLLOW)
		attr |= MOUNT_ATTR_NOSYMFOLLOW;
	if (flags & MS_NOATIME)
		attr |= MOUNT_ATTR_NOATIME;
	else if (flags & MS_STRICTATIME)
		attr |= MOUNT_ATTR_STRICTATIME;
	return attr;
}

long detached_bind(int dirfd, const char *path, bool rec, unsigned long flags)
{
	unsigned how = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? RT_AT_RECURSIVE : 0) | (path[0] ? 0 : AT_EMPTY_PATH);
	struct rt_mount_attr attr = { .attr_set = mount_attr_of(flags) };
	long tree = rt_open_tree(dirfd, path, how), r;

	if (tree < 0)
		return tree;
	/* Only what the options ask for is set; what the source mount has (read-only, nosuid...) is
	 * kept, never lifted. The atime mode is one value: setting it means clearing the old one. */
	if (flags & ATIME_FLAGS)
		attr.attr_clr = MOUNT_ATTR__ATIME;
	if ((attr.attr_set || attr.attr_clr) && (r = rt_mount_setattr((int)tree, "", AT_EMPTY_PATH, &attr)) < 0) {
		rt_close((int)tree);
		return r;
	}
	return tree;
}

/* The kernel explains a refused parameter in the context's log ("e <message>\n"): that goes
 * into the error line when it is there. Returns -1. */
static int fs_refused(int fsfd, int err, const char *what, const char *key)
{
	char msg[256];
	long n = rt_read(fsfd, msg, sizeof(msg) - 1);

	if (n > 2 && msg[0] == 'e' && msg[1] == ' ') {
		while (n > 2 && msg[n - 1] == '\n')
			n--;
		msg[n] = '\0';
		return report("%s: %s%s%s", what, key ? key : "", key ? ": " : "", msg + 2);
	}
	return key ? report_err(err, "%s: %s", what, key) : report_err(err, "%s", what);
}

/* "key=value" or "flag", as mount(2) splits its data. */
static long fs_param(int fsfd, char *opt)
{
	char *eq = opt;
	long r;

	while (*eq && *eq != '=')
		eq++;
	if (!*eq)
		return rt_fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
	*eq = '\0';
	r = rt_fsconfig(fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
	*eq = '=';
	return r;
}

/* The superblock's part of the flags, as mount(2) sorts them; the rest are the mount's. */
static const struct {
	unsigned long flag;
	const char *name;
} sb_flags[] = { { MS_RDONLY, "ro" }, { MS_SYNCHRONOUS, "sync" }, { MS_DIRSYNC, "dirsync" }, { MS_MANDLOCK, "mand" } };

static int fs_configure(int fsfd, const char *source, const char *data, unsigned long flags, const char *what)
{
	char opts[4096];
	char *names[128];
	long r;
	int n;

	if (source && (r = rt_fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0)) < 0)
		return fs_refused(fsfd, (int)-r, what, "source");
	for (size_t i = 0; i < sizeof(sb_flags) / sizeof(sb_flags[0]); i++)
		if ((flags & sb_flags[i].flag) && (r = rt_fsconfig(fsfd, FSCONFIG_SET_FLAG, sb_flags[i].name, NULL, 0)) < 0)
			return fs_refused(fsfd, (int)-r, what, sb_flags[i].name);
	if (rt_format(opts, sizeof(opts), "%s", data ? data : "") >= sizeof(opts))
		return report("%s: options too long", what);
	if ((n = split_list(opts, ',', names, 128)) < 0)
		return report("%s: too many options", what);
	for (int i = 0; i < n; i++)
		if (names[i][0] && (r = fs_param(fsfd, names[i])) < 0)
			return fs_refused(fsfd, (int)-r, what, names[i]);
	if ((r = rt_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) < 0)
		return fs_refused(fsfd, (int)-r, what, NULL);
	return 0;
}

int detached_fs(const char *type, const char *source, const char *data, unsigned long flags, const char *what)
{
	long fsfd = rt_fsopen(type, FSOPEN_CLOEXEC), mfd;

	if (fsfd < 0)
		return report_err((int)-fsfd, "%s: fsopen %s", what, type);
	if (fs_configure((int)fsfd, source, data, flags, what) < 0) {
		rt_close((int)fsfd);
		return -1;
	}
	mfd = rt_fsmount((int)fsfd, FSMOUNT_CLOEXEC, (unsigned)mount_attr_of(flags));
	rt_close((int)fsfd);
	if (mfd < 0)
		return report_err((int)-mfd, "%s: fsmount", what);
	return (int)mfd;
}

long attach_mount(int mfd, int destfd)
{
	return rt_move_mount(mfd, "", destfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}
