/* What the launcher opens before it forks the monitor, so that a failure is still an ordinary
 * helper error (an "[skiff-monitor:e]" line and exit 1) and nothing has been started yet. Every
 * fd is close-on-exec: the container gets only what spawn.c dup()s onto 0, 1 and 2. */
#include "monitor.h"

/* The pipes must not land on 0, 1 or 2, and spawn.c's dup()s must not overwrite one another: a
 * daemon that started us with a standard fd closed gets /dev/null there. */
static int ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		long r = sys_fcntl(fd, F_GETFD, 0);

		if (r >= 0)
			continue;
		if (r != -EBADF)
			return report_err((int)-r, "checking fd %d", fd);
		r = rt_open("/dev/null", O_RDWR, 0);
		if (r < 0)
			return report_err((int)-r, "open /dev/null");
		if (r != fd)
			return report("open /dev/null: got fd %ld for fd %d", r, fd);
	}
	return 0;
}

static int set_nonblock(int fd)
{
	long fl = sys_fcntl(fd, F_GETFL, 0);

	if (fl < 0 || (fl = sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK)) < 0)
		return report_err((int)-fl, "setting O_NONBLOCK");
	return 0;
}

/* A pipe whose end `nonblock_end` (0 read, 1 write) the monitor keeps, non-blocking. */
static int make_pipe(int *r, int *w, int nonblock_end, const char *what)
{
	int fds[2];
	long e = rt_pipe2(fds, O_CLOEXEC);

	if (e < 0)
		return report_err((int)-e, "%s pipe", what);
	*r = fds[0];
	*w = fds[1];
	return set_nonblock(fds[nonblock_end]);
}

/* A new pty: the master for the monitor, the peer (slave) for the container, opened through the
 * master (TIOCGPTPEER) so no /dev/pts path lookup is involved. */
static int make_pty(struct setup *s)
{
	int unlock = 0;
	long fd = rt_open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
	long r;

	if (fd < 0)
		return report_err((int)-fd, "open /dev/ptmx");
	s->out_r = (int)fd;
	r = sys_ioctl(s->out_r, TIOCSPTLCK, &unlock);
	if (r < 0)
		return report_err((int)-r, "unlocking the pty");
	r = sys_ioctl(s->out_r, TIOCGPTPEER, (void *)(long)(O_RDWR | O_NOCTTY | O_CLOEXEC));
	if (r < 0)
		return report_err((int)-r, "opening the pty's peer");
	s->out_w = (int)r;
	return set_nonblock(s->out_r);
}

/* --executor-fd: only a file nobody can write may become the executor, so the monitor checks the
 * seals the daemon put on its copy (a memfd sealed against writes, growth and shrinking) rather
 * than trust it. The fd is moved above fd 3, where spawn.c puts the sync pipe, and is
 * close-on-exec: the executor runs from it but does not inherit it. */
static int executor_fd_prepare(int fd, struct setup *s)
{
	const long needed = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
	long seals = sys_fcntl(fd, F_GET_SEALS, 0);
	long r;

	if (seals < 0)
		return report_err((int)-seals, "--executor-fd %d: not a sealed file", fd);
	if ((seals & needed) != needed)
		return report("--executor-fd %d: the file can still be written (seals 0x%lx)", fd, (unsigned long)seals);
	r = sys_fcntl(fd, F_DUPFD_CLOEXEC, 4);
	if (r < 0)
		return report_err((int)-r, "--executor-fd %d: dup", fd);
	s->exec_fd = (int)r;
	rt_close(fd);
	return 0;
}

int setup_prepare(const struct options *o, struct setup *s)
{
	long r;

	*s = (struct setup){ .null_fd = -1, .out_r = -1, .out_w = -1, .err_r = -1, .err_w = -1, .in_r = -1, .in_w = -1,
			     .exec_fd = -1 };
	if (ensure_std_fds() < 0)
		return -1;
	if (o->executor_fd >= 0 && executor_fd_prepare(o->executor_fd, s) < 0)
		return -1;
	/* Log 0640, exit file 0640, attach socket 0750; the container gets the daemon's umask back. */
	s->old_umask = (unsigned)sys_umask(027);
	r = rt_open("/dev/null", O_RDWR | O_CLOEXEC, 0);
	if (r < 0)
		return report_err((int)-r, "open /dev/null");
	s->null_fd = (int)r;
	r = log_open(o->log_path);
	if (r < 0)
		return report_err((int)-r, "open log %s", o->log_path);
	if (o->tty) {
		if (make_pty(s) < 0)
			return -1;
	} else {
		if (make_pipe(&s->out_r, &s->out_w, 0, "stdout") < 0 || make_pipe(&s->err_r, &s->err_w, 0, "stderr") < 0)
			return -1;
		if (o->stdin_pipe) {
			if (make_pipe(&s->in_r, &s->in_w, 1, "stdin") < 0)
				return -1;
		} else {
			s->in_r = s->null_fd;
		}
	}
	if (o->attach_socket) {
		r = attach_listen(o->attach_socket);
		if (r < 0)
			return report_err((int)-r, "attach socket %s", o->attach_socket);
	}
	if (o->attach_fd >= 0) {
		r = attach_adopt(o->attach_fd);
		if (r < 0)
			return report_err((int)-r, "--attach-fd %d", o->attach_fd);
	}
	if (o->oom_cgroup)
		oom_watch(o->oom_cgroup);
	if (o->oom_score_adj_set) {
		r = oom_score_set(o->oom_score_adj, &s->old_oom_score_adj);
		if (r < 0) {
			char what[64];

			rt_format(what, sizeof(what), "cannot set oom_score_adj to %d", o->oom_score_adj);
			warn_errno((int)-r, what);
		} else {
			s->oom_score_changed = true;
		}
	}
	return 0;
}
