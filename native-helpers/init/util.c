/* Small pieces the other files share: reading a file line by line, fd paths, splitting lists,
 * parsing ids, making sure fds 0-2 are open, blanking our arguments. */
#include "init.h"

#define LINE_BYTES 4096

int read_lines(const char *path, int (*fn)(char *line, void *arg), void *arg)
{
	static char buf[2 * LINE_BYTES + 1];
	long fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0);
	size_t have = 0;
	bool skipping = false;
	int rc = 0;

	if (fd < 0)
		return report_err((int)-fd, "open %s", path);
	for (;;) {
		long r = rt_read((int)fd, buf + have, sizeof(buf) - 1 - have);
		size_t start = 0;

		if (r < 0) {
			rc = report_err((int)-r, "read %s", path);
			break;
		}
		have += (size_t)r;
		for (size_t i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			buf[i] = '\0';
			if (!skipping && fn(buf + start, arg) < 0) {
				rc = -1;
				goto out;
			}
			skipping = false;
			start = i + 1;
		}
		if (r == 0) {
			if (start < have && !skipping) {
				buf[have] = '\0';
				rc = fn(buf + start, arg);
			}
			break;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have > LINE_BYTES) {
			/* An overlong line: drop it up to its newline. */
			skipping = true;
			have = 0;
		}
	}
out:
	rt_close((int)fd);
	return rc;
}

const char *fd_path(int fd, char *buf)
{
	rt_format(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

int split_list(char *s, char sep, char **out, int max)
{
	int n = 0;

	if (!*s)
		return 0;
	for (;;) {
		char *e = s;

		if (n >= max)
			return -1;
		out[n++] = s;
		while (*e && *e != sep)
			e++;
		if (!*e)
			return n;
		*e = '\0';
		s = e + 1;
	}
}

bool parse_id(const char *s, uint32_t *out)
{
	uint64_t v;
	const char *e = s;

	while (*e >= '0' && *e <= '9')
		e++;
	if (*e || !rt_parse_u64(s, &v) || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

int ensure_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		long r = RT_SYS(__NR_fcntl, fd, 1 /* F_GETFD */, 0, 0, 0);

		if (r != -EBADF)
			continue;
		/* Closed: /dev/null takes its number (the lowest free one), so that no file opened
		 * later becomes the container's stdin, stdout or stderr by accident. */
		if ((r = rt_open("/dev/null", O_RDWR, 0)) < 0)
			return (int)r;
		if (r != fd)
			return -EBADF;
	}
	return 0;
}
