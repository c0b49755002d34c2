/* `skiff-init exec` runs as two processes, so that ending an exec ends everything it started.
 *
 * The first (the daemon's or a monitor's child, in the host's pid namespace) joins the
 * container's namespaces and forks the second, the exec's reaper: in the container's pid
 * namespace, a child subreaper, and the parent of the command. Orphans are re-parented to the
 * nearest subreaper of their own pid namespace, so whatever the command starts, in a new session
 * or after a double fork, stays below the reaper (a subreaper outside the container's pid
 * namespace would not do: the kernel never looks past the namespace's own processes). To end
 * the exec the reaper kills its children in rounds (it lists them in /proc/thread-self/children),
 * reaping each, whose own children then become its children, until it has none left.
 *
 * The first process asks for that end by closing its end of a pipe (on SIGTERM, from the daemon
 * on a timeout or cancellation), or by dying (SIGKILL): the reaper's parent-death signal wakes it
 * and it finds the pipe closed. Otherwise the reaper forwards signals to the command, reaps what
 * is re-parented to it, and ends the way the command ended once the command exits; what the
 * command left running in the background then lives on, as with runc and containerd.
 *
 * The reaper is visible inside the container for the exec's lifetime, so it keeps nothing there
 * worth taking: once the command runs it is non-dumpable (no ptrace, no /proc/PID/fd, mem or
 * environ for the container), its command line is blanked, it holds no file of the host, and it
 * keeps CAP_KILL only. */
#include "init.h"

#define PR_SET_PDEATHSIG_OP 1
#define PR_SET_DUMPABLE_OP 4
#define PR_SET_NAME_OP 15
#define PR_SET_CHILD_SUBREAPER_OP 36
#define CAP_KILL_BIT (1ULL << 5)
#define PROC_MAGIC 0x9fa0
/* Between rounds of a sweep, when no child has been reaped yet: a dying process takes a moment. */
#define SWEEP_PAUSE_MS 5

static const uint64_t all_signals = ~0ULL;
static const uint64_t sigchld = SIG_BIT(RT_SIGCHLD);
/* A pipe between the two processes: the first holds the write end, the reaper the read end. */
static int link_fd = -1;
/* The reaper's /proc/thread-self/children, opened before the command runs; -1 without one. */
static int children_fd = -1;

int exec_reaper_fork(void)
{
	int fds[2];
	long r, pid;

	if ((r = rt_pipe2(fds, O_CLOEXEC)) < 0)
		return report_err((int)-r, "pipe");
	/* Signals wait for sigwaitinfo in both processes, from the fork on. */
	if ((r = rt_sigprocmask(RT_SIG_SETMASK, &all_signals, NULL)) < 0 || (pid = rt_fork()) < 0) {
		rt_close(fds[0]);
		rt_close(fds[1]);
		return report_err((int)-(r < 0 ? r : pid), r < 0 ? "block signals" : "fork the exec's reaper");
	}
	rt_close(fds[pid == 0 ? 1 : 0]);
	link_fd = fds[pid == 0 ? 0 : 1];
	return (int)pid;
}

void exec_reaper_end(int reaper)
{
	if (link_fd >= 0) {
		rt_close(link_fd);
		link_fd = -1;
	}
	/* Any signal wakes it; it then finds the pipe closed. */
	rt_kill(reaper, RT_SIGTERM);
}

/* The first process has died or asked for the end. */
static bool link_closed(void)
{
	struct rt_pollfd p = { .fd = link_fd, .events = RT_POLLIN };

	return rt_ppoll_now(&p, 1) > 0 && (p.revents & RT_POLLHUP);
}

static void open_children(void)
{
	/* The container's /proc: the host's would name the children by their host pids. Not a FIFO
	 * or anything else a container could have put there: procfs, or nothing. */
	long fd = rt_open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);

	if (fd < 0)
		return;
	if (rt_fs_magic((int)fd) != PROC_MAGIC) {
		rt_close((int)fd);
		return;
	}
	children_fd = (int)fd;
}

/* SIGKILL to every child listed; false when the list cannot be read. */
static bool kill_children(void)
{
	static char buf[16384];
	long n = children_fd >= 0 ? rt_pread(children_fd, buf, sizeof(buf) - 1, 0) : -EBADF;

	if (n < 0)
		return false;
	buf[n] = '\0';
	for (char *p = buf; *p;) {
		uint64_t pid;

		while (*p == ' ' || *p == '\n')
			p++;
		if (rt_parse_u64(p, &pid) && pid > 0 && pid < 0x7fffffff)
			rt_kill((int)pid, RT_SIGKILL);
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p && *p != ' ' && *p != '\n')
			break;
	}
	return true;
}

