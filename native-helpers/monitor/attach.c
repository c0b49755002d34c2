/* The attach socket: a unix stream socket (Node's net module speaks it) where up to ATTACH_CLIENTS
 * clients at a time get the container's output from the moment they connect, and send its stdin.
 * Both directions carry frames: 1 byte kind, 4 bytes big-endian payload length, payload.
 *   monitor → client: 1 stdout, 2 stderr (a pty's output is stdout)
 *   client → monitor: 0 stdin data, 1 close stdin (CRI stdin_once), 2 window size (payload:
 *                     rows, cols as big-endian 16-bit numbers)
 * A client that sends a bad frame, or falls OUT_CAP bytes behind the output, is disconnected;
 * the log file, not the attach socket, is the record of the output. */
#include "monitor.h"

#define ATTACH_CLIENTS 4
#define HDR 5
#define FRAME_MAX 32768
#define OUT_CAP 65536

enum { TAG_LISTEN = -1 };

struct client {
	int fd;
	bool waiting;  /* a stdin frame waits for room in io's queue */
	size_t in_len;
	size_t out_len;
	char in[HDR + FRAME_MAX];
	char out[OUT_CAP];
};

static int listen_fd = -1;
static const char *socket_path;
static struct client clients[ATTACH_CLIENTS];
/* The client the daemon handed over with --attach-fd (an exec session's relay), or -1. It is never
 * dropped for falling behind: the container's output waits for it instead (attach_primary_room). */
static int primary = -1;
/* The adopted client hung up or failed: nobody will read the process's output any more. */
static bool primary_lost;
static bool clients_ready;
/* At the exit, how long the last output waits for a client that does not read it. */
#define EXIT_WAIT_MS 10000

static void init_clients(void)
{
	if (clients_ready)
		return;
	for (int i = 0; i < ATTACH_CLIENTS; i++)
		clients[i].fd = -1;
	clients_ready = true;
}

long attach_adopt(int fd)
{
	long fl = sys_fcntl(fd, F_GETFL, 0);

	if (fl < 0 || (fl = sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK)) < 0)
		return fl;
	if ((fl = sys_fcntl(fd, F_SETFD, FD_CLOEXEC)) < 0)
		return fl;
	init_clients();
	clients[0].fd = fd;
	primary = 0;
	return 0;
}

long attach_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = SOCK_AF_UNIX };
	long fd, r;

	init_clients();
	fd = sys_socket(SOCK_AF_UNIX, SOCK_STREAM_TYPE | SOCK_FLAG_CLOEXEC | SOCK_FLAG_NONBLOCK);
	if (fd < 0)
		return fd;
	/* cli.c checked that the path fits with its NUL. An existing file is an error: the daemon
	 * gives every container a fresh directory, and the monitor never removes what it did not make. */
	memcpy(addr.sun_path, path, rt_strlen(path) + 1);
	r = sys_bind((int)fd, &addr, sizeof(addr));
	if (r == 0)
		r = sys_listen((int)fd, ATTACH_CLIENTS);
	if (r < 0) {
		rt_close((int)fd);
		return r;
	}
	listen_fd = (int)fd;
	socket_path = path;
	return 0;
}

static bool is_primary(const struct client *c)
{
	return primary >= 0 && c == &clients[primary];
}

static void drop(struct client *c)
{
	if (is_primary(c)) {
		primary = -1;
		primary_lost = true;
	}
	rt_close(c->fd);
	c->fd = -1;
}

bool attach_primary_lost(void)
{
	return primary_lost;
}

bool attach_output_room(void)
{
	if (primary < 0 || clients[primary].fd < 0)
		return true;
	return OUT_CAP - clients[primary].out_len >= HDR + IO_BUF_SIZE;
}

static void flush_out(struct client *c)
{
	size_t done = 0;

	while (done < c->out_len) {
		long n = rt_write(c->fd, c->out + done, c->out_len - done);

		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			drop(c);
			return;
		}
		done += (size_t)n;
	}
	memmove(c->out, c->out + done, c->out_len - done);
	c->out_len -= done;
}

/* Only while the exit drains the last output: the primary client is waited for, not dropped, but
 * not forever (a client that stopped reading must not keep the exit file from being written). */
