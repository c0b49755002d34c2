/* The process itself, after the filesystem is ready: oom_score_adj and rlimits, the working
 * directory, the controlling terminal, the user and groups, and finally execve with a PATH lookup
 * in the container's own environment. */
#include "init.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PR_SET_NO_NEW_PRIVS_OP 38

int process_limits(const struct spec *s)
{
	for (int i = 0; i < s->nrlimits; i++) {
		long r = rt_prlimit(s->rlimits[i].resource, &s->rlimits[i].lim);

		if (r < 0)
			return report_err((int)-r, "set rlimit %d", s->rlimits[i].resource);
	}
	if (s->has_oom_score_adj) {
		char value[16];
		long fd, r;

		rt_format(value, sizeof(value), "%d", s->oom_score_adj);
		/* Through the checked procfs (procfs.c), never a file the pod put at /proc. */
		if ((fd = procfs_open_self("oom_score_adj", O_WRONLY, false, "set oom_score_adj")) < 0)
			return -1;
		r = rt_write((int)fd, value, rt_strlen(value));
		rt_close((int)fd);
		/* Lowering it needs CAP_SYS_RESOURCE, which some hosts withhold even from root: the
		 * container runs with the inherited value then, as skiff-monitor does. */
		if (r == -EACCES || r == -EPERM) {
			static const char warn[] = "[skiff-" HELPER_NAME ":w] oom_score_adj not lowered: permission denied\n";

			rt_write(2, warn, sizeof(warn) - 1);
		} else if (r < 0) {
			return report_err((int)-r, "write oom_score_adj %s", value);
		}
	}
	if (s->no_new_privileges) {
		long r = rt_prctl5(PR_SET_NO_NEW_PRIVS_OP, 1, 0, 0, 0);

		if (r < 0)
			return report_err((int)-r, "set no_new_privs");
	}
	return 0;
}

/* The working directory is resolved inside the container's root, by fd, never through a /proc
 * magic link: a path the container shapes (its own symlink in place of the directory, made by a
 * process of the pod, or /proc/<pid>/cwd and fd/N) must not take this still privileged process,
 * and so the command, to a directory outside the container (runc's CVE-2024-21626). */
