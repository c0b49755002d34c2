/* The container's AppArmor profile (process.apparmorProfile), as runc applies it: "exec <name>"
 * written to the task's exec attribute, so the kernel switches to the profile at the next execve
 * (the container's command) and not before. The daemon puts a name in the spec only when the node
 * runs AppArmor and has the profile loaded; any failure here is then a real error. The file is
 * the container's procfs, so this runs after pivot_root, where /proc is the container's own. */
#include "init.h"

#define ATTR_APPARMOR "/proc/self/attr/apparmor/exec" /* Linux >= 5.8, with several LSMs stacked */
#define ATTR_LEGACY "/proc/self/attr/exec"
#define PROFILE_MAX 4096

int apparmor_exec_profile(const char *profile)
{
	static char buf[sizeof("exec ") + PROFILE_MAX];
	size_t n;
	long fd, w;

	if (!profile || !*profile)
		return 0;
	n = rt_strlen(profile);
	if (n > PROFILE_MAX)
		return report("AppArmor profile name of %zu bytes is too long", n);
	memcpy(buf, "exec ", 5);
	memcpy(buf + 5, profile, n);
	fd = rt_open(ATTR_APPARMOR, O_WRONLY | O_CLOEXEC, 0);
	if (fd == -ENOENT)
		fd = rt_open(ATTR_LEGACY, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return report_err((int)-fd, "set AppArmor profile %s: open %s", profile, ATTR_LEGACY);
	/* One write: the kernel reads the whole command from it. */
	do
		w = rt_write((int)fd, buf, n + 5);
	while (w == -EINTR);
	rt_close((int)fd);
	if (w < 0)
		return report_err((int)-w, "set AppArmor profile %s for exec", profile);
	return 0;
}
