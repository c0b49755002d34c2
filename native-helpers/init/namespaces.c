/* Namespaces: opening the files of the ones to join (a spec's paths, or a running process's
 * /proc/PID/ns/...), joining them with setns() in a fixed order (mount last), and creating the
 * spec's new ones with one unshare(). Pid namespaces only apply to children: the callers fork. */
#include "init.h"

static long open_ns(const char *path)
{
	return rt_open(path, O_RDONLY | O_CLOEXEC, 0);
}

int ns_open_spec(const struct spec *s, int fds[NS_KINDS])
{
	for (int k = 0; k < NS_KINDS; k++)
		fds[k] = -1;
	for (int k = 0; k < NS_KINDS; k++) {
		long fd;

		if (!s->ns[k].wanted || !s->ns[k].path)
			continue;
		if ((fd = open_ns(s->ns[k].path)) < 0) {
			report_err((int)-fd, "open %s namespace %s", ns_name(k), s->ns[k].path);
			for (int j = 0; j < k; j++)
				if (fds[j] >= 0)
					rt_close(fds[j]);
			return -1;
		}
		fds[k] = (int)fd;
	}
	return 0;
}

/* The namespace's identity (device and inode of its nsfs file). */
static int ns_id(int fd, const char *path, uint64_t *id)
{
	struct statx st;
	long r = fd >= 0 ? rt_statx(fd, "", AT_EMPTY_PATH, STATX_INO, &st) : rt_statx(AT_FDCWD, path, 0, STATX_INO, &st);

	if (r < 0)
		return (int)r;
	*id = st.stx_ino ^ ((uint64_t)st.stx_dev_minor << 48) ^ ((uint64_t)st.stx_dev_major << 56);
	return 0;
}

int ns_open_process(int pid, int fds[NS_KINDS])
{
	char path[64], mine[64];

	for (int k = 0; k < NS_KINDS; k++)
		fds[k] = -1;
	for (int k = 0; k < NS_KINDS; k++) {
		/* A process's children live in its pid_for_children namespace: for a container process
		 * that is its own; for skiff-init waiting as the parent of a container's pid 1, it is the
		 * container's. */
		const char *file = k == NS_PID ? "pid_for_children" : ns_file(k);
		uint64_t target = 0, self = 0;
		long fd;
		int r;

		rt_format(path, sizeof(path), "/proc/%d/ns/%s", pid, file);
		if ((fd = open_ns(path)) < 0) {
			for (int j = 0; j < k; j++)
				if (fds[j] >= 0)
					rt_close(fds[j]);
			if (fd == -ENOENT || fd == -ESRCH)
				return report("process %d is not running (no %s)", pid, path);
			return report_err((int)-fd, "open %s", path);
		}
		rt_format(mine, sizeof(mine), "/proc/self/ns/%s", file);
		if ((r = ns_id((int)fd, NULL, &target)) < 0 || (r = ns_id(-1, mine, &self)) < 0) {
			rt_close((int)fd);
			for (int j = 0; j < k; j++)
				if (fds[j] >= 0)
					rt_close(fds[j]);
			return report_err(-r, "stat %s", path);
		}
		if (target == self)
			rt_close((int)fd);
		else
			fds[k] = (int)fd;
	}
	return 0;
}

int ns_join(int fds[NS_KINDS])
{
	int rc = 0;

	for (int k = 0; k < NS_KINDS; k++) {
		long r;

		if (fds[k] < 0)
			continue;
		if (rc == 0 && (r = rt_setns(fds[k], ns_flag(k))) < 0)
			rc = report_err((int)-r, "join the %s namespace", ns_name(k));
		rt_close(fds[k]);
		fds[k] = -1;
	}
	return rc;
}

int ns_create(const struct spec *s)
{
	char names[128] = "";
	size_t len = 0;
	int flags = 0;
	long r;

	for (int k = 0; k < NS_KINDS; k++)
		if (s->ns[k].wanted && !s->ns[k].path) {
			flags |= ns_flag(k);
			len += rt_format(names + len, sizeof(names) - len, "%s%s", len ? " " : "", ns_name(k));
		}
	if (flags && (r = rt_unshare(flags)) < 0)
		return report_err((int)-r, "create namespaces (%s)", names);
	return 0;
}
