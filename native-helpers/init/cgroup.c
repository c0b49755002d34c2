/* Cgroups: joining the ones the daemon made (by writing to their cgroup.procs files), and working
 * out which host directories the container sees under /sys/fs/cgroup: for each hierarchy in
 * /proc/self/cgroup, the host mount of that hierarchy (from /proc/self/mountinfo) joined with
 * the container's path in it. Binding those shows the container its own cgroups and nothing above
 * them, with or without a cgroup namespace, on v1, hybrid and v2 hosts alike. */
#include "init.h"

int cgroup_join(const char *const *files, int n)
{
	for (int i = 0; i < n; i++) {
		/* "0" is the writing process, whatever pid namespace it is in. */
		long fd = rt_open(files[i], O_WRONLY | O_CLOEXEC, 0), w;

		if (fd < 0)
			return report_err((int)-fd, "join cgroup %s", files[i]);
		w = rt_write((int)fd, "0", 1);
		rt_close((int)fd);
		if (w < 0)
			return report_err((int)-w, "join cgroup %s", files[i]);
	}
	return 0;
}

/* One line of /proc/self/cgroup: "ID:controllers:path". */
struct membership {
	char controllers[128];
	char path[PATH_MAX];
};

struct memberships {
	int count;
	struct membership m[CGROUP_VIEWS_MAX];
};

static int add_membership(char *line, void *arg)
{
	struct memberships *ms = arg;
	char *fields[3];
	char *c = line;
	int n = 0;

	/* The path may contain ':' itself: split on the first two only. */
	fields[n++] = c;
	for (; *c && n < 3; c++)
		if (*c == ':') {
			*c = '\0';
			fields[n++] = c + 1;
		}
	if (n < 3 || ms->count >= CGROUP_VIEWS_MAX)
		return 0;
	if (rt_strlen(fields[1]) >= sizeof(ms->m[0].controllers) || rt_strlen(fields[2]) >= sizeof(ms->m[0].path))
		return 0;
	rt_format(ms->m[ms->count].controllers, sizeof(ms->m[0].controllers), "%s", fields[1]);
	rt_format(ms->m[ms->count].path, sizeof(ms->m[0].path), "%s", fields[2]);
	ms->count++;
	return 0;
}

/* Does the comma-separated list `have` contain every entry of `want`? */
static bool has_all(const char *have, const char *want)
{
	const char *w = want;

	while (*w) {
		size_t wl = 0;
		bool found = false;

		while (w[wl] && w[wl] != ',')
			wl++;
		for (const char *h = have; *h;) {
			size_t hl = 0;

			while (h[hl] && h[hl] != ',')
				hl++;
			if (hl == wl && memcmp(h, w, wl) == 0)
				found = true;
			h += hl;
			if (*h)
				h++;
		}
		if (!found)
			return false;
		w += wl;
		if (*w)
			w++;
	}
	return true;
}

struct matcher {
	struct memberships *ms;
	struct cgroup_views *views;
	bool done[CGROUP_VIEWS_MAX];
};

/* mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
 * Octal escapes (\040) in paths are left as they are: cgroup mounts have none. */
static int match_mount(char *line, void *arg)
{
	struct matcher *mt = arg;
	char *f[16];
	int n = 0, dash = -1;
	const char *root, *mountpoint, *fstype, *superopts;

	for (char *c = line; *c && n < 16;) {
		while (*c == ' ')
			c++;
		if (!*c)
			break;
		f[n] = c;
		while (*c && *c != ' ')
			c++;
		if (*c)
			*c++ = '\0';
		if (rt_streq(f[n], "-") && dash < 0)
			dash = n;
		n++;
	}
	if (dash < 6 || n < dash + 4)
		return 0;
	root = f[3];
	mountpoint = f[4];
	fstype = f[dash + 1];
	superopts = f[dash + 3];
	for (int i = 0; i < mt->ms->count; i++) {
		const struct membership *m = &mt->ms->m[i];
		bool v2 = m->controllers[0] == '\0';
		struct cgroup_view *v = &mt->views->views[i];
		const char *rel = m->path, *name;
		size_t rl = rt_strlen(root);

		if (mt->done[i] || !rt_streq(fstype, v2 ? "cgroup2" : "cgroup"))
			continue;
		if (!v2 && !has_all(superopts, m->controllers))
			continue;
		/* The mount shows the hierarchy from `root` down: the path must be inside it. */
		if (!rt_streq(root, "/")) {
			if (!rt_starts_with(m->path, root) || (m->path[rl] != '/' && m->path[rl] != '\0'))
				continue;
			rel = m->path + rl;
		}
		name = rt_find_last(mountpoint, '/');
		name = name ? name + 1 : mountpoint;
		if (rt_format(v->source, sizeof(v->source), "%s%s", mountpoint, rel) >= sizeof(v->source) ||
		    rt_strlen(name) >= sizeof(v->name))
			continue;
		rt_format(v->name, sizeof(v->name), "%s", name);
		rt_format(v->controllers, sizeof(v->controllers), "%s", m->controllers);
		mt->done[i] = true;
	}
	return 0;
}

int cgroup_views_read(struct cgroup_views *views)
{
	static struct memberships ms;
	static struct matcher mt;
	int out = 0;

	ms.count = 0;
	if (read_lines("/proc/self/cgroup", add_membership, &ms) < 0)
		return -1;
	mt = (struct matcher){ .ms = &ms, .views = views };
	if (read_lines("/proc/self/mountinfo", match_mount, &mt) < 0)
		return -1;
	/* Compact: hierarchies that are not mounted on the host are not shown. */
	for (int i = 0; i < ms.count; i++)
		if (mt.done[i])
			views->views[out++] = views->views[i];
	views->count = out;
	/* A v2-only host: the one hierarchy is /sys/fs/cgroup itself. */
	if (out == 1 && views->views[0].controllers[0] == '\0')
		views->views[0].name[0] = '\0';
	return 0;
}
