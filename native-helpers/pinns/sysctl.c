/* Pod sysctls, written inside the pod's fresh namespaces. /proc/sys/net/... and the IPC entries
 * resolve to the namespaces of the process that opens them (the kernel picks the table at lookup
 * time from current->nsproxy), so opening them in this process after unshare() reaches the pod's
 * namespaces, not the host's. A key naming anything else would change the host: refused. */
#include "pinns.h"

/* Kubernetes' namespaced sysctls (pkg/kubelet/sysctl): net.* with the network namespace; SysV IPC
 * and POSIX message queues with the IPC namespace. `dotted` uses '.' between components. */
static int namespace_of(const char *dotted, enum sysctl_ns *ns)
{
	if (rt_starts_with(dotted, "net.")) {
		*ns = SYSCTL_NET;
		return 0;
	}
	if (rt_starts_with(dotted, "kernel.shm") || rt_starts_with(dotted, "kernel.msg") ||
	    rt_streq(dotted, "kernel.sem") || rt_starts_with(dotted, "fs.mqueue.")) {
		*ns = SYSCTL_IPC;
		return 0;
	}
	return -1;
}

static bool component_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.' || c == '@' || c == '+' || c == ':';
}

/* Each component must name an entry below /proc/sys: no empty, "." or ".." components. */
static bool valid_path(const char *path)
{
	const char *start = path;

	for (const char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - start);

			if (n == 0 || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			start = p + 1;
		} else if (!component_char(*p)) {
			return false;
		}
	}
}

static void swap_separators(char *s)
{
	for (; *s; s++) {
		if (*s == '.')
			*s = '/';
		else if (*s == '/')
			*s = '.';
	}
}

/* Parses "key=value". Keys follow Kubernetes' convention: when the first separator is '.', dots
 * separate components and a '/' stands for a dot inside one ("net.ipv4.conf.eth0/100.rp_filter");
 * when it is '/', the key is already the path ("net/ipv4/conf/eth0.100/rp_filter"). */
int sysctl_parse(const char *arg, struct sysctl *out)
{
	const char *eq = rt_find_any(arg, "=");
	char dotted[SYSCTL_PATH_MAX];
	const char *sep;
	size_t klen;

	out->arg = arg;
	if (!eq)
		return report("--sysctl %s: expected key=value", arg);
	klen = (size_t)(eq - arg);
	if (klen == 0)
		return report("--sysctl %s: the key is empty", arg);
	if (klen >= SYSCTL_PATH_MAX)
		return report("--sysctl %.*s...: the key is longer than %d bytes", 40, arg, SYSCTL_PATH_MAX - 1);
	out->value = eq + 1;
	if (out->value[0] == '\0')
		return report("--sysctl %s: the value is empty", arg);
	if (rt_find_any(out->value, "\r\n"))
		return report("--sysctl %.*s: the value contains a line break", (int)klen, arg);

	memcpy(out->path, arg, klen);
	out->path[klen] = '\0';
	memcpy(dotted, arg, klen);
	dotted[klen] = '\0';
	sep = rt_find_any(out->path, "./");
	if (sep && *sep == '/')
		swap_separators(dotted);
	else
		swap_separators(out->path);
	if (!valid_path(out->path))
		return report("--sysctl %.*s: the key is not a valid sysctl name", (int)klen, arg);
	if (namespace_of(dotted, &out->ns) < 0)
		return report("--sysctl %.*s: not a namespaced sysctl (allowed: net.*, kernel.shm*, kernel.msg*, "
			      "kernel.sem, fs.mqueue.*)",
			      (int)klen, arg);
	return 0;
}

/* Returns 0, or -errno after reporting: the caller tells bad input from failure by it. */
int sysctl_write(const struct sysctl *s)
{
	char file[sizeof("/proc/sys/") + SYSCTL_PATH_MAX];
	size_t len = rt_strlen(s->value);
	long fd, n, c;

	rt_format(file, sizeof(file), "/proc/sys/%s", s->path);
	fd = rt_open(file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		report_err((int)-fd, "sysctl %s: open %s", s->arg, file);
		return (int)fd;
	}
	n = rt_write((int)fd, s->value, len);
	c = rt_close((int)fd);
	if (n >= 0 && (size_t)n != len)
		n = -EIO;
	if (n < 0) {
		report_err((int)-n, "sysctl %s: write %s", s->arg, file);
		return (int)n;
	}
	if (c < 0) {
		report_err((int)-c, "sysctl %s: close %s", s->arg, file);
		return (int)c;
	}
	return 0;
}
