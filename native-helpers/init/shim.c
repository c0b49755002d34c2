/* The parent that stays when skiff-init must start a child (a pid namespace applies only to
 * children, so the container's pid 1, or an exec'd command, is one): it forwards every signal it
 * gets to the child, reaps it, and ends the way the child ended, so whoever started skiff-init
 * (the monitor, a test) sees the container's exit status. The child dies with it
 * (PR_SET_PDEATHSIG), and is started without copying our memory (clone.c). */
#include "init.h"

#define PR_SET_PDEATHSIG_OP 1

static const uint64_t all_signals = ~0ULL;
/* The write end stays open in the parent; the child sees POLLHUP on its end once the parent died. */
static int parent_alive_fd = -1;

long rt_clone_run(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg);

static int check_parent(void)
{
	struct rt_pollfd p = { .fd = parent_alive_fd, .events = RT_POLLIN };
	long r;

	if ((r = rt_prctl5(PR_SET_PDEATHSIG_OP, RT_SIGKILL, 0, 0, 0)) < 0)
		return report_err((int)-r, "set the parent-death signal");
	if ((r = rt_ppoll_now(&p, 1)) < 0)
		return report_err((int)-r, "poll the parent");
	if (r > 0 && (p.revents & RT_POLLHUP))
		return report("the parent skiff-init is gone");
	return 0;
}

/* The child's stack: the parent's own is in use (CLONE_VM), and it sleeps meanwhile. Untouched
 * pages of it cost nothing. */
static char child_stack[256 * 1024] __attribute__((aligned(16)));

struct child_start {
	int (*fn)(void *);
	void *arg;
	int alive_fd;
};

static int child_main(void *p)
{
	struct child_start *cs = p;

	parent_alive_fd = cs->alive_fd;
	if (check_parent() < 0)
		return EXIT_FAILURE_GENERIC;
	return cs->fn(cs->arg);
}

int shim_spawn(int (*fn)(void *), void *arg)
{
	static struct child_start cs;
	int fds[2];
	long r, pid;

	if ((r = rt_pipe2(fds, O_CLOEXEC)) < 0)
		return report_err((int)-r, "pipe");
	if ((r = rt_sigprocmask(RT_SIG_SETMASK, &all_signals, NULL)) < 0) {
		rt_close(fds[0]);
		rt_close(fds[1]);
		return report_err((int)-r, "block signals");
	}
	/* The child gets the read end (close-on-exec) and, with its own fd table, closes nothing of
	 * ours; the parent keeps the write end. */
	cs = (struct child_start){ fn, arg, fds[0] };
	pid = rt_clone_run(CLONE_VM | CLONE_VFORK | RT_SIGCHLD, child_stack + sizeof(child_stack), child_main, &cs);
	rt_close(fds[0]);
	if (pid < 0) {
		rt_close(fds[1]);
		return report_err((int)-pid, "clone");
	}
	parent_alive_fd = fds[1];
	return (int)pid;
}

int shim_child_recheck(void)
{
	return parent_alive_fd < 0 ? 0 : check_parent();
}

/* Ends this process the way the child ended: the same signal (default action, no core dump), or
 * 128 + its number if that signal does not end a process. */
static int end_like(int sig)
{
	uint64_t only = SIG_BIT(sig);

	rt_prctl5(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
	rt_kill((int)rt_getpid(), sig);
	rt_sigprocmask(SIG_UNBLOCK_HOW, &only, NULL);
	return 128 + sig;
}

int shim_wait(int child)
{
	for (;;) {
		struct rt_siginfo info;
		int status;
		long r = rt_sigwaitinfo(&all_signals, &info);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return report_err((int)-r, "wait for signals"), EXIT_FAILURE_GENERIC;
		if (r != RT_SIGCHLD) {
			/* The child may be gone already: its exit is then in the queue as SIGCHLD. */
			rt_kill(child, (int)r);
			continue;
		}
		while ((r = rt_wait4(-1, &status, WNOHANG)) > 0) {
			if (r != child)
				continue;
			if ((status & 0x7f) == 0)
				return (status >> 8) & 0xff;
			return end_like(status & 0x7f);
		}
		if (r < 0 && r != -ECHILD)
			return report_err((int)-r, "wait for the child"), EXIT_FAILURE_GENERIC;
		if (r == -ECHILD)
			return report("the child %d vanished", child), EXIT_FAILURE_GENERIC;
	}
}
