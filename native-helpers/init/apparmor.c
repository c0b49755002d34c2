/* The container's AppArmor profile (process.apparmorProfile), as runc applies it: "exec <name>"
 * written to the task's exec attribute, so the kernel switches to the profile at the next execve
 * (the container's command) and not before. The daemon puts a name in the spec only when the node
 * runs AppArmor and has the profile loaded; any failure here is then a real error. The file is
 * on the container's procfs, so this runs after pivot_root, where /proc is the container's own
 * (checked: procfs.c). */
#include "init.h"

#define ATTR_APPARMOR "attr/apparmor/exec" /* under /proc/self; Linux >= 5.8, with several LSMs stacked */
#define ATTR_LEGACY "attr/exec"
#define PROFILE_MAX 4096

int apparmor_exec_profile(const char *profile)
{
	static char buf[sizeof("exec ") + PROFILE_MAX], what[sizeof("set AppArmor profile ") + PROFILE_MAX];
	size_t n;
	long fd, w;

	if (!profile || !*profile)
		return 0;
	n = rt_strlen(profile);
	if (n > PROFILE_MAX)
		return report("AppArmor profile name of %zu bytes is too long", n);
	memcpy(buf, "exec ", 5);
	memcpy(buf + 5, profile, n);
	/* Through the checked procfs (procfs.c): a write that landed elsewhere would leave the
	 * command unconfined without an error. */
	rt_format(what, sizeof(what), "set AppArmor profile %s", profile);
	fd = procfs_open_self(ATTR_APPARMOR, O_WRONLY, true, what);
	if (fd == -ENOENT)
		fd = procfs_open_self(ATTR_LEGACY, O_WRONLY, false, what);
	if (fd < 0)
		return -1;
	/* One write: the kernel reads the whole command from it. */
	do
		w = rt_write((int)fd, buf, n + 5);
	while (w == -EINTR);
	rt_close((int)fd);
	if (w < 0)
		return report_err((int)-w, "set AppArmor profile %s for exec", profile);
	return 0;
}
