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

/* A copy of s (n bytes, or all) in the pool, or NULL when it is full. */
static const char *pool_add(struct cgroup_views *v, const char *s, size_t n)
{
	char *out = v->pool + v->used;

	if (n == (size_t)-1)
		n = rt_strlen(s);
	if (n + 1 > sizeof(v->pool) - v->used)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	v->used += n + 1;
	return out;
}

/* One line of /proc/self/cgroup, "ID:controllers:path", into views[count] (controllers, and the
 * path in `source` for now); completed or dropped by match_mount. */
static int add_membership(char *line, void *arg)
{
	struct cgroup_views *v = arg;
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
	if (n < 3 || v->count >= CGROUP_VIEWS_MAX)
		return 0;
	v->views[v->count] = (struct cgroup_view){
		.controllers = pool_add(v, fields[1], (size_t)-1),
		.source = pool_add(v, fields[2], (size_t)-1),
	};
	if (!v->views[v->count].controllers || !v->views[v->count].source)
		return report("too many cgroups in /proc/self/cgroup");
	v->count++;
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
	for (int i = 0; i < mt->views->count; i++) {
		struct cgroup_view *v = &mt->views->views[i];
		bool v2 = v->controllers[0] == '\0';
		const char *rel = v->source, *name;
		size_t rl = rt_strlen(root), ml = rt_strlen(mountpoint), pl;
		char *out;

		if (mt->done[i] || !rt_streq(fstype, v2 ? "cgroup2" : "cgroup"))
			continue;
		if (!v2 && !has_all(superopts, v->controllers))
			continue;
		/* The mount shows the hierarchy from `root` down: the path must be inside it. */
		if (!rt_streq(root, "/")) {
			if (!rt_starts_with(v->source, root) || (v->source[rl] != '/' && v->source[rl] != '\0'))
				continue;
			rel = v->source + rl;
		}
		name = rt_find_last(mountpoint, '/');
		name = name ? name + 1 : mountpoint;
		/* source = mountpoint + the path below the mount's root. */
		pl = rt_strlen(rel);
		if (ml + pl + 1 > sizeof(mt->views->pool) - mt->views->used)
			return report("too many cgroups in /proc/self/cgroup");
		out = mt->views->pool + mt->views->used;
		memcpy(out, mountpoint, ml);
		memcpy(out + ml, rel, pl + 1);
		mt->views->used += ml + pl + 1;
		v->source = out;
		if (!(v->name = pool_add(mt->views, name, (size_t)-1)))
			return report("too many cgroups in /proc/self/cgroup");
		mt->done[i] = true;
	}
	return 0;
}

int cgroup_views_read(struct cgroup_views *views)
{
	static struct matcher mt;
	int out = 0;

	views->count = 0;
	views->used = 0;
	if (read_lines("/proc/self/cgroup", add_membership, views) < 0)
		return -1;
	mt = (struct matcher){ .views = views };
	if (read_lines("/proc/self/mountinfo", match_mount, &mt) < 0)
		return -1;
	/* Compact: hierarchies that are not mounted on the host are not shown. */
	for (int i = 0; i < views->count; i++)
		if (mt.done[i])
			views->views[out++] = views->views[i];
	views->count = out;
	/* A v2-only host: the one hierarchy is /sys/fs/cgroup itself. */
	if (out == 1 && views->views[0].controllers[0] == '\0')
		views->views[0].name = "";
	return 0;
}
