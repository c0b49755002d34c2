/* The monitor's event loop: one ppoll over a signalfd, the container's stdio and the attach socket,
 * with no timeout (nothing here polls on a timer). Signals arrive through the signalfd only:
 *   SIGCHLD  reap every exited child; the container's process ends the loop. Orphans of the
 *            container are re-parented to the monitor (a child subreaper) and reaped here too.
 *   SIGUSR1  reopen the log file (ReopenContainerLog).
 *   SIGTERM, SIGINT, SIGHUP, SIGQUIT  forwarded to the container's process, as conmon does.
 * SIGPIPE stays blocked: a write to a closed pipe or socket then just fails with EPIPE. */
#include "monitor.h"

static const int forwarded[] = { SIG_TERM, SIG_INT, SIG_HUP, SIG_QUIT };

void pollset_add(struct pollset *p, int fd, short events, enum owner owner, int tag)
{
	/* POLL_MAX counts every fd the modules can add (1 + 3 + 1 + 4 clients). */
	if (p->n == POLL_MAX)
		return;
	p->fds[p->n] = (struct pollfd){ .fd = fd, .events = events };
	p->owner[p->n] = (unsigned char)owner;
	p->tag[p->n] = tag;
	p->n++;
}

int loop_signals(struct watch *w)
{
	uint64_t handled = SIG_BIT(SIG_CHLD) | SIG_BIT(SIG_USR1);
	uint64_t blocked;
	long r;

	for (unsigned i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		handled |= SIG_BIT(forwarded[i]);
	blocked = handled | SIG_BIT(SIG_PIPE);
	r = rt_sigprocmask(RT_SIG_SETMASK, &blocked, NULL);
	if (r < 0)
		return fail((int)-r, "blocking signals");
	r = sys_signalfd(&handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r < 0)
		return fail((int)-r, "signalfd");
	w->sig_fd = (int)r;
	return 0;
}

void reap_children(struct watch *w)
{
	for (;;) {
		int status = 0;
		long pid = sys_wait4_nohang(-1, &status);

		if (pid == -EINTR)
			continue;
		if (pid <= 0)
			return;
		if (pid == w->pid && !w->exited) {
			w->exited = true;
			w->status = status;
			w->finished_ns = clock_now_ns();
		}
	}
}

static void handle_signals(struct watch *w)
{
	struct signalfd_siginfo si;

	while (rt_read(w->sig_fd, &si, sizeof(si)) == (long)sizeof(si)) {
		if (si.ssi_signo == SIG_CHLD)
			reap_children(w);
		else if (si.ssi_signo == SIG_USR1)
			/* On failure the old file stays in use; there is nobody to tell. */
			(void)log_reopen();
		else if (!w->exited)
			(void)rt_kill(w->pid, (int)si.ssi_signo);
	}
}

/* An exec session's client (--attach-fd) is gone: like containerd for a cancelled exec, the
 * command is killed, with its process group (the executor leads one: spawn.c calls setsid). */
static void kill_orphaned_session(const struct watch *w)
{
	static bool done;

	if (done || w->exited || !attach_primary_lost())
		return;
	done = true;
	(void)rt_kill(-w->pid, SIG_KILL);
	(void)rt_kill(w->pid, SIG_KILL);
}

int loop_run(struct watch *w)
{
	/* The container may have exited before the signalfd was read the first time. */
	reap_children(w);
	while (!w->exited) {
		struct pollset p = { .n = 0 };
		long r;

		pollset_add(&p, w->sig_fd, POLLIN, OWN_SIGNAL, 0);
		io_poll_add(&p);
		attach_poll_add(&p);
		r = sys_ppoll(p.fds, p.n);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return fail((int)-r, "ppoll");
		for (unsigned i = 0; i < p.n; i++) {
			short ev = p.fds[i].revents;

			if (!ev)
				continue;
			if (p.owner[i] == OWN_SIGNAL)
				handle_signals(w);
			else if (p.owner[i] == OWN_IO)
				io_handle(p.tag[i], ev);
			else
				attach_handle(p.tag[i], ev);
		}
		kill_orphaned_session(w);
	}
	return 0;
}
