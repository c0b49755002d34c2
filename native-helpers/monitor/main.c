/* skiff-monitor: one per container, conmon's job (README.md, "skiff-monitor", has the protocol).
 *
 *   daemon ──spawn──▶ launcher ──fork──▶ monitor (setsid, child subreaper) ──clone+exec──▶ executor
 *
 * The launcher is the process the daemon spawned: it checks the options and opens everything
 * (errors here are ordinary helper errors: "[skiff-monitor:e]" lines, exit 1 or 2), forks the
 * monitor and exits 0 at once. The monitor, re-parented to init or the nearest subreaper and so
 * nobody's child in the daemon, starts the container, writes the one JSON line to the stdout it
 * inherited, and then lets go of the daemon's pipes: the daemon sees EOF and the launcher's exit,
 * and the monitor lives on, through a daemon restart. (Letting the launcher wait and relay the line
 * would cost another wake-up, about a millisecond on the 2-core VM.) */
#include "monitor.h"

#define ANSWER_FD 1

/* Holds the executor's early stderr (8 KiB): static, not on the stack. */
static struct started st;

/* Gives the daemon's stdout and stderr back: with the launcher gone the daemon then sees EOF. */
static long detach_stdio(int null_fd)
{
	long r = 0;

	for (int fd = 0; fd < 3 && r >= 0; fd++)
		r = rt_dup3(null_fd, fd);
	return r < 0 ? r : 0;
}

static int become_monitor(void)
{
	long r;

	if ((r = rt_setsid()) < 0)
		return fail((int)-r, "setsid");
	/* Orphans of the container (and a container process its executor forked) come to us. */
	if ((r = rt_prctl(PR_SET_CHILD_SUBREAPER, 1)) < 0)
		return fail((int)-r, "becoming a child subreaper");
	/* Keep no directory of the daemon's busy (a mount point it may want to unmount). */
	if ((r = rt_chdir("/")) < 0)
		return fail((int)-r, "chdir /");
	return 0;
}

/* Runs until the container has exited and its exit file is written. */
static int watch_container(const struct options *o, struct watch *w)
{
	long r;

	if (st.early_err_len)
		io_output(o->tty ? STREAM_STDOUT : STREAM_STDERR, st.early_err, st.early_err_len);
	if (loop_run(w) < 0) {
		/* No loop: at least the exit status must reach the exit file. */
		int status = 0;

		if (rt_wait4(w->pid, &status, 0) == w->pid) {
			w->status = status;
			w->finished_ns = clock_now_ns();
		}
	}
	io_drain();
	r = exit_file_write(o->exit_file, w->status, w->finished_ns, oom_killed());
	if (r < 0)
		report_err((int)-r, "writing the exit file %s", o->exit_file);
	attach_close();
	reap_children(w);
	return r < 0 ? EXIT_FAILURE_GENERIC : EXIT_OK;
}

static int run_monitor(const struct options *o, struct setup *s, char **envp)
{
	struct watch w = { .sig_fd = -1 };
	uint64_t start_time = 0;
	int self = (int)rt_getpid();
	long r;

	st.executor_status = -1;
	if (become_monitor() < 0 || loop_signals(&w) < 0 || spawn_container(o, s, envp, &st) < 0) {
		report_failure(ANSWER_FD, st.executor_status);
		return EXIT_FAILURE_GENERIC;
	}
	w.pid = st.pid;
	r = proc_start_time(st.pid, &start_time);
	if (r < 0) {
		fail((int)-r, "reading the container's start time");
		rt_kill(st.pid, SIG_KILL);
		report_failure(ANSWER_FD, -1);
		return EXIT_FAILURE_GENERIC;
	}
	io_init(s, o->tty, o->stdin_pipe);
	r = report_started(ANSWER_FD, st.pid, start_time, self);
	if (r == 0)
		r = detach_stdio(s->null_fd);
	rt_close(s->null_fd);
	/* Nobody learnt the pid (the daemon gave up, EPIPE): the container must not run unmanaged. Its
	 * exit is still recorded below. */
	if (r < 0)
		rt_kill(st.pid, SIG_KILL);
	return watch_container(o, &w);
}

/* Closes every fd above 2 but `a` and `b` (-1: none). */
static long close_inherited(int a, int b)
{
	int keep[2] = { a < b ? a : b, a < b ? b : a };
	unsigned from = 3;
	long r;

	for (int i = 0; i < 2; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > from && (r = rt_close_range(from, (unsigned)keep[i] - 1)) < 0)
			return r;
		from = (unsigned)keep[i] + 1;
	}
	return rt_close_range(from, ~0U);
}

int main(int argc, char **argv, char **envp)
{
	struct options o;
	struct setup s;
	/* The monitor is the container's parent, and its clone() child shares its memory until the
	 * executor's exec: nobody without CAP_SYS_PTRACE gets at its /proc/<pid>/exe or fds. Named,
	 * since started through an fd the kernel would call it by the fd's number. */
	long r = rt_conceal("skiff-monitor");

	if (r < 0)
		return report_err((int)-r, "prctl PR_SET_DUMPABLE / PR_SET_NAME"), EXIT_FAILURE_GENERIC;
	if (parse_options(argc, argv, &o) < 0)
		return EXIT_USAGE;
	/* Nothing of the daemon's but stdio (and the --attach-fd and --executor-fd it handed over):
	 * a leaked fd would stay open as long as the container. */
	r = close_inherited(o.attach_fd, o.executor_fd);
	if (r < 0)
		return report_err((int)-r, "closing inherited fds"), EXIT_FAILURE_GENERIC;
	if (setup_prepare(&o, &s) < 0)
		return EXIT_FAILURE_GENERIC;
	r = rt_fork();
	if (r < 0)
		return report_err((int)-r, "fork"), EXIT_FAILURE_GENERIC;
	if (r == 0)
		return run_monitor(&o, &s, envp);
	return EXIT_OK;
}
