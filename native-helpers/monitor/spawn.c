/* The container's process: cloned by the monitor (clone.c), given the container's stdio, and
 * exec'd into the executor (skiff-init, or any program). Two ways to learn that the container runs:
 *
 * - always: a close-on-exec "status" pipe. EOF means the executor's execve succeeded; a
 *   {stage, errno} record means the child failed before it (a missing executor, a failed dup).
 * - with --exec-sync: the executor also gets a pipe on fd 3 (and SKIFF_SYNC_FD=3 in its
 *   environment). It must close fd 3 at its own final execve (close-on-exec) or exit; EOF on the
 *   monitor's end then means the container's program runs or the executor is gone. An executor that
 *   forks the container's process (a new pid namespace needs a fork) and exits may write
 *   "pid <N>\n" to fd 3 first: the monitor, a child subreaper, adopts that process. Whatever the
 *   executor wrote to stderr before the EOF is its own (the container's program has not run yet);
 *   "[skiff-<name>:e] …" lines there mean it failed, and they become the {"error":…} answer. */
#include "monitor.h"

#define SYNC_FD 3
#define ENV_MAX 1024
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum stage { ST_PDEATHSIG, ST_ORPHANED, ST_SETSID, ST_CTTY, ST_STDIO, ST_SYNC_FD, ST_SIGMASK, ST_OOM_SCORE, ST_ENV, ST_EXEC };

static const char *const stage_text[] = {
	[ST_PDEATHSIG] = "setting the parent-death signal",
	[ST_ORPHANED] = "the monitor died before the exec",
	[ST_SETSID] = "setsid",
	[ST_CTTY] = "making the pty the controlling terminal",
	[ST_STDIO] = "setting up stdin/stdout/stderr",
	[ST_SYNC_FD] = "setting up the sync fd",
	[ST_SIGMASK] = "unblocking signals",
	[ST_OOM_SCORE] = "restoring oom_score_adj",
	[ST_ENV] = "too many environment variables",
	[ST_EXEC] = "exec",
};

struct exec_failure {
	int stage;
	int err;
};

struct child_plan {
	const struct options *o;
	const struct setup *s;
	char **envp;
	int monitor;
	int status_w;
	int sync_w;
};

/* The child's stack (clone.c): the monitor sleeps while the child runs, and one child at a time
 * uses it. It holds the environment array and a path buffer. */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

__attribute__((noreturn)) static void child_fail(int status_w, enum stage stage, long err)
{
	struct exec_failure f = { stage, (int)-err };

	/* Nothing else to do if this fails: the monitor then sees EOF and a child that exited 127. */
	(void)rt_write(status_w, &f, sizeof(f));
	rt_exit(127);
}

