/* OOM kills: the cgroup's oom_kill counter, read when the monitor starts and again when the
 * container has exited; oomKilled is true when it rose. cgroup v2 keeps it in memory.events, v1
 * (since Linux 4.13) in memory.oom_control, both as an "oom_kill <N>" line, so no eventfd is
 * needed. And the monitor's own oom_score_adj, which only a process with CAP_SYS_RESOURCE may
 * lower. */
#include "monitor.h"

static int cgroup_fd = -1;
static const char *counter_file;
static uint64_t baseline;

/* The "oom_kill" value of `file` in the cgroup dir. Returns 0 or -errno. */
static long read_counter(const char *file, uint64_t *out)
{
	char buf[2048];
	long fd = sys_openat(cgroup_fd, file, O_RDONLY | O_CLOEXEC, 0);
	long n;

	if (fd < 0)
		return fd;
	n = rt_read((int)fd, buf, sizeof(buf) - 1);
	rt_close((int)fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	for (const char *line = buf; *line;) {
		if (rt_starts_with(line, "oom_kill ") && rt_parse_u64(line + 9, out))
			return 0;
		while (*line && *line != '\n')
			line++;
		if (*line)
			line++;
	}
	return -ENOENT;
}

void oom_watch(const char *cgroup_dir)
{
	static const char *const files[] = { "memory.events", "memory.oom_control" };
	char what[PATH_MAX + 64];
	long fd = rt_open(cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	long r = fd;

	if (fd >= 0) {
		cgroup_fd = (int)fd;
		for (unsigned i = 0; i < 2; i++) {
			r = read_counter(files[i], &baseline);
			if (r == 0) {
				counter_file = files[i];
				return;
			}
		}
		rt_close(cgroup_fd);
		cgroup_fd = -1;
	}
	rt_format(what, sizeof(what), "no OOM detection: no oom_kill counter in %s", cgroup_dir);
	warn_errno((int)-r, what);
}

bool oom_killed(void)
{
	uint64_t now;

	return counter_file && read_counter(counter_file, &now) == 0 && now > baseline;
}

long oom_score_set(int value, int *old)
{
	static const char path[] = "/proc/self/oom_score_adj";
	char buf[16];
	uint64_t v;
	long fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0);
	long r;

	if (fd < 0)
		return fd;
	r = rt_read((int)fd, buf, sizeof(buf) - 1);
	rt_close((int)fd);
	if (r <= 0)
		return r < 0 ? r : -EINVAL;
	buf[r] = '\0';
	if (!rt_parse_u64(buf + (buf[0] == '-'), &v) || v > 1000)
		return -EINVAL;
	*old = buf[0] == '-' ? -(int)v : (int)v;
	fd = rt_open(path, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = rt_write((int)fd, buf, rt_format(buf, sizeof(buf), "%d", value));
	rt_close((int)fd);
	return r < 0 ? r : 0;
}