static void wait_room(struct client *c, size_t need)
{
	while (c->fd >= 0 && OUT_CAP - c->out_len < need) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		long r = sys_ppoll_ms(&p, 1, EXIT_WAIT_MS);

		if ((r < 0 && r != -EINTR) || r == 0) {
			drop(c);
			return;
		}
		if (p.revents & (POLLERR | POLLHUP)) {
			drop(c);
			return;
		}
		flush_out(c);
	}
}

void attach_broadcast(enum stream s, const char *data, size_t n)
{
	for (int i = 0; i < ATTACH_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0)
			continue;
		if (is_primary(c))
			wait_room(c, HDR + n);
		if (c->fd < 0)
			continue;
		if (c->out_len + HDR + n > OUT_CAP) {
			drop(c);
			continue;
		}
		c->out[c->out_len] = (char)s;
		for (int b = 0; b < 4; b++)
			c->out[c->out_len + 1 + b] = (char)(n >> (24 - 8 * b));
		memcpy(c->out + c->out_len + HDR, data, n);
		c->out_len += HDR + n;
		flush_out(c);
	}
}

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Handles the complete frames in c->in; stops at a stdin frame io cannot take yet. */
static void handle_frames(struct client *c)
{
	size_t used = 0;

	c->waiting = false;
	while (c->fd >= 0 && c->in_len - used >= HDR) {
		const char *f = c->in + used;
		uint32_t len = be32(f + 1);

		if (len > FRAME_MAX) {
			drop(c);
			return;
		}
		if (c->in_len - used < HDR + len)
			break;
		if (f[0] == 0) {
			if (io_stdin_room() < len) {
				c->waiting = true;
				break;
			}
			io_stdin_write(f + HDR, len);
		} else if (f[0] == 1 && len == 0) {
			io_stdin_close();
		} else if (f[0] == 2 && len == 4) {
			const unsigned char *u = (const unsigned char *)f + HDR;

			io_resize((unsigned short)(u[0] << 8 | u[1]), (unsigned short)(u[2] << 8 | u[3]));
		} else {
			drop(c);
			return;
		}
		used += HDR + len;
	}
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
}

static void accept_client(void)
{
	long fd = sys_accept4(listen_fd, SOCK_FLAG_CLOEXEC | SOCK_FLAG_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < ATTACH_CLIENTS; i++) {
		if (clients[i].fd < 0) {
			clients[i].fd = (int)fd;
			clients[i].in_len = clients[i].out_len = 0;
			clients[i].waiting = false;
			return;
		}
	}
	rt_close((int)fd);
}

void attach_poll_add(struct pollset *p)
{
	if (!clients_ready)
		return;
	if (listen_fd >= 0)
		pollset_add(p, listen_fd, POLLIN, OWN_ATTACH, TAG_LISTEN);
	for (int i = 0; i < ATTACH_CLIENTS; i++) {
		struct client *c = &clients[i];
		short events = 0;

		if (c->fd < 0)
			continue;
		if (!c->waiting && c->in_len < sizeof(c->in))
			events |= POLLIN;
		if (c->out_len)
			events |= POLLOUT;
		pollset_add(p, c->fd, events, OWN_ATTACH, i);
	}
}

void attach_handle(int tag, short revents)
{
	struct client *c;
	long n;

	if (tag == TAG_LISTEN) {
		accept_client();
		return;
	}
	c = &clients[tag];
	if (c->fd < 0)
		return;
	if (revents & POLLOUT)
		flush_out(c);
	if (c->fd < 0 || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (c->waiting || c->in_len == sizeof(c->in)) {
		/* Not reading: only a hang-up matters. */
		if (revents & (POLLHUP | POLLERR))
			drop(c);
		return;
	}
	n = rt_read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	c->in_len += (size_t)n;
	handle_frames(c);
}

void attach_resume(void)
{
	for (int i = 0; i < ATTACH_CLIENTS; i++)
		if (clients[i].fd >= 0 && clients[i].waiting)
			handle_frames(&clients[i]);
}

void attach_close(void)
{
	if (!clients_ready)
		return;
	for (int i = 0; i < ATTACH_CLIENTS; i++) {
		if (clients[i].fd >= 0) {
			if (is_primary(&clients[i]))
				wait_room(&clients[i], OUT_CAP);
			flush_out(&clients[i]);
			if (clients[i].fd >= 0)
				drop(&clients[i]);
		}
	}
	if (listen_fd < 0)
		return;
	rt_close(listen_fd);
	listen_fd = -1;
	(void)sys_unlinkat(AT_FDCWD, socket_path);
}
