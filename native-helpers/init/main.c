/* skiff-init: the built-in executor. `run` becomes a container from an OCI bundle, `exec` runs a
 * command inside a running one. The protocol is in README.md ("skiff-init"); this helper calls no
 * glibc function (see ../common/rt.h). */
#include "init.h"

#define USAGE "usage: skiff-init run --bundle DIR ... | skiff-init exec --pid PID ... -- ARGV..."

int main(int argc, char **argv, char **envp)
{
	int r = ensure_stdio();

	if (r < 0)
		return report_err(-r, "open /dev/null for a closed stdin, stdout or stderr"), EXIT_FAILURE_GENERIC;
	args_remember(argc, argv);
	shim_sync_init(envp);
	if (argc >= 2 && rt_streq(argv[1], "run"))
		return run_main(argc - 1, argv + 1);
	if (argc >= 2 && rt_streq(argv[1], "exec"))
		return exec_main(argc - 1, argv + 1);
	report(argc >= 2 ? "unknown mode %s; " USAGE : "%s" USAGE, argc >= 2 ? argv[1] : "");
	return EXIT_USAGE;
}
