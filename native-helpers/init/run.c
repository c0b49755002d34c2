/* `skiff-init run`: becomes the container described by a bundle. See README.md for the order of
 * the steps; when the container has a pid namespace (new or joined) the steps after the
 * namespaces run in a child, and this process stays as its waiting parent (shim.c). */
#include "init.h"

#define RUN_USAGE "usage: skiff-init run --bundle DIR [--cgroup-procs FILE]..."

struct run_options {
	const char *bundle;
	int ncgroups;
	const char *cgroups[CGROUP_FILES_MAX];
};

static int parse_args(int argc, char **argv, struct run_options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!rt_streq(a, "--bundle") && !rt_streq(a, "--cgroup-procs"))
			return report("unknown option %s; " RUN_USAGE, a);
		if (i + 1 >= argc || !argv[i + 1][0])
			return report("%s needs a value; " RUN_USAGE, a);
		if (rt_streq(a, "--bundle")) {
			if (o->bundle)
				return report("--bundle is given twice");
			o->bundle = argv[++i];
		} else {
			if (o->ncgroups >= CGROUP_FILES_MAX)
				return report("more than %d --cgroup-procs options", CGROUP_FILES_MAX);
			if (argv[i + 1][0] != '/')
				return report("--cgroup-procs needs an absolute path: %s", argv[i + 1]);
			o->cgroups[o->ncgroups++] = argv[++i];
		}
	}
	if (!o->bundle)
		return report("--bundle is required; " RUN_USAGE);
	return 0;
}

static bool has_cgroup_mount(const struct spec *s)
{
	for (int i = 0; i < s->nmounts; i++)
		if (s->mounts[i].type && rt_streq(s->mounts[i].type, "cgroup"))
			return true;
	return false;
}

struct container {
	const struct spec *spec;
	const char *bundle;
	const struct cgroup_views *cg;
};

/* Everything after the namespaces, in the process that becomes the container. Returns only on
 * failure, with the exit status. */
static int become_container(void *arg)
{
	const struct container *c = arg;
	const struct spec *s = c->spec;
	bool dev_tmpfs;
	int rootfd;
	long r;

	rt_umask(0);
	/* A session of its own; EPERM when this process already leads its process group. */
	if ((r = rt_setsid()) < 0 && r != -EPERM)
		return report_err((int)-r, "setsid"), EXIT_FAILURE_GENERIC;
	if (rootfs_prepare(s, c->bundle, &rootfd) < 0)
		return EXIT_FAILURE_GENERIC;
	if (mounts_apply(s, rootfd, c->cg, &dev_tmpfs) < 0 || devices_create(s, rootfd, dev_tmpfs) < 0) {
		rt_close(rootfd);
		return EXIT_FAILURE_GENERIC;
	}
	/* A missing working directory is made, as runc does: here, before the root may turn
	 * read-only, and inside the rootfs whatever symlinks its path holds. */
	if ((r = path_open(rootfd, s->cwd, PATH_DIR)) < 0) {
		rt_close(rootfd);
		return report_err((int)-r, "create cwd %s", s->cwd), EXIT_FAILURE_GENERIC;
	}
	rt_close((int)r);
	r = rootfs_pivot(rootfd);
	rt_close(rootfd);
	if (r < 0)
		return EXIT_FAILURE_GENERIC;
	if (rootfs_finish(s) < 0)
		return EXIT_FAILURE_GENERIC;
	if (s->hostname && s->ns[NS_UTS].wanted && !s->ns[NS_UTS].path &&
	    (r = rt_sethostname(s->hostname, rt_strlen(s->hostname))) < 0)
		return report_err((int)-r, "sethostname %s", s->hostname), EXIT_FAILURE_GENERIC;
	/* Where runc applies it: after the root is in place, while /proc/self/attr is writable. */
	if (apparmor_exec_profile(s->apparmor_profile) < 0)
		return EXIT_FAILURE_GENERIC;
	if (process_limits(s) < 0 || enter_cwd(s->cwd) < 0)
		return EXIT_FAILURE_GENERIC;
	if (s->terminal && controlling_tty(true) < 0)
		return EXIT_FAILURE_GENERIC;
	/* Without no_new_privs a filter can only go in while CAP_SYS_ADMIN is still held. */
	if (!s->no_new_privileges && seccomp_install() < 0)
		return EXIT_FAILURE_GENERIC;
	if (caps_before_user(&s->caps) < 0 || set_user(s->user.uid, s->user.gid, s->user.groups, s->user.ngroups) < 0 ||
	    caps_after_user(&s->caps) < 0)
		return EXIT_FAILURE_GENERIC;
	rt_umask(s->user.has_umask ? s->user.umask : 022);
	if (shim_child_recheck() < 0)
		return EXIT_FAILURE_GENERIC;
	if (s->no_new_privileges && seccomp_install() < 0)
		return EXIT_FAILURE_GENERIC;
	return exec_command(s->args, s->env);
}

int run_main(int argc, char **argv)
{
	static struct spec spec;
	static struct cgroup_views cg;
	static struct run_options o;
	struct container container = { &spec, NULL, &cg };
	int fds[NS_KINDS];
	int child;

	if (parse_args(argc, argv, &o) < 0)
		return EXIT_USAGE;
	container.bundle = o.bundle;
	if (spec_load(o.bundle, &spec) < 0 || seccomp_read(o.bundle) < 0 || ns_open_spec(&spec, fds) < 0)
		return EXIT_FAILURE_GENERIC;
	/* Cgroups first (their files are host paths), and their view before a cgroup namespace. */
	if (cgroup_join(o.cgroups, o.ncgroups) < 0 || (has_cgroup_mount(&spec) && cgroup_views_read(&cg) < 0)) {
		for (int k = 0; k < NS_KINDS; k++)
			if (fds[k] >= 0)
				rt_close(fds[k]);
		return EXIT_FAILURE_GENERIC;
	}
	if (ns_join(fds) < 0 || ns_create(&spec) < 0)
		return EXIT_FAILURE_GENERIC;
	if (spec.ns[NS_PID].wanted) {
		shim_hand_over(true);
		if ((child = shim_spawn(become_container, &container)) < 0)
			return EXIT_FAILURE_GENERIC;
		return shim_wait(child);
	}
	return refusal_status(become_container(&container));
}