static const char *env_get(char **env, const char *name)
{
	size_t n = rt_strlen(name);

	for (; *env; env++)
		if (rt_starts_with(*env, name) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* execve with execvp's PATH search when argv[0] has no slash. Returns -errno. */
static long exec_search(char **argv, char **env)
{
	const char *path = env_get(env, "PATH");
	size_t name_len = rt_strlen(argv[0]);
	bool denied = false;
	char buf[PATH_MAX];

	if (rt_find_any(argv[0], "/"))
		return sys_execve(argv[0], argv, env);
	if (!path)
		path = DEFAULT_PATH;
	for (const char *dir = path;; dir++) {
		const char *end = dir;
		size_t dir_len;
		long r;

		while (*end && *end != ':')
			end++;
		dir_len = (size_t)(end - dir);
		if (dir_len + 1 + name_len < sizeof(buf)) {
			if (dir_len == 0)
				buf[dir_len++] = '.';
			else
				memcpy(buf, dir, dir_len);
			buf[dir_len] = '/';
			memcpy(buf + dir_len + 1, argv[0], name_len + 1);
			r = sys_execve(buf, argv, env);
			if (r == -EACCES)
				denied = true;
			else if (r != -ENOENT && r != -ENOTDIR)
				return r;
		}
		dir = end;
		if (!*end)
			break;
	}
	return denied ? -EACCES : -ENOENT;
}

/* Shares the monitor's memory until its exec: it writes nothing but its own stack. */
__attribute__((noreturn)) static void child_main(void *arg)
{
	const struct child_plan *p = arg;
	const struct setup *s = p->s;
	uint64_t none = 0;
	char *env[ENV_MAX + 2];
	size_t n = 0;
	long r;

	/* Between fork and exec the child must not outlive the monitor; the executor resets this when
	 * it changes credentials, and a container outliving its monitor is the executor's business. */
	if ((r = rt_prctl(PR_SET_PDEATHSIG, SIG_KILL)) < 0)
		child_fail(p->status_w, ST_PDEATHSIG, r);
	if (sys_getppid() != p->monitor)
		child_fail(p->status_w, ST_ORPHANED, -ESRCH);
	if ((r = rt_setsid()) < 0)
		child_fail(p->status_w, ST_SETSID, r);
	if (p->o->tty) {
		if ((r = sys_ioctl(s->out_w, TIOCSCTTY, 0)) < 0)
			child_fail(p->status_w, ST_CTTY, r);
		if ((r = rt_dup3(s->out_w, 0)) < 0 || (r = rt_dup3(s->out_w, 1)) < 0 || (r = rt_dup3(s->out_w, 2)) < 0)
			child_fail(p->status_w, ST_STDIO, r);
	} else if ((r = rt_dup3(s->in_r, 0)) < 0 || (r = rt_dup3(s->out_w, 1)) < 0 || (r = rt_dup3(s->err_w, 2)) < 0) {
		child_fail(p->status_w, ST_STDIO, r);
	}
	/* dup3 onto fd 3 drops close-on-exec there; the status pipe was placed above it. */
	if (p->sync_w >= 0 && (r = rt_dup3(p->sync_w, SYNC_FD)) < 0)
		child_fail(p->status_w, ST_SYNC_FD, r);
	if ((r = rt_sigprocmask(RT_SIG_SETMASK, &none, NULL)) < 0)
		child_fail(p->status_w, ST_SIGMASK, r);
	sys_umask(s->old_umask);
	if (s->oom_score_changed) {
		int ignored;

		if ((r = oom_score_set(s->old_oom_score_adj, &ignored)) < 0)
			child_fail(p->status_w, ST_OOM_SCORE, r);
	}
	for (char **e = p->envp; *e; e++) {
		if (n == ENV_MAX)
			child_fail(p->status_w, ST_ENV, -E2BIG);
		env[n++] = *e;
	}
	if (p->sync_w >= 0)
		env[n++] = "SKIFF_SYNC_FD=3";
	env[n] = NULL;
	if (s->exec_fd >= 0)
		child_fail(p->status_w, ST_EXEC, sys_execveat_fd(s->exec_fd, p->o->argv, env));
	child_fail(p->status_w, ST_EXEC, exec_search(p->o->argv, env));
}

/* A close-on-exec pipe whose ends are both above fd 3. */
static int high_pipe(int fds[2])
{
	long r = rt_pipe2(fds, O_CLOEXEC);

	if (r < 0)
		return fail((int)-r, "pipe");
	for (int i = 0; i < 2; i++) {
		if (fds[i] > SYNC_FD)
			continue;
		r = sys_fcntl(fds[i], F_DUPFD_CLOEXEC, SYNC_FD + 1);
		if (r < 0)
			return fail((int)-r, "moving a pipe above fd 3");
		rt_close(fds[i]);
		fds[i] = (int)r;
	}
	return 0;
}

static void close_if(int fd)
{
	if (fd >= 0)
		rt_close(fd);
}

static int exec_result(const struct options *o, int status_r)
{
	struct exec_failure f;
	char msg[PATH_MAX + 128];
	long n = rt_read(status_r, &f, sizeof(f));

	if (n == 0)
		return 0;
	if (n < 0)
		return fail((int)-n, "reading the executor's exec status");
	if (n != sizeof(f) || f.stage < 0 || f.stage > ST_EXEC)
		return fail(0, "the executor's child sent a malformed exec status");
	if (f.stage == ST_EXEC)
		rt_format(msg, sizeof(msg), "exec %s", o->argv[0]);
	else
		rt_format(msg, sizeof(msg), "%s", stage_text[f.stage]);
	return fail(f.err, msg);
}

/* "pid <N>" lines; the last one counts. Returns the pid, 0 for none, -1 for garbage. */
static int parse_sync(const char *buf, size_t len)
{
	int pid = 0;
	size_t i = 0;

	while (i < len) {
		uint64_t v;
		size_t end = i;

		while (end < len && buf[end] != '\n')
			end++;
		if (end == len || end - i < 5 || !rt_starts_with(buf + i, "pid ") || !rt_parse_u64(buf + i + 4, &v) ||
		    v == 0 || v > 4194304)
			return -1;
		for (size_t d = i + 4; d < end; d++)
			if (buf[d] < '0' || buf[d] > '9')
				return -1;
		pid = (int)v;
		i = end + 1;
	}
	return pid;
}

/* "[skiff-<name>:e] <message>" lines of the executor's early stderr, as one message
 * "skiff-<name>: <m1>; <m2>". Returns false when there are none. */
static bool executor_errors(const char *buf, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	bool any = false;

	for (size_t i = 0; i < len;) {
		size_t end = i, name_end = i + 7;

		while (end < len && buf[end] != '\n')
			end++;
		if (end - i > 7 && rt_starts_with(buf + i, "[skiff-")) {
			while (name_end + 3 < end && buf[name_end] != ':' && buf[name_end] != ' ')
				name_end++;
			if (name_end + 3 < end && buf[name_end] == ':' && buf[name_end + 1] == 'e' && buf[name_end + 2] == ']' &&
			    buf[name_end + 3] == ' ') {
				const char *msg = buf + name_end + 4;
				size_t msg_len = (size_t)(buf + end - msg);

				if (!any)
					o += rt_format(out + o, cap - o, "%.*s: ", (int)(name_end - i - 1), buf + i + 1);
				else
					o += rt_format(out + o, cap - o, "; ");
				if (o < cap)
					o += rt_format(out + o, cap - o, "%.*s", (int)msg_len, msg);
				if (o >= cap)
					o = cap - 1;
				any = true;
			}
		}
		i = end + 1;
	}
	return any;
}

/* Reads the executor's stderr into st->early_err without blocking. Returns bytes read, 0 at EOF
 * (or a full buffer), -EAGAIN when nothing is there now. */
static long capture_early_err(int fd, struct started *st)
{
	size_t room = sizeof(st->early_err) - st->early_err_len;
	long n;

	if (room == 0)
		return 0;
	n = rt_read(fd, st->early_err + st->early_err_len, room);
	if (n > 0)
		st->early_err_len += (size_t)n;
	return n == -EAGAIN ? -EAGAIN : n < 0 ? 0 : n;
}

/* Waits for EOF on the sync pipe, keeping the executor's stderr and watching stdout: when the
 * daemon has closed its end (it gave up) nobody would learn the pid, so the start fails. */
static int wait_exec_sync(int sync_r, const struct setup *s, struct started *st)
{
	/* With a pty the executor's stderr is the pty too. */
	int err_fd = s->err_r >= 0 ? s->err_r : s->out_r;
	char buf[256];
	size_t len = 0;
	bool err_open = true;
	int pid;

	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = sync_r, .events = POLLIN },
			{ .fd = 1, .events = 0 },
			{ .fd = err_open ? err_fd : -1, .events = POLLIN },
		};
		long r = sys_ppoll(fds, 3);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return fail((int)-r, "waiting for the container's exec");
		if (fds[1].revents)
			return fail(0, "the caller went away before the container started");
		if (fds[2].revents && capture_early_err(err_fd, st) == 0)
			err_open = false;
		if (!fds[0].revents)
			continue;
		if (len == sizeof(buf))
			return fail(0, "the executor wrote too much to the sync fd");
		r = rt_read(sync_r, buf + len, sizeof(buf) - len);
		if (r < 0)
			return fail((int)-r, "reading the sync fd");
		if (r == 0)
			break;
		len += (size_t)r;
	}
	/* Everything the executor wrote before closing fd 3 is in the pipe now. */
	while (err_open && capture_early_err(err_fd, st) > 0)
		;
	pid = parse_sync(buf, len);
	if (pid < 0)
		return fail(0, "the executor wrote something other than \"pid <N>\" lines to the sync fd");
	if (pid > 0)
		st->pid = pid;
	return 0;
}

