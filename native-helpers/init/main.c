/* skiff-init: the built-in executor. `run` becomes a container from an OCI bundle, `exec` runs a
 * command inside a running one. The protocol is in README.md ("skiff-init"); this helper calls no
 * glibc function (see ../common/rt.h). */
#include "init.h"

#define USAGE "usage: skiff-init run --bundle DIR ... | skiff-init exec --pid PID ... -- ARGV..."

int main(int argc, char **argv, char **envp)
{
	struct rt_args args;
	/* First of all: from here to the container's execve nothing in the container may open this
	 * process's /proc/<pid>/exe, mem or environ (../common/conceal.c). */
	long r = rt_conceal("skiff-init");

	if (r < 0)
		return report_err((int)-r, "prctl PR_SET_DUMPABLE / PR_SET_NAME"), EXIT_FAILURE_GENERIC;
	if ((r = ensure_stdio()) < 0)
		return report_err((int)-r, "open /dev/null for a closed stdin, stdout or stderr"), EXIT_FAILURE_GENERIC;
	/* The child that enters the container's pid namespace shares this memory (clone.c), so its
	 * cmdline is this one: no bundle, cgroup or helper path there, only the title. */
	if ((r = rt_args_find(argc, argv, &args)) < 0 || (r = rt_args_move(argc, argv, &args)) < 0)
		return report_err((int)-r, "move the arguments away from the command line"), EXIT_FAILURE_GENERIC;
	rt_args_retitle(&args, "skiff-init");
	shim_sync_init(envp);
	if (shim_close_inherited() < 0)
		return EXIT_FAILURE_GENERIC;
	if (argc >= 2 && rt_streq(argv[1], "run"))
		return run_main(argc - 1, argv + 1);
	if (argc >= 2 && rt_streq(argv[1], "exec"))
		return exec_main(argc - 1, argv + 1);
	report(argc >= 2 ? "unknown mode %s; " USAGE : "%s" USAGE, argc >= 2 ? argv[1] : "");
	return EXIT_USAGE;
}