int enter_cwd(const char *cwd)
{
	char where[PATH_MAX];
	long root = rt_open("/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0), fd, r;

	if (root < 0)
		return report_err((int)-root, "open / for the working directory");
	fd = rt_openat2((int)root, cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	rt_close((int)root);
	if (fd == -ELOOP)
		return refuse("working directory %s: refused: a /proc magic link or a symlink loop is on its path", cwd);
	if (fd < 0)
		return report_err((int)-fd, "working directory %s", cwd);
	r = rt_fchdir((int)fd);
	rt_close((int)fd);
	if (r < 0)
		return report_err((int)-r, "chdir to %s", cwd);
	/* What runc checks too: the kernel names a directory outside our root "(unreachable)/...". */
	if ((r = RT_SYS(__NR_getcwd, where, sizeof(where), 0, 0, 0)) < 0)
		return report_err((int)-r, "working directory %s: getcwd", cwd);
	if (where[0] != '/')
		return refuse("working directory %s: refused: it is outside the container's root", cwd);
	return 0;
}

int controlling_tty(bool required)
{
	unsigned char termios[64];
	long r;

	if (rt_ioctl(0, RT_TCGETS, (unsigned long)termios) < 0) {
		if (required)
			return report("process.terminal is set but stdin is not a terminal");
		return 0;
	}
	/* Our own session (setsid already done): take the terminal, even from a session that
	 * still has it (the monitor's, before it gave it away). */
	if ((r = rt_ioctl(0, RT_TIOCSCTTY, 0)) == -EPERM)
		r = rt_ioctl(0, RT_TIOCSCTTY, 1);
	if (r < 0 && required)
		return report_err((int)-r, "make stdin the controlling terminal");
	return 0;
}

int set_user(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t ngroups)
{
	long r;

	if ((r = rt_setgroups(ngroups, groups)) < 0)
		return report_err((int)-r, "setgroups");
	if ((r = rt_setresgid(gid)) < 0)
		return report_err((int)-r, "setgid %u", gid);
	if ((r = rt_setresuid(uid)) < 0)
		return report_err((int)-r, "setuid %u", uid);
	/* A change of uid or gid resets the dumpable flag to fs.suid_dumpable, which may be 1: a
	 * process of that uid in the container could then open our exe, memory and fds. */
	if ((r = rt_prctl(PR_SET_DUMPABLE, 0)) < 0)
		return report_err((int)-r, "prctl PR_SET_DUMPABLE");
	return 0;
}

/* Default dispositions for every signal, an empty mask, and no fd but 0-2 across execve. */
static int prepare_exec(void)
{
	struct {
		uintptr_t handler;
		unsigned long flags;
		uintptr_t restorer;
		uint64_t mask;
	} dfl = { 0, 0, 0, 0 };
	uint64_t none = 0;
	long r;

	for (int sig = 1; sig <= SIG_COUNT; sig++)
		if (sig != RT_SIGKILL && sig != SIG_STOP)
			RT_SYS(__NR_rt_sigaction, sig, &dfl, 0, sizeof(uint64_t), 0); /* EINVAL for 32/33: fine */
	if ((r = rt_sigprocmask(RT_SIG_SETMASK, &none, NULL)) < 0)
		return report_err((int)-r, "unblock signals");
	if ((r = RT_SYS(__NR_close_range, 3, ~0U, RT_CLOSE_RANGE_CLOEXEC, 0, 0)) < 0)
		return report_err((int)-r, "mark fds close-on-exec");
	/* Whatever credential or capability change came since set_user, nothing of ours is dumpable
	 * up to the execve (which decides for the command). */
	if ((r = rt_prctl(PR_SET_DUMPABLE, 0)) < 0)
		return report_err((int)-r, "prctl PR_SET_DUMPABLE");
	return 0;
}

static const char *env_path(char *const *env)
{
	for (; *env; env++)
		if (rt_starts_with(*env, "PATH="))
			return *env + 5;
	return DEFAULT_PATH;
}

static const char *exec_strerror(int err)
{
	switch (err) {
	case ENOEXEC: return "Exec format error";
	case ETXTBSY: return "Text file busy";
	case ENXIO: return "No such device or address";
	default: return rt_strerror(err);
	}
}

int exec_command(char *const *args, char *const *env)
{
	const char *cmd = args[0], *dirs;
	char path[PATH_MAX];
	bool denied = false;
	long r;

	if (prepare_exec() < 0)
		return EXIT_FAILURE_GENERIC;
	if (rt_find_any(cmd, "/")) {
		r = rt_execve(cmd, args, env);
		report("exec %s: %s", cmd, exec_strerror((int)-r));
		return r == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
	}
	dirs = env_path(env);
	for (const char *d = dirs;;) {
		const char *e = d;
		size_t n;

		while (*e && *e != ':')
			e++;
		n = (size_t)(e - d);
		/* An empty entry is the current directory, as in POSIX shells. */
		if (n + 1 + rt_strlen(cmd) < sizeof(path)) {
			if (n)
				rt_format(path, sizeof(path), "%.*s/%s", (int)n, d, cmd);
			else
				rt_format(path, sizeof(path), "%s", cmd);
			r = rt_execve(path, args, env);
			if (r == -EACCES)
				denied = true;
			else if (r != -ENOENT && r != -ENOTDIR && r != -ELOOP && r != -ENAMETOOLONG) {
				report("exec %s: %s", path, exec_strerror((int)-r));
				return EXIT_CANNOT_EXECUTE;
			}
		}
		if (!*e)
			break;
		d = e + 1;
	}
	if (denied) {
		report("exec %s: found in $PATH but not executable: Permission denied", cmd);
		return EXIT_CANNOT_EXECUTE;
	}
	report("exec %s: executable file not found in $PATH (%s)", cmd, dirs);
	return EXIT_NOT_FOUND;
}
