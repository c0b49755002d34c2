/* skiff-pinns: creates a pod's namespaces (net, ipc, uts, and optionally pid with a tiny init as
 * pid 1), configures them (hostname, sysctls) and pins each one by bind-mounting its ns file under
 * the pod's dir, then exits: the pod needs no pause process. The daemon cannot do this itself,
 * since unshare() in a multi-threaded Node process would move only one thread. See README.md for
 * the protocol, and rt.h for why this helper does without glibc. */
#include "pinns.h"

#define USAGE                                                                                    \
	"usage: skiff-pinns --dir DIR [--net] [--ipc] [--uts] [--hostname NAME] [--sysctl KEY=VALUE]... " \
	"[--pid-init [--init-mount-ns FD]] | skiff-pinns --empty-mount-ns FD"
#define HOSTNAME_MAX 64
/* An fd the caller hands over: above stdio, within what the daemon ever uses. */
#define FD_MIN 3
#define FD_MAX 1023

struct options {
	const char *dir;
	bool net, ipc, uts, pid_init;
	const char *hostname;
	int nsysctls;
	struct sysctl sysctls[SYSCTL_MAX];
	/* --init-mount-ns: the mount namespace the pod's init joins; -1 for one of its own. */
	int init_mntns;
	/* --empty-mount-ns: the socket to send a new empty mount namespace over; -1 otherwise. */
	int empty_mntns_to;
};

/* An fd number given as an option's value, or -1 after reporting. */
static int fd_arg(const char *opt, const char *v)
{
	uint64_t n;

	if (!rt_parse_u64(v, &n) || n < FD_MIN || n > FD_MAX)
		return report("%s %s: not an fd number from %d to %d", opt, v, FD_MIN, FD_MAX);
	if (RT_SYS(__NR_fcntl, n, 1 /* F_GETFD */, 0, 0, 0) < 0)
		return report("%s %s: not an open fd", opt, v);
	return (int)n;
}

static bool hostname_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_';
}

