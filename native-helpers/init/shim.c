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
/* skiff-monitor's --exec-sync pipe (SKIFF_SYNC_FD), or -1; see shim_sync_init. */
static int sync_fd = -1;
/* The child is handed over to the monitor: it must not die with this process once it runs. */
static bool handing_over;
/* Called instead of forwarding SIGTERM, when set (exec: end the command and all it started). */
static void (*term_hook)(int child);

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
	/* Set by the child when it ends without exec'ing; the parent reads it once the child has
	 * released our memory (CLONE_VFORK), so it is the child's last word before its exit. */
	volatile bool failed;
};

static struct child_start start;

static int child_main(void *p)
{
	struct child_start *cs = p;
	int rc = EXIT_FAILURE_GENERIC;

	parent_alive_fd = cs->alive_fd;
	if (check_parent() == 0)
		rc = refusal_status(cs->fn(cs->arg)); /* returns only when it could not exec */
	cs->failed = true;
	return rc;
}

int shim_spawn(int (*fn)(void *), void *arg)
{
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
	start = (struct child_start){ fn, arg, fds[0], false };
	pid = rt_clone_run(CLONE_VM | CLONE_VFORK | RT_SIGCHLD, child_stack + sizeof(child_stack), child_main, &start);
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
	long r;

	if (parent_alive_fd < 0)
		return 0;
	if (check_parent() < 0)
		return -1;
	/* Handed over, the container outlives this process: from here to the execve (a few
	 * microseconds) nothing kills it with us any more. */
	if (handing_over && (r = rt_prctl5(PR_SET_PDEATHSIG_OP, 0, 0, 0, 0)) < 0)
		return report_err((int)-r, "clear the parent-death signal");
	return 0;
}

void shim_sync_init(char **envp)
{
	for (; *envp; envp++) {
		uint64_t fd;

		if (!rt_starts_with(*envp, "SKIFF_SYNC_FD="))
			continue;
		/* Only an open fd above stdio counts; anything else is ignored, as without the variable. */
		if (rt_parse_u64(*envp + 14, &fd) && fd > 2 && fd < 1024 && RT_SYS(__NR_fcntl, fd, 1 /* F_GETFD */, 0, 0, 0) >= 0)
			sync_fd = (int)fd;
	}
}

int shim_close_inherited(void)
{
	long r;

	if (sync_fd > 3 && (r = rt_close_range(3, (unsigned)sync_fd - 1)) < 0)
		return report_err((int)-r, "close inherited fds");
	if ((r = rt_close_range(sync_fd > 2 ? (unsigned)sync_fd + 1 : 3, ~0U)) < 0)
		return report_err((int)-r, "close inherited fds");
	return 0;
}

void shim_hand_over(bool yes)
{
	handing_over = yes && sync_fd >= 0;
}

void shim_sync_drop(void)
{
	if (sync_fd >= 0)
		rt_close(sync_fd);
	sync_fd = -1;
}

void shim_on_term(void (*hook)(int child))
{
	term_hook = hook;
}

/* Ends this process the way the child ended: the same signal (default action, no core dump), or
 * 128 + its number if that signal does not end a process. */
int shim_end_like(int sig)
{
	uint64_t only = SIG_BIT(sig);

	rt_prctl5(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
	rt_kill((int)rt_getpid(), sig);
	rt_sigprocmask(SIG_UNBLOCK_HOW, &only, NULL);
	return 128 + sig;
}

int shim_end_like_status(int status)
{
	if ((status & 0x7f) == 0)
		return (status >> 8) & 0xff;
	return shim_end_like(status & 0x7f);
}

int shim_wait(int child)
{
	if (sync_fd >= 0) {
		/* The child has exec'd or is exiting (CLONE_VFORK): tell the monitor. A child that could
		 * not exec is waited for as without a monitor, its [skiff-init:e] lines on stderr. */
		if (handing_over && !start.failed) {
			char line[32];
			size_t len = rt_format(line, sizeof(line), "pid %d\n", child);
			long r;

			if ((r = rt_write(sync_fd, line, len)) < 0)
				report_err((int)-r, "write the container's pid to SKIFF_SYNC_FD");
			rt_close(sync_fd);
			/* The monitor, a child subreaper, adopts the container when we are gone. */
			return r < 0 ? EXIT_FAILURE_GENERIC : EXIT_OK;
		}
		rt_close(sync_fd);
	}
	for (;;) {
		struct rt_siginfo info;
		int status;
		long r = rt_sigwaitinfo(&all_signals, &info);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return report_err((int)-r, "wait for signals"), EXIT_FAILURE_GENERIC;
		if (r == RT_SIGTERM && term_hook) {
			term_hook(child);
			continue;
		}
		if (r != RT_SIGCHLD) {
			/* The child may be gone already: its exit is then in the queue as SIGCHLD. */
			rt_kill(child, (int)r);
			continue;
		}
		while ((r = rt_wait4(-1, &status, WNOHANG)) > 0)
			if (r == child)
				return shim_end_like_status(status);
		if (r < 0 && r != -ECHILD)
			return report_err((int)-r, "wait for the child"), EXIT_FAILURE_GENERIC;
		if (r == -ECHILD)
			return report("the child %d vanished", child), EXIT_FAILURE_GENERIC;
	}
}
