/* A process's start time (clock ticks after boot, field 22 of /proc/<pid>/stat): with the pid it
 * names one process for good, so the daemon never signals a later process that reused the pid. */
#include "monitor.h"

long proc_start_time(int pid, uint64_t *out)
{
	char path[32], buf[1024];
	const char *p;
	long fd, n;
	int field = 2;

	rt_format(path, sizeof(path), "/proc/%d/stat", pid);
	fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	n = rt_read((int)fd, buf, sizeof(buf) - 1);
	rt_close((int)fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'. */
	p = rt_find_last(buf, ')');
	if (!p)
		return -EINVAL;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field != 22 || !rt_parse_u64(p, out))
		return -EINVAL;
	return 0;
}
