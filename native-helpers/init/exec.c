/* `skiff-init exec`: runs a command inside a running container: its namespaces (from
 * /proc/PID/ns, once PID is checked to be the container's process: target.c), its cgroups, the
 * given user, groups, environment and working directory, and, with --bundle, the container's own
 * confinement (AppArmor, capabilities, rlimits, no_new_privs, seccomp), so an exec is held exactly
 * as tightly as the container's main process. The pid namespace applies to children only: this
 * process forks the exec's reaper inside it, which starts the command and can end it together
 * with everything it started (reaper.c); this process waits and ends the same way (shim.c). */
#include "init.h"

#define PR_SET_PDEATHSIG_OP 1

#define EXEC_USAGE                                                                                     \
	"usage: skiff-init exec --pid PID --start-time TICKS [--bundle DIR] [--cgroup-procs FILE]... --cwd DIR " \
	"--uid N --gid N [--groups a,b] [--env K=V]... -- ARGV..."

struct exec_options {
	int pid;
	bool has_start_time;
	uint64_t start_time;
	const char *bundle;
	const char *cwd;
	bool has_uid, has_gid;
	uint32_t uid, gid;
	size_t ngroups;
	uint32_t groups[GROUPS_MAX];
	int ncgroups;
	const char *cgroups[CGROUP_FILES_MAX];
	size_t nenv;
	char *env[ENV_MAX + 1];
	char **args;
};

static int parse_groups(char *list, struct exec_options *o)
{
	char *names[GROUPS_MAX];
	int n = split_list(list, ',', names, GROUPS_MAX);

	if (n < 0)
		return report("--groups: more than %d groups", GROUPS_MAX);
	for (int i = 0; i < n; i++)
		if (!parse_id(names[i], &o->groups[i]))
			return report("--groups: bad group id %s", names[i]);
	o->ngroups = (size_t)n;
	return 0;
}

static int parse_args(int argc, char **argv, struct exec_options *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *v;
		uint32_t id;

		if (rt_streq(a, "--"))
			break;
		if (i + 1 >= argc)
			return report("%s needs a value; " EXEC_USAGE, a);
		v = argv[++i];
		if (rt_streq(a, "--pid")) {
			if (!parse_id(v, &id) || id == 0 || id > 0x7fffffff)
				return report("--pid: bad pid %s", v);
			o->pid = (int)id;
		} else if (rt_streq(a, "--start-time")) {
			const char *e = v;

			while (*e >= '0' && *e <= '9')
				e++;
			if (*e || !rt_parse_u64(v, &o->start_time))
				return report("--start-time: bad start time %s", v);
			o->has_start_time = true;
		} else if (rt_streq(a, "--bundle")) {
			if (v[0] != '/')
				return report("--bundle needs an absolute path: %s", v);
			o->bundle = v;
		} else if (rt_streq(a, "--cwd")) {
			if (v[0] != '/')
				return report("--cwd needs an absolute path: %s", v);
			o->cwd = v;
		} else if (rt_streq(a, "--uid")) {
			if (!parse_id(v, &o->uid))
				return report("--uid: bad id %s", v);
			o->has_uid = true;
		} else if (rt_streq(a, "--gid")) {
			if (!parse_id(v, &o->gid))
				return report("--gid: bad id %s", v);
			o->has_gid = true;
		} else if (rt_streq(a, "--groups")) {
			if (parse_groups(v, o) < 0)
				return -1;
		} else if (rt_streq(a, "--env")) {
			if (!rt_find_any(v, "=") || v[0] == '=')
				return report("--env needs KEY=VALUE: %s", v);
			if (o->nenv >= ENV_MAX)
				return report("more than %d --env options", ENV_MAX);
			o->env[o->nenv++] = v;
		} else if (rt_streq(a, "--cgroup-procs")) {
			if (v[0] != '/')
				return report("--cgroup-procs needs an absolute path: %s", v);
			if (o->ncgroups >= CGROUP_FILES_MAX)
				return report("more than %d --cgroup-procs options", CGROUP_FILES_MAX);
			o->cgroups[o->ncgroups++] = v;
		} else {
			return report("unknown option %s; " EXEC_USAGE, a);
		}
	}
	o->env[o->nenv] = NULL;
	if (!o->pid || !o->has_start_time || !o->cwd || !o->has_uid || !o->has_gid)
		return report("--pid, --start-time, --cwd, --uid and --gid are required; " EXEC_USAGE);
	if (i + 1 >= argc || !argv[i + 1][0])
		return report("no command after --; " EXEC_USAGE);
	o->args = argv + i + 1;
	return 0;
}

