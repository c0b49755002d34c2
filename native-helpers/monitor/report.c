/* The monitor's answer: one JSON line the launcher relays to the daemon, and the message of the
 * first failure once the monitor runs on its own (its stderr is about to become /dev/null). */
#include "monitor.h"

static char failure[IO_BUF_SIZE + 256];

const char *errno_text(int err)
{
	switch (err) {
	case ENOEXEC: return "Exec format error";
	case ETXTBSY: return "Text file busy";
	case ENXIO: return "No such device or address";
	case ENOTTY: return "Inappropriate ioctl for device";
	case EADDRINUSE: return "Address already in use";
	default: return rt_strerror(err);
	}
}

int fail(int err, const char *what)
{
	if (failure[0])
		return -1;
	if (err)
		rt_format(failure, sizeof(failure), "%s: %s", what, errno_text(err));
	else
		rt_format(failure, sizeof(failure), "%s", what);
	return -1;
}

void warn_errno(int err, const char *what)
{
	char line[512];
	size_t n = rt_format(line, sizeof(line) - 1, "[skiff-" HELPER_NAME ":w] %s: %s", what, errno_text(err));

	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)rt_write(2, line, n);
}

size_t json_escape(char *dst, size_t cap, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			esc[n++] = '\\';
			esc[n++] = (char)c;
		} else if (c == '\n') {
			esc[n++] = '\\';
			esc[n++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		} else {
			esc[n++] = (char)c;
		}
		if (o + n >= cap)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	if (cap)
		dst[o] = '\0';
	return o;
}

static long send_line(int fd, const char *line, size_t len)
{
	long n = rt_write(fd, line, len);

	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

long report_started(int fd, int pid, uint64_t start_time, int monitor_pid)
{
	char line[128];
	size_t n = rt_format(line, sizeof(line), "{\"pid\":%d,\"startTime\":%llu,\"monitorPid\":%d}\n", pid,
			     (unsigned long long)start_time, monitor_pid);

	return send_line(fd, line, n);
}

long report_failure(int fd, int executor_status)
{
	char escaped[sizeof(failure) * 2];
	char line[sizeof(escaped) + 64];
	size_t n;

	if (!failure[0])
		fail(0, "failed for an unknown reason");
	json_escape(escaped, sizeof(escaped), failure, rt_strlen(failure));
	if (executor_status >= 0)
		n = rt_format(line, sizeof(line), "{\"error\":\"%s\",\"executorStatus\":%d}\n", escaped, executor_status);
	else
		n = rt_format(line, sizeof(line), "{\"error\":\"%s\"}\n", escaped);
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	return send_line(fd, line, n);
}
