/* Policy refusals: skiff-init's rules (runc's) refusing what an image, a volume or the spec asks
 * for — a mount into /proc, proc or sysfs on a symlink, a /dev/null that is not the null device,
 * a /proc that is not a procfs — as opposed to something that broke. Both are reported the same
 * way; a refusal ends the process with EXIT_REFUSED, which the daemon maps to
 * FailedPrecondition where other failures are Internal. */
#include "init.h"

/* Shared with a CLONE_VM child: a refusal in the container's pid 1 reaches the waiting parent
 * through the exit status anyway (shim.c). */
static bool refused;

void refusal_note(void)
{
	refused = true;
}

int refusal_status(int rc)
{
	return rc == EXIT_FAILURE_GENERIC && refused ? EXIT_REFUSED : rc;
}
