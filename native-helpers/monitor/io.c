/* The container's stdio as the monitor holds it: the read ends of its stdout and stderr pipes (or
 * the pty master with --tty), and with --stdin the write end of its stdin (or the master again).
 * Output goes to the log and to attached clients; stdin comes from attached clients and is queued
 * when the container does not read it, never blocking the monitor. */
#include "monitor.h"

#define STDIN_CAP 65536
/* At exit at most a pipe's worth is left by the container itself; an orphan that keeps writing
 * must not keep the monitor from writing the exit file. */
#define DRAIN_MAX_READS 64

enum { TAG_OUT, TAG_ERR, TAG_IN };

static struct {
	int out_fd; /* stdout pipe or pty master */
	int err_fd;
	int in_fd;  /* stdin pipe, or the pty master; -1 without --stdin or once closed */
	bool tty;
	bool close_in_after_flush;
	size_t pending;
} io = { -1, -1, -1, false, false, 0 };

static char in_buf[STDIN_CAP];
static char read_buf[IO_BUF_SIZE];

void io_init(const struct setup *s, bool tty, bool stdin_open)
{
	io.out_fd = s->out_r;
	io.err_fd = s->err_r;
	io.tty = tty;
	io.in_fd = !stdin_open ? -1 : tty ? s->out_r : s->in_w;
}

void io_output(enum stream s, const char *data, size_t n)
{
	log_chunk(s, data, n);
	attach_broadcast(s, data, n);
}

void io_poll_add(struct pollset *p)
{
	bool stdin_waits = io.in_fd >= 0 && io.pending > 0;
	/* An exec session's relay is waited for, not dropped: its output stays in the pipes (and the
	 * command blocks) until the relay has room. */
	bool room = attach_output_room();
	short out_events = (short)((room ? POLLIN : 0) | (io.tty && stdin_waits ? POLLOUT : 0));

	/* With a pty stdin is the master itself. */
	if (io.out_fd >= 0 && out_events)
		pollset_add(p, io.out_fd, out_events, OWN_IO, TAG_OUT);
	if (io.err_fd >= 0 && room)
		pollset_add(p, io.err_fd, POLLIN, OWN_IO, TAG_ERR);
	if (!io.tty && stdin_waits)
		pollset_add(p, io.in_fd, POLLOUT, OWN_IO, TAG_IN);
}

static void close_stdin(void)
{
	if (!io.tty && io.in_fd >= 0)
		rt_close(io.in_fd);
	io.in_fd = -1;
	io.pending = 0;
	io.close_in_after_flush = false;
}

/* Writes what is queued; stops at EAGAIN. A container that closed its stdin gets nothing more.
 * Returns whether the queue shrank (clients waiting for room can go on). */
static bool flush_stdin(void)
{
	size_t done = 0;

	while (done < io.pending) {
		long n = rt_write(io.in_fd, in_buf + done, io.pending - done);

		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			close_stdin();
			return true;
		}
		done += (size_t)n;
	}
	memmove(in_buf, in_buf + done, io.pending - done);
	io.pending -= done;
	if (io.pending == 0 && io.close_in_after_flush)
		close_stdin();
	return done > 0;
}

/* One read: data goes out, -EAGAIN means nothing now; EOF or an error (a pty master reads EIO
 * once the container's side is closed) closes the fd. Returns what read() returned. */
static long read_output(int *fd, enum stream s)
{
	long n = rt_read(*fd, read_buf, sizeof(read_buf));

	if (n > 0) {
		io_output(s, read_buf, (size_t)n);
		return n;
	}
	if (n == -EAGAIN)
		return n;
	if (io.tty && io.in_fd == *fd)
		io.in_fd = -1;
	rt_close(*fd);
	*fd = -1;
	return n;
}

void io_handle(int tag, short revents)
{
	/* Called from here only, never from inside attach.c's frame handling. */
	if ((tag == TAG_IN || (revents & POLLOUT)) && io.in_fd >= 0 && flush_stdin())
		attach_resume();
	if (!attach_output_room())
		return;
	if (tag == TAG_OUT && io.out_fd >= 0)
		read_output(&io.out_fd, STREAM_STDOUT);
	else if (tag == TAG_ERR && io.err_fd >= 0)
		read_output(&io.err_fd, STREAM_STDERR);
}

static void drain(int *fd, enum stream s)
{
	for (int i = 0; i < DRAIN_MAX_READS && *fd >= 0; i++)
		if (read_output(fd, s) <= 0)
			return;
}

void io_drain(void)
{
	drain(&io.out_fd, STREAM_STDOUT);
	drain(&io.err_fd, STREAM_STDERR);
}

size_t io_stdin_room(void)
{
	/* Without stdin every byte is taken (and dropped). */
	return io.in_fd < 0 ? STDIN_CAP : STDIN_CAP - io.pending;
}

void io_stdin_write(const char *data, size_t n)
{
	if (io.in_fd < 0 || io.close_in_after_flush || n > STDIN_CAP - io.pending)
		return;
	memcpy(in_buf + io.pending, data, n);
	io.pending += n;
	flush_stdin();
}

void io_stdin_close(void)
{
	/* A pty has no end of input but the one its user types (^D): closing the master would hang up
	 * the container. */
	if (io.in_fd < 0 || io.tty)
		return;
	if (io.pending)
		io.close_in_after_flush = true;
	else
		close_stdin();
}

void io_resize(unsigned short rows, unsigned short cols)
{
	struct term_size ws = { rows, cols, 0, 0 };

	if (io.tty && io.out_fd >= 0)
		(void)sys_ioctl(io.out_fd, TIOCSWINSZ, &ws);
}