/* Every child listed is a zombie that wait4 does not give us: a ptracer holds it. */
static bool only_unreapable_left(void)
{
	static char buf[4096], stat[512];
	long n = rt_pread(children_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *p = buf; *p;) {
		uint64_t pid;
		char path[48];
		long fd, m;
		const char *q;

		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (!rt_parse_u64(p, &pid))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		rt_format(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0)) < 0)
			return false;
		m = rt_read((int)fd, stat, sizeof(stat) - 1);
		rt_close((int)fd);
		if (m <= 0)
			return false;
		stat[m] = '\0';
		if (!(q = rt_find_last(stat, ')')) || q[1] != ' ' || q[2] != 'Z')
			return false;
	}
	return true;
}

/* Kills and reaps every process below the reaper. A process killed in one round has its children
 * re-parented to the reaper before it can be reaped, so the next round sees them; the sweep ends
 * when wait4 says there is no child at all. Without a children list only the command is killed. */
static void sweep(int command)
{
	for (;;) {
		struct rt_siginfo info;
		int status;
		bool listed = kill_children();
		long r;

		if (!listed)
			rt_kill(command, RT_SIGKILL);
		r = rt_wait4(-1, &status, WNOHANG | __WALL);
		if (r > 0)
			continue;
		if (r < 0)
			return; /* ECHILD: done */
		if (!listed) {
			rt_wait4(command, &status, __WALL);
			return;
		}
		/* A child killed just now may have become a zombie since the wait4 above: only a zombie
		 * that wait4 still does not give us, seen as one before asking, is a tracer's. */
		if (only_unreapable_left()) {
			if ((r = rt_wait4(-1, &status, WNOHANG | __WALL)) > 0)
				continue;
			return;
		}
		rt_sigtimedwait_ms(&sigchld, &info, SWEEP_PAUSE_MS);
	}
}

/* What the reaper keeps once the command runs: see the top of the file. */
static int confine_reaper(void)
{
	const struct caps_spec kill_only = { .present = true, .effective = CAP_KILL_BIT, .permitted = CAP_KILL_BIT };
	long r;

	if (caps_after_user(&kill_only) < 0)
		return -1;
	/* Last: a change of credentials may reset it. */
	if ((r = rt_prctl5(PR_SET_DUMPABLE_OP, 0, 0, 0, 0)) < 0)
		return report_err((int)-r, "make the exec's reaper non-dumpable");
	return 0;
}

int exec_reaper_run(int (*command)(void *), void *arg)
{
	int cmd, status;
	long r;

	shim_sync_drop();
	/* Its parent dying must wake it (SIGTERM is only a wake-up: the pipe says why). */
	if ((r = rt_prctl5(PR_SET_PDEATHSIG_OP, RT_SIGTERM, 0, 0, 0)) < 0)
		return report_err((int)-r, "set the parent-death signal"), EXIT_FAILURE_GENERIC;
	if (link_closed())
		return report("the parent skiff-init is gone"), EXIT_FAILURE_GENERIC;
	/* Out of the first process's group: a SIGKILL to that group leaves the reaper to clean up. */
	if ((r = rt_setpgid(0, 0)) < 0 || (r = rt_prctl5(PR_SET_CHILD_SUBREAPER_OP, 1, 0, 0, 0)) < 0)
		return report_err((int)-r, "become the exec's reaper"), EXIT_FAILURE_GENERIC;
	rt_prctl5(PR_SET_NAME_OP, (unsigned long)"skiff-exec", 0, 0, 0);
	open_children();
	if ((cmd = shim_spawn(command, arg)) < 0)
		return EXIT_FAILURE_GENERIC;
	if (confine_reaper() < 0) {
		sweep(cmd);
		return EXIT_FAILURE_GENERIC;
	}
	for (;;) {
		struct rt_siginfo info;

		r = rt_sigwaitinfo(&all_signals, &info);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			report_err((int)-r, "wait for signals");
			sweep(cmd);
			return EXIT_FAILURE_GENERIC;
		}
		if (r != RT_SIGCHLD) {
			if (link_closed()) {
				sweep(cmd);
				return shim_end_like(RT_SIGKILL);
			}
			rt_kill(cmd, (int)r);
			continue;
		}
		while ((r = rt_wait4(-1, &status, WNOHANG | __WALL)) > 0) {
			int other;

			if (r != cmd)
				continue;
			/* Zombies left behind would go to the container's init, which may never reap them. */
			while (rt_wait4(-1, &other, WNOHANG | __WALL) > 0)
				;
			return shim_end_like_status(status);
		}
		if (r == -ECHILD)
			return report("the command %d vanished", cmd), EXIT_FAILURE_GENERIC;
	}
}
