/* What a helper shows of itself to other processes. A helper that enters a container's
 * namespaces is visible there for a while (every process of a pod that shares one pid namespace
 * sees what joins it, and the pod's own init all the time), so before it does:
 *
 * - It is not dumpable (PR_SET_DUMPABLE 0) until its final execve, which makes the new program
 *   dumpable again as usual. Opening /proc/<pid>/exe, mem, environ or fd/ of a process needs
 *   ptrace access, and a non-dumpable one grants it only to holders of CAP_SYS_PTRACE, which a
 *   container does not have by default. A child made with CLONE_VM shares the flag (it belongs to
 *   the memory), a forked one inherits it.
 * - Its command line names no host path: /proc/<pid>/cmdline is readable by anyone who sees the
 *   pid, and a helper's argv holds the bundle, cgroup files and the daemon's paths. The strings
 *   are moved to memory of their own and the original area is overwritten with a bare title.
 * - Its name (comm) is set: started from a sealed copy through /proc/self/fd/N (or an fd), the
 *   kernel would name it after the fd number. */
#include "rt.h"

#define RT_PROT_READ_WRITE 3
#define RT_MAP_PRIVATE_ANON 0x22

long rt_conceal(const char *comm)
{
	long r = rt_prctl(PR_SET_DUMPABLE, 0);

	return r < 0 ? r : rt_prctl(PR_SET_NAME, (unsigned long)comm);
}

long rt_args_find(int argc, char **argv, struct rt_args *a)
{
	char *end;

	*a = (struct rt_args){ NULL, 0 };
	if (argc < 1)
		return 0;
	/* The kernel lays the strings out back to back: that area is what cmdline shows. */
	end = argv[0];
	for (int i = 0; i < argc; i++) {
		if (argv[i] != end)
			return -EINVAL;
		end += rt_strlen(argv[i]) + 1;
	}
	*a = (struct rt_args){ argv[0], (size_t)(end - argv[0]) };
	return 0;
}

long rt_args_move(int argc, char **argv, const struct rt_args *a)
{
	long r;
	char *copy;

	if (a->len == 0)
		return 0;
	r = rt_syscall6(__NR_mmap, 0, (long)a->len, RT_PROT_READ_WRITE, RT_MAP_PRIVATE_ANON, -1, 0);
	if (r < 0 && r > -4096)
		return r;
	copy = (char *)r;
	memcpy(copy, a->start, a->len);
	for (int i = 0; i < argc; i++)
		argv[i] = copy + (argv[i] - a->start);
	return 0;
}

void rt_args_retitle(const struct rt_args *a, const char *title)
{
	size_t n = rt_strlen(title);

	if (a->len == 0)
		return;
	if (n >= a->len)
		n = a->len - 1;
	memset(a->start, 0, a->len);
	memcpy(a->start, title, n);
	/* setproctitle's convention: when the area's last byte is not NUL the kernel shows the title
	 * up to its first NUL ("skiff-init"), not the whole area padded with NULs. */
	if (n + 2 <= a->len)
		a->start[a->len - 1] = ' ';
}
