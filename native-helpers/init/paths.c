/* Paths inside the container's rootfs, resolved with openat2(RESOLVE_IN_ROOT) so that symlinks in
 * the image (absolute or with "..") stay inside it: a mount destination can never be redirected
 * onto the host. Missing components are created one by one, each in the directory its parent
 * resolved to; O_EXCL and mkdirat() never follow a symlink that appears meanwhile. */
#include "init.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

static long open_resolved(int rootfd, const char *path)
{
	/* openat2 takes "" only with AT_EMPTY_PATH; the root itself is ".". */
	return rt_openat2(rootfd, path[0] ? path : ".", O_PATH | O_CLOEXEC, RESOLVE_FLAGS);
}

static long create_in(int dirfd, const char *name, bool dir)
{
	long r;

	if (dir)
		return (r = rt_mkdirat(dirfd, name, 0755)) == -EEXIST ? 0 : r;
	r = rt_openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (r >= 0) {
		rt_close((int)r);
		return 0;
	}
	return r == -EEXIST ? 0 : r;
}

#define SYMLINKS_MAX 40

/* Where the path continues when the component `name` (in the directory parent, reached through
 * prefix) is a symlink whose target does not exist yet: target + rest, made relative to the root
 * (an absolute target means the rootfs's root). Returns 0, or -errno (EINVAL: not a symlink). */
static long follow_dangling(int parent, const char *prefix, size_t prefix_len, const char *name, const char *rest,
			    char *out, size_t size)
{
	char target[PATH_MAX];
	long n = RT_SYS(__NR_readlinkat, parent, name, target, sizeof(target) - 1, 0);
	size_t len;

	if (n < 0)
		return n;
	target[n] = '\0';
	if (target[0] == '/')
		len = rt_format(out, size, "%s%s%s", target, rest[0] ? "/" : "", rest);
	else
		len = rt_format(out, size, "%.*s/%s%s%s", (int)prefix_len, prefix, target, rest[0] ? "/" : "", rest);
	return len >= size ? -ENAMETOOLONG : 0;
}

long path_open(int rootfd, const char *path, enum path_create create)
{
	char buf[PATH_MAX], next[PATH_MAX];
	size_t len;
	long fd, parent;
	int links = 0;

	while (*path == '/')
		path++;
	fd = open_resolved(rootfd, path);
	if (fd != -ENOENT || create == PATH_EXISTING)
		return fd;
	if ((len = rt_strlen(path)) >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
restart:
	len = rt_strlen(buf);
	while (len && buf[len - 1] == '/')
		buf[--len] = '\0';
	/* Walk from the root: each prefix is resolved from the root again (so a symlink met on the
	 * way stays inside it), and what is missing is made in the directory its parent resolved to. */
	if ((parent = open_resolved(rootfd, "")) < 0)
		return parent;
	for (char *c = buf;;) {
		char *end = c, saved;
		long r;

		while (*end && *end != '/')
			end++;
		saved = *end;
		*end = '\0';
		if (end != c) {
			fd = open_resolved(rootfd, buf);
			if (fd == -ENOENT) {
				if ((r = create_in((int)parent, c, saved || create == PATH_DIR)) < 0) {
					rt_close((int)parent);
					return r;
				}
				fd = open_resolved(rootfd, buf);
				/* Still missing: a dangling symlink was there. Make its target instead. */
				if (fd == -ENOENT) {
					r = follow_dangling((int)parent, buf, (size_t)(c - buf), c, saved ? end + 1 : "", next,
							    sizeof(next));
					rt_close((int)parent);
					if (r < 0)
						return r == -EINVAL ? -ENOENT : r;
					if (++links > SYMLINKS_MAX)
						return -ELOOP;
					memcpy(buf, next, rt_strlen(next) + 1);
					goto restart;
				}
			}
			rt_close((int)parent);
			if (fd < 0)
				return fd;
			parent = fd;
		}
		if (!saved)
			return parent;
		*end = saved;
		c = end + 1;
	}
}

/* No symlink may be on the path, not even one that stays inside the root: a new proc or sysfs on
 * /proc -> /somewhere would land there, and everything that later uses "/proc/..." would follow
 * the link again to files the pod controls (runc: "must be mounted on ordinary directory"). */
#define PLAIN_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)

long path_open_plain_dir(int rootfd, const char *path)
{
	struct statx st;
	long fd, r;

	while (*path == '/')
		path++;
	fd = rt_openat2(rootfd, path[0] ? path : ".", O_PATH | O_CLOEXEC, PLAIN_FLAGS);
	if (fd == -ENOENT) {
		/* No symlink up to the first missing component (that would have been ELOOP): make the
		 * rest, then look again the same way, so a link that appeared meanwhile is still seen. */
		if ((fd = path_open(rootfd, path, PATH_DIR)) < 0)
			return fd;
		rt_close((int)fd);
		fd = rt_openat2(rootfd, path[0] ? path : ".", O_PATH | O_CLOEXEC, PLAIN_FLAGS);
	}
	if (fd < 0)
		return fd;
	if ((r = rt_statx((int)fd, "", AT_EMPTY_PATH, STATX_TYPE, &st)) < 0 || (st.stx_mode & RT_S_IFMT) != RT_S_IFDIR) {
		rt_close((int)fd);
		return r < 0 ? r : -ENOTDIR;
	}
	return fd;
}
