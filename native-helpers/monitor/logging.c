/* The CRI log file kubelet reads ("crictl logs", "kubectl logs"):
 *
 *     <RFC3339Nano> <stdout|stderr> <F|P> <text>\n
 *
 * One timestamp per read of the container's output. The read is split on '\n': each complete line
 * is an F record (its '\n' ends the record), and a tail without '\n' (the rest of a line the
 * container has not finished, or a line longer than one read) is a P record with a '\n' added.
 * Readers join P records with the next record of the same stream. Timestamps strictly increase,
 * even if the wall clock steps back, so the records' order is the order of the timestamps. */
#include "monitor.h"

#define OUT_CAP 16384

static int log_fd = -1;
static const char *log_path;
static int64_t last_ns;
static char out[OUT_CAP];
static size_t out_len;

long log_open(const char *path)
{
	long fd = rt_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return fd;
	log_path = path;
	log_fd = (int)fd;
	return 0;
}

/* A failed write loses the records (a full disk must not stop the container); nobody could be told
 * anyway: the monitor's stderr is /dev/null. */
static void flush(void)
{
	size_t done = 0;

	while (done < out_len) {
		long n = rt_write(log_fd, out + done, out_len - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	out_len = 0;
}

static void append(const char *data, size_t n)
{
	if (out_len + n > OUT_CAP)
		flush();
	memcpy(out + out_len, data, n);
	out_len += n;
}

static const char *find_newline(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n')
			return s + i;
	return NULL;
}

void log_chunk(enum stream s, const char *data, size_t n)
{
	char prefix[48];
	size_t plen;
	int64_t now = clock_now_ns();

	if (now <= last_ns)
		now = last_ns + 1;
	last_ns = now;
	plen = format_rfc3339nano(now, prefix);
	memcpy(prefix + plen, s == STREAM_STDOUT ? " stdout " : " stderr ", 8);
	plen += 8;
	while (n > 0) {
		const char *nl = find_newline(data, n);
		size_t text = nl ? (size_t)(nl - data) : n;

		/* A record never exceeds OUT_CAP: the text of one read is at most IO_BUF_SIZE. */
		append(prefix, plen);
		append(nl ? "F " : "P ", 2);
		append(data, text);
		append("\n", 1);
		data += nl ? text + 1 : text;
		n -= nl ? text + 1 : text;
	}
	flush();
}

long log_reopen(void)
{
	long fd = rt_open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return fd;
	flush();
	rt_close(log_fd);
	log_fd = (int)fd;
	return 0;
}