/* The value of an option that takes one, or NULL after reporting that it is missing. */
static const char *value_of(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		report("%s needs a value; " USAGE, argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int parse_args(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (rt_streq(a, "--net")) {
			o->net = true;
		} else if (rt_streq(a, "--ipc")) {
			o->ipc = true;
		} else if (rt_streq(a, "--uts")) {
			o->uts = true;
		} else if (rt_streq(a, "--pid-init")) {
			o->pid_init = true;
		} else if (rt_streq(a, "--dir")) {
			if (o->dir)
				return report("--dir is given twice");
			if (!(o->dir = value_of(argc, argv, &i)))
				return -1;
		} else if (rt_streq(a, "--hostname")) {
			if (o->hostname)
				return report("--hostname is given twice");
			if (!(o->hostname = value_of(argc, argv, &i)))
				return -1;
		} else if (rt_streq(a, "--sysctl")) {
			const char *kv = value_of(argc, argv, &i);

			if (!kv)
				return -1;
			if (o->nsysctls >= SYSCTL_MAX)
				return report("more than %d --sysctl options", SYSCTL_MAX);
			if (sysctl_parse(kv, &o->sysctls[o->nsysctls]) < 0)
				return -1;
			o->nsysctls++;
		} else if (rt_streq(a, "--init-mount-ns") || rt_streq(a, "--empty-mount-ns")) {
			const char *v = value_of(argc, argv, &i);
			int *fd = rt_streq(a, "--init-mount-ns") ? &o->init_mntns : &o->empty_mntns_to;

			if (!v)
				return -1;
			if (*fd >= 0)
				return report("%s is given twice", a);
			if ((*fd = fd_arg(a, v)) < 0)
				return -1;
		} else if (rt_streq(a, "--help") || rt_streq(a, "-h")) {
			return report(USAGE);
		} else {
			return report("unknown option %s; " USAGE, a);
		}
	}
	return 0;
}

static int validate(const struct options *o)
{
	if (o->empty_mntns_to >= 0) {
		if (o->dir || o->net || o->ipc || o->uts || o->pid_init || o->hostname || o->nsysctls || o->init_mntns >= 0)
			return report("--empty-mount-ns takes no other option");
		return 0;
	}
	if (o->init_mntns >= 0 && !o->pid_init)
		return report("--init-mount-ns needs --pid-init");
	if (o->init_mntns >= 0 && mntns_check(o->init_mntns) < 0)
		return -1;
	if (!o->dir)
		return report("--dir is required; " USAGE);
	if (o->dir[0] != '/')
		return report("--dir %s is not an absolute path", o->dir);
	/* Room for "/<ns>" after it. */
	if (rt_strlen(o->dir) >= PATH_MAX - 8)
		return report("--dir is longer than %d bytes", PATH_MAX - 9);
	if (!o->net && !o->ipc && !o->uts && !o->pid_init)
		return report("nothing to pin: give --net, --ipc, --uts or --pid-init");
	if (o->hostname) {
		size_t len = rt_strlen(o->hostname);

		if (!o->uts)
			return report("--hostname needs --uts: it would rename the host");
		if (len == 0 || len > HOSTNAME_MAX)
			return report("--hostname must be 1 to %d characters long", HOSTNAME_MAX);
		for (size_t k = 0; k < len; k++)
			if (!hostname_char(o->hostname[k]))
				return report("--hostname %s: only letters, digits, '-', '.' and '_' are allowed",
					      o->hostname);
	}
	for (int k = 0; k < o->nsysctls; k++) {
		const struct sysctl *s = &o->sysctls[k];

		if (s->ns == SYSCTL_NET && !o->net)
			return report("--sysctl %s needs --net: it would change the host's network namespace", s->arg);
		if (s->ns == SYSCTL_IPC && !o->ipc)
			return report("--sysctl %s needs --ipc: it would change the host's IPC namespace", s->arg);
		for (int j = 0; j < k; j++)
			if (rt_streq(o->sysctls[j].path, s->path))
				return report("--sysctl %s: the key is given twice", s->arg);
	}
	return 0;
}

/* Namespaces exist from here on; only the pins made below need undoing, since an unpinned
 * namespace dies with this process. Returns an exit status: a sysctl the kernel does not have
 * (ENOENT) or a value it refuses (EINVAL, ERANGE) is the caller's bad input, so EXIT_USAGE. */
static int configure(const struct options *o)
{
	int flags = (o->net ? CLONE_NEWNET : 0) | (o->ipc ? CLONE_NEWIPC : 0) | (o->uts ? CLONE_NEWUTS : 0) |
		    (o->pid_init ? CLONE_NEWPID : 0);
	long r;

	if ((r = rt_unshare(flags)) < 0) {
		report_err((int)-r, "unshare");
		return EXIT_FAILURE_GENERIC;
	}
	if (o->hostname && (r = rt_sethostname(o->hostname, rt_strlen(o->hostname))) < 0) {
		report_err((int)-r, "sethostname %s", o->hostname);
		return EXIT_FAILURE_GENERIC;
	}
	for (int k = 0; k < o->nsysctls; k++) {
		int err = sysctl_write(&o->sysctls[k]);

		if (err < 0)
			return err == -ENOENT || err == -EINVAL || err == -ERANGE ? EXIT_USAGE : EXIT_FAILURE_GENERIC;
	}
	return EXIT_OK;
}

static int pin(const struct options *o, struct pin_undo *u, const struct rt_args *args)
{
	uint64_t start_time = 0;
	bool pinned;
	int pid, sync_fd;
	long r;

	if (pin_dir_create(u, o->dir) < 0)
		return -1;
	if (o->net && pin_ns(u, "/proc/self/ns/net", "net") < 0)
		return -1;
	if (o->ipc && pin_ns(u, "/proc/self/ns/ipc", "ipc") < 0)
		return -1;
	if (o->uts && pin_ns(u, "/proc/self/ns/uts", "uts") < 0)
		return -1;
	if (!o->pid_init) {
		if ((r = answer("{}\n")) < 0)
			return report_err((int)-r, "write stdout");
		return 0;
	}
	pid = pid_init_start(&sync_fd, args, o->init_mntns);
	if (pid < 0)
		return -1;
	u->init_pid = pid;
	/* The namespace and the start time exist from the fork on: pin while the init sets up. Our
	 * own pid_for_children is the init's namespace, and needs no ptrace access to the init,
	 * which is not dumpable (a process without CAP_SYS_PTRACE could not open its ns files). */
	pinned = pin_ns(u, "/proc/self/ns/pid_for_children", "pid") == 0 && proc_start_time(pid, &start_time) == 0;
	if (pid_init_ready(sync_fd) < 0 || !pinned)
		return -1;
	if ((r = answer("{\"pid\":%d,\"startTime\":%llu}\n", pid, (unsigned long long)start_time)) < 0)
		return report_err((int)-r, "write stdout");
	return 0;
}

int main(int argc, char **argv)
{
	static struct options opts;
	static struct pin_undo undo;
	struct rt_args args;
	long r;
	int status;

	/* Before anything: the pod's init is forked from this process and keeps what it is
	 * (../common/conceal.c). */
	if ((r = rt_conceal("skiff-pinns")) < 0 || (r = rt_args_find(argc, argv, &args)) < 0)
		return report_err((int)-r, "conceal the helper"), EXIT_FAILURE_GENERIC;
	opts.init_mntns = opts.empty_mntns_to = -1;
	if (parse_args(argc, argv, &opts) < 0 || validate(&opts) < 0)
		return EXIT_USAGE;
	if (opts.empty_mntns_to >= 0) {
		if (empty_mount_ns_send(opts.empty_mntns_to) < 0)
			return EXIT_FAILURE_GENERIC;
		if ((r = answer("{}\n")) < 0)
			return report_err((int)-r, "write stdout"), EXIT_FAILURE_GENERIC;
		return EXIT_OK;
	}
	status = configure(&opts);
	if (status != EXIT_OK)
		return status;
	if (pin(&opts, &undo, &args) < 0) {
		pin_undo_all(&undo);
		return EXIT_FAILURE_GENERIC;
	}
	return EXIT_OK;
}
