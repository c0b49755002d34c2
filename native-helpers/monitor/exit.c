/* The exit file: one JSON object, written to a hidden temporary name in the same directory and
 * renamed over the final name, so a reader (the daemon watches the directory) sees either nothing
 * or the whole file:
 *     {"exitCode":N,"signal":N,"finishedAt":"<RFC3339Nano>","oomKilled":false}
 * exitCode is the exit status, or 128 + the signal when a signal ended the process (signal is 0
 * otherwise). The temporary name starts with '.', which no container id does. */
#include "monitor.h"

static long write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		long n = rt_write(fd, buf, len);

		if (n < 0)
			return n;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

long exit_file_write(const char *path, int status, int64_t finished_ns, bool oom_killed)
{
	const char *slash = rt_find_last(path, '/');
	char tmp[PATH_MAX], when[32], body[160];
	int code = STATUS_EXITED(status) ? STATUS_CODE(status) : 128 + STATUS_SIGNAL(status);
	int signal = STATUS_EXITED(status) ? 0 : STATUS_SIGNAL(status);
	size_t n;
	long fd, r;

	/* cli.c checked: absolute, room for the extra bytes. */
	rt_format(tmp, sizeof(tmp), "%.*s.%s.tmp", (int)(slash - path + 1), path, slash + 1);
	format_rfc3339nano(finished_ns, when);
	n = rt_format(body, sizeof(body), "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\",\"oomKilled\":%s}\n", code,
		      signal, when, oom_killed ? "true" : "false");
	fd = rt_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return fd;
	r = write_all((int)fd, body, n);
	/* The rename publishes the file: its contents must reach the disk first. */
	if (r == 0)
		r = sys_fsync((int)fd);
	rt_close((int)fd);
	if (r == 0)
		r = sys_renameat2(AT_FDCWD, tmp, AT_FDCWD, path);
	if (r < 0)
		(void)rt_unlink(tmp);
	return r;
}
