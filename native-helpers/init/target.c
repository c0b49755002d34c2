/* The container's process, named by the daemon as a pid plus the start time it recorded: only
 * that process is entered, never one that got its pid after it ended. A pidfd holds on to the
 * process from the first check on: while it has not exited its pid cannot be given to anyone
 * else, so namespace files opened by /proc path between the two checks are its own. */
#include "init.h"

/* Field 22 of /proc/PID/stat (clock ticks after boot) and its state (field 3). */
static int read_stat(int pid, uint64_t *start_time, char *state)
{
	char path[32], buf[1024];
	const char *p, *field;
	long fd, n;
	int i;

	rt_format(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0)) < 0)
		return (int)fd;
	n = rt_read((int)fd, buf, sizeof(buf) - 1);
	rt_close((int)fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	if (!(p = rt_find_last(buf, ')')) || p[1] != ' ')
		return -EINVAL;
	field = p + 2;
	*state = field[0];
	for (i = 3; i < 22 && *field; field++)
		if (*field == ' ')
			i++;
	if (i != 22 || !rt_parse_u64(field, start_time))
		return -EINVAL;
	return 0;
}

int target_open(int pid, uint64_t start_time)
{
	uint64_t actual;
	char state;
	long pidfd = rt_pidfd_open(pid);
	int r;

	if (pidfd == -ESRCH)
		return report("process %d is not running", pid);
	if (pidfd < 0)
		return report_err((int)-pidfd, "pidfd_open %d", pid);
	if ((r = read_stat(pid, &actual, &state)) < 0) {
		rt_close((int)pidfd);
		if (r == -ENOENT || r == -ESRCH)
			return report("process %d is not running", pid);
		return report_err(-r, "read /proc/%d/stat", pid);
	}
	if (actual != start_time) {
		rt_close((int)pidfd);
		return report("process %d is not the container's: it started at %llu, the container's at %llu (its pid was reused)",
			      pid, (unsigned long long)actual, (unsigned long long)start_time);
	}
	if (state == 'Z' || state == 'X') {
		rt_close((int)pidfd);
		return report("process %d is not running (it has exited)", pid);
	}
	return (int)pidfd;
}

int target_check_alive(int pidfd, int pid)
{
	/* A pidfd turns readable once its process has exited. */
	struct rt_pollfd p = { .fd = pidfd, .events = RT_POLLIN };
	long r = rt_ppoll_now(&p, 1);

	if (r < 0)
		return report_err((int)-r, "poll the pidfd of process %d", pid);
	if (r > 0)
		return report("process %d is not running (it exited while being entered)", pid);
	return 0;
}