/* The container's spec, when --bundle names it; read before the namespaces change. */
static struct spec bundle_spec;

/* The command's side (shim_spawn's child). Returns only on failure, with the exit status. */
static int become_command(void *arg)
{
	struct exec_options *o = arg;
	unsigned char termios[64];

	rt_umask(022);
	if (enter_cwd(o->cwd) < 0)
		return EXIT_FAILURE_GENERIC;
	/* A terminal on stdin becomes the command's controlling terminal in a session of its own;
	 * without one it stays in the reaper's process group. */
	if (rt_ioctl(0, RT_TCGETS, (unsigned long)termios) == 0) {
		long r = rt_setsid();

		if (r < 0)
			return report_err((int)-r, "setsid"), EXIT_FAILURE_GENERIC;
		if (controlling_tty(false) < 0)
			return EXIT_FAILURE_GENERIC;
	}
	if (!o->bundle) {
		if (set_user(o->uid, o->gid, o->groups, o->ngroups) < 0 || shim_child_recheck() < 0)
			return EXIT_FAILURE_GENERIC;
		return exec_command(o->args, o->env);
	}
	/* The container's confinement, in the order run.c applies it. */
	if (apparmor_exec_profile(bundle_spec.apparmor_profile) < 0 || process_limits(&bundle_spec) < 0)
		return EXIT_FAILURE_GENERIC;
	if (!bundle_spec.no_new_privileges && seccomp_install() < 0)
		return EXIT_FAILURE_GENERIC;
	if (caps_before_user(&bundle_spec.caps) < 0 || set_user(o->uid, o->gid, o->groups, o->ngroups) < 0 ||
	    caps_after_user(&bundle_spec.caps) < 0 || shim_child_recheck() < 0)
		return EXIT_FAILURE_GENERIC;
	if (bundle_spec.no_new_privileges && seccomp_install() < 0)
		return EXIT_FAILURE_GENERIC;
	return exec_command(o->args, o->env);
}

int exec_main(int argc, char **argv)
{
	static struct exec_options o;
	int fds[NS_KINDS];
	int pidfd, reaper;
	long r;

	if (parse_args(argc, argv, &o) < 0)
		return EXIT_USAGE;
	/* Whoever started us (the daemon, a streamed exec's monitor) dying ends the exec as its
	 * SIGTERM does: nobody would collect the command's output or time it out any more. */
	if ((r = rt_prctl5(PR_SET_PDEATHSIG_OP, RT_SIGTERM, 0, 0, 0)) < 0)
		return report_err((int)-r, "set the parent-death signal"), EXIT_FAILURE_GENERIC;
	if (o.bundle && (spec_load(o.bundle, &bundle_spec) < 0 || seccomp_read(o.bundle) < 0))
		return EXIT_FAILURE_GENERIC;
	if ((pidfd = target_open(o.pid, o.start_time)) < 0)
		return EXIT_FAILURE_GENERIC;
	if (ns_open_process(o.pid, fds) < 0) {
		rt_close(pidfd);
		return EXIT_FAILURE_GENERIC;
	}
	/* Still running: the files just opened are its namespaces, not those of a pid's next owner. */
	if (target_check_alive(pidfd, o.pid) < 0 || cgroup_join(o.cgroups, o.ncgroups) < 0) {
		rt_close(pidfd);
		for (int k = 0; k < NS_KINDS; k++)
			if (fds[k] >= 0)
				rt_close(fds[k]);
		return EXIT_FAILURE_GENERIC;
	}
	rt_close(pidfd);
	if (ns_join(fds) < 0)
		return EXIT_FAILURE_GENERIC;
	if ((reaper = exec_reaper_fork()) < 0)
		return EXIT_FAILURE_GENERIC;
	if (reaper == 0)
		return exec_reaper_run(become_command, &o);
	shim_on_term(exec_reaper_end);
	return shim_wait(reaper);
}
