/* The pod's pid-namespace init. A pid namespace dies with its pid 1, so a bind mount of its ns
 * file alone cannot keep it usable: something must be pid 1. This is that something, forked from
 * skiff-pinns after unshare(CLONE_NEWPID), so it is born in the pod's net/ipc/uts namespaces too.
 * It keeps nothing of the host (init-confine.c), reaps what is orphaned to it and exits on
 * SIGTERM/SIGINT from outside the pod: neither needs a privilege. When skiff-pinns exits, the init
 * is re-parented away from the daemon; no PR_SET_PDEATHSIG, because it must outlive the daemon. */
#include "pinns.h"

static const uint64_t ALL_SIGNALS = ~(uint64_t)0;

/* All signals are blocked (inherited from the fork), so none is lost before this loop runs and
 * none needs a handler: sigwaitinfo takes them off the queue. Blocked signals are queued even for
 * a namespace init, which the kernel otherwise shields from signals it has no handler for. */
__attribute__((noreturn)) static void init_loop(void)
{
	struct rt_siginfo si;

	for (;;) {
		long sig = rt_sigwaitinfo(&ALL_SIGNALS, &si);

		if (sig < 0)
			continue; /* EINTR: nothing else can fail with a valid set */
		if (sig == RT_SIGCHLD) {
			while (rt_wait4(-1, NULL, WNOHANG) > 0)
				;
		} else if ((sig == RT_SIGTERM || sig == RT_SIGINT) && si.pid == 0) {
			/* si_pid is 0 when the sender is outside this pid namespace (the daemon, an
			 * operator). A container process of the pod cannot end the whole pod this way. */
			rt_exit(EXIT_OK);
		}
	}
}

/* Runs in the child; reports on the stderr it inherited until it swaps it for /dev/null. */
__attribute__((noreturn)) static void init_main(int sync_fd, const struct rt_args *args, int mntns)
{
	long null, r;

	/* pid 1 of the pod, visible to all its containers for the pod's life: its cmdline shows no
	 * host path (the helper's location, the pod's dir), like containerd's "/pause". It is not
	 * dumpable either (inherited from skiff-pinns' main), so a container cannot open its
	 * /proc/1/exe. */
	rt_args_retitle(args, "skiff-pod-init");

	if ((r = rt_setsid()) < 0) {
		report_err((int)-r, "pid init: setsid");
		rt_exit(EXIT_FAILURE_GENERIC);
	}
	/* Readable in ps. */
	if ((r = rt_prctl(PR_SET_NAME, (unsigned long)"skiff-pod-init")) < 0) {
		report_err((int)-r, "pid init: prctl");
		rt_exit(EXIT_FAILURE_GENERIC);
	}
	/* The daemon reads skiff-pinns' stdout and stderr to EOF: the init must not hold them open.
	 * Opened while the host's /dev is still ours. */
	null = rt_open("/dev/null", O_RDWR | O_CLOEXEC, 0);
	if (null < 0) {
		report_err((int)-null, "pid init: open /dev/null");
		rt_exit(EXIT_FAILURE_GENERIC);
	}
	/* Nothing of the host from here on: no root, no working directory, no mount, no capability
	 * (init-confine.c). This also holds no mount of the host busy. */
	if (pid_init_confine(mntns) < 0)
		rt_exit(EXIT_FAILURE_GENERIC);
	for (int fd = 0; fd <= 2; fd++) {
		if (fd != null && (r = rt_dup3((int)null, fd)) < 0) {
			report_err((int)-r, "pid init: dup /dev/null to %d", fd);
			rt_exit(EXIT_FAILURE_GENERIC);
		}
	}
	/* Nothing else the daemon passed down may stay open for the pod's lifetime. From here on
	 * stderr is /dev/null: exiting is the report, since the parent then reads EOF, not "1". */
	if ((sync_fd > 3 && rt_close_range(3, (unsigned)sync_fd - 1) < 0) ||
	    rt_close_range((unsigned)sync_fd + 1, ~0U) < 0)
		rt_exit(EXIT_FAILURE_GENERIC);
	if (rt_write(sync_fd, "1", 1) != 1)
		rt_exit(EXIT_FAILURE_GENERIC);
	rt_close(sync_fd);
	init_loop();
}

/* Forks the init (pid 1 of the namespace unshared before). Returns its pid as this (the host's)
 * pid namespace sees it, or -1; *sync_fd then gets the pipe pid_init_ready() waits on, so the
 * caller can pin the namespace while the child is still setting itself up. */
int pid_init_start(int *sync_fd, const struct rt_args *args, int mntns)
{
	uint64_t old;
	int fds[2];
	long pid, r;

	if ((r = rt_pipe2(fds, O_CLOEXEC)) < 0)
		return report_err((int)-r, "pid init: pipe");
	/* Blocked before the fork, so the child holds every signal from its first instruction on. */
	if ((r = rt_sigprocmask(RT_SIG_SETMASK, &ALL_SIGNALS, &old)) < 0) {
		rt_close(fds[0]);
		rt_close(fds[1]);
		return report_err((int)-r, "pid init: block signals");
	}
	pid = rt_fork();
	if (pid == 0) {
		rt_close(fds[0]);
		init_main(fds[1], args, mntns);
	}
	/* Restoring a mask sigprocmask just returned cannot fail; closing a pipe end has nothing to
	 * flush. Neither result is worth a branch. */
	rt_sigprocmask(RT_SIG_SETMASK, &old, NULL);
	rt_close(fds[1]);
	if (pid < 0) {
		rt_close(fds[0]);
		return report_err((int)-pid, "pid init: fork");
	}
	*sync_fd = fds[0];
	return (int)pid;
}

/* Waits until the init has let go of the daemon's pipes and is waiting for signals; closes
 * sync_fd. On failure the caller kills and reaps the init (pin_undo_all). */
int pid_init_ready(int sync_fd)
{
	long n;
	char c;

	n = rt_read(sync_fd, &c, 1);
	rt_close(sync_fd);
	if (n == 1)
		return 0;
	if (n < 0)
		return report_err((int)-n, "pid init: read sync pipe");
	return report("pid init exited before it was ready");
}

/* Field 22 of /proc/<pid>/stat (clock ticks after boot): with the pid, it names one process for
 * good, so the daemon never signals whoever reused the pid later. */
int proc_start_time(int pid, uint64_t *out)
{
	char path[64], buf[1024];
	const char *p;
	long fd, n;

	rt_format(path, sizeof(path), "/proc/%d/stat", pid);
	fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return report_err((int)-fd, "open %s", path);
	n = rt_read((int)fd, buf, sizeof(buf) - 1);
	rt_close((int)fd); /* read-only procfs file: nothing to report on close */
	if (n < 0)
		return report_err((int)-n, "read %s", path);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	p = rt_find_last(buf, ')');
	if (!p)
		return report("%s: no command name", path);
	p++;
	for (int field = 3; field < 22; field++) {
		p = rt_find_any(p + 1, " ");
		if (!p)
			return report("%s: too few fields", path);
	}
	if (!rt_parse_u64(p + 1, out))
		return report("%s: bad start time", path);
	return 0;
}
