/* skiff-hostinfo: reports, as one JSON line on stdout, the kernel facts the daemon checks at
 * start-up (cgroup layout, overlayfs, pidfd). It is Skiff's first helper: small enough to read in
 * a minute, and real enough to carry the build, the protocol and the tests of every helper after. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../common/helper.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* "v2" (unified), "hybrid" (v1 controllers + a v2 mount), "v1", or "none". */
static const char *cgroup_mode(const char *root)
{
	struct statfs st;
	char unified[4096];

	if (statfs(root, &st) < 0) {
		report_errno("statfs %s", root);
		return "none";
	}
	if ((unsigned long)st.f_type == CGROUP2_SUPER_MAGIC)
		return "v2";
	if ((unsigned long)st.f_type != TMPFS_MAGIC)
		return "none";
	if (snprintf(unified, sizeof(unified), "%s/unified", root) >= (int)sizeof(unified))
		return "v1";
	if (statfs(unified, &st) == 0 && (unsigned long)st.f_type == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	return "v1";
}

/* Whether /proc/filesystems lists overlay. -1 when it cannot be read. */
static int has_overlay(void)
{
	char buf[8192];
	ssize_t n;
	int fd = RETRY_EINTR(open("/proc/filesystems", O_RDONLY | O_CLOEXEC));

	if (fd < 0)
		return report_errno("open /proc/filesystems");
	n = RETRY_EINTR(read(fd, buf, sizeof(buf) - 1));
	if (n < 0) {
		report_errno("read /proc/filesystems");
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	return strstr(buf, "\toverlay\n") != NULL;
}

static bool has_pidfd(void)
{
	long fd = syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

int main(int argc, char **argv)
{
	struct utsname u;
	const char *root = "/sys/fs/cgroup";
	int overlay;

	if (argc == 3 && strcmp(argv[1], "--cgroup-root") == 0) {
		root = argv[2];
	} else if (argc != 1) {
		report("usage: skiff-hostinfo [--cgroup-root DIR]");
		return EXIT_USAGE;
	}
	if (uname(&u) < 0) {
		report_errno("uname");
		return EXIT_FAILURE_GENERIC;
	}
	overlay = has_overlay();
	if (overlay < 0)
		return EXIT_FAILURE_GENERIC;
	/* Kernel release and machine come from uname: no quotes or backslashes to escape there. */
	if (printf("{\"kernel\":\"%s\",\"machine\":\"%s\",\"cgroup\":\"%s\",\"overlay\":%s,\"pidfd\":%s}\n",
		   u.release, u.machine, cgroup_mode(root), overlay ? "true" : "false",
		   has_pidfd() ? "true" : "false") < 0 ||
	    fflush(stdout) != 0) {
		report_errno("write stdout");
		return EXIT_FAILURE_GENERIC;
	}
	return EXIT_OK;
}