/* The start failed: make sure nothing of it keeps running. With `keep_status` the executor's exit
 * status goes into the answer (it reported its own failure; 2 means its config was bad). */
static void stop_executor(struct started *st, bool keep_status)
{
	int status = 0;

	rt_kill(st->child, SIG_KILL);
	if (st->pid != st->child)
		rt_kill(st->pid, SIG_KILL);
	if (rt_wait4(st->child, &status, 0) == st->child && keep_status)
		st->executor_status = STATUS_EXITED(status) ? STATUS_CODE(status) : 128 + STATUS_SIGNAL(status);
}

int spawn_container(const struct options *o, const struct setup *s, char **envp, struct started *st)
{
	int status[2], sync[2] = { -1, -1 };
	struct child_plan plan = { o, s, envp, (int)rt_getpid(), -1, -1 };
	long pid;
	int r;

	st->child = st->pid = st->executor_status = -1;
	st->early_err_len = 0;
	if (high_pipe(status) < 0 || (o->exec_sync && high_pipe(sync) < 0))
		return -1;
	plan.status_w = status[1];
	plan.sync_w = sync[1];
	pid = clone_vfork(child_main, &plan, child_stack + sizeof(child_stack));
	if (pid < 0)
		return fail((int)-pid, "clone");
	st->child = st->pid = (int)pid;
	/* The container's ends live in the child now; the monitor keeps /dev/null for itself. */
	close_if(s->out_w);
	close_if(s->err_w);
	if (s->in_r != s->null_fd)
		close_if(s->in_r);
	close_if(status[1]);
	close_if(sync[1]);
	/* The executor runs from it now, or never will: its image stays alive while mapped. */
	close_if(s->exec_fd);
	r = exec_result(o, status[0]);
	rt_close(status[0]);
	if (r == 0 && o->exec_sync)
		r = wait_exec_sync(sync[0], s, st);
	close_if(sync[0]);
	if (r == 0 && o->exec_sync) {
		char msg[IO_BUF_SIZE];

		if (executor_errors(st->early_err, st->early_err_len, msg, sizeof(msg))) {
			fail(0, msg);
			stop_executor(st, true);
			return -1;
		}
	}
	if (r < 0)
		stop_executor(st, false);
	return r;
}
