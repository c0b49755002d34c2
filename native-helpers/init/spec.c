/* config.json → struct spec: reads the file, parses it with json.c and checks each field skiff-init
 * uses (types, bounds, absolute paths). Fields it does not use are ignored; a field it uses with
 * the wrong type is an error that names it. */
#include "spec.h"
#include "json.h"
#include "spec-json.h"

static char spec_buf[SPEC_MAX_BYTES + 1];
static struct json_node spec_nodes[JSON_MAX_NODES];

static const char *const ns_names[NS_KINDS] = {
	[NS_CGROUP] = "cgroup", [NS_IPC] = "ipc", [NS_UTS] = "uts",
	[NS_NET] = "network",   [NS_PID] = "pid", [NS_MNT] = "mount",
};
static const char *const ns_files[NS_KINDS] = {
	[NS_CGROUP] = "cgroup", [NS_IPC] = "ipc", [NS_UTS] = "uts", [NS_NET] = "net", [NS_PID] = "pid", [NS_MNT] = "mnt",
};
static const int ns_flags[NS_KINDS] = {
	[NS_CGROUP] = CLONE_NEWCGROUP, [NS_IPC] = CLONE_NEWIPC, [NS_UTS] = CLONE_NEWUTS,
	[NS_NET] = CLONE_NEWNET,       [NS_PID] = CLONE_NEWPID, [NS_MNT] = CLONE_NEWNS,
};

const char *ns_name(enum ns_kind k) { return ns_names[k]; }
const char *ns_file(enum ns_kind k) { return ns_files[k]; }
int ns_flag(enum ns_kind k) { return ns_flags[k]; }

static const char *const rlimit_names[] = {
	"RLIMIT_CPU",	 "RLIMIT_FSIZE",      "RLIMIT_DATA",	 "RLIMIT_STACK",  "RLIMIT_CORE",   "RLIMIT_RSS",
	"RLIMIT_NPROC",	 "RLIMIT_NOFILE",     "RLIMIT_MEMLOCK",	 "RLIMIT_AS",	  "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE",     "RLIMIT_RTPRIO",	 "RLIMIT_RTTIME",
};

static int load_user(struct ctx *c, int process, struct user_spec *u)
{
	int user = opt_object(c, process, "user", "process.user");
	int64_t v = 0;
	int groups;

	if (user == -2)
		return -1;
	if (user < 0)
		return 0; /* root */
	if (opt_int(c, user, "uid", "process.user.uid", 0, UINT32_MAX - 1, &v) < 0)
		return -1;
	u->uid = (uint32_t)v;
	v = 0;
	if (opt_int(c, user, "gid", "process.user.gid", 0, UINT32_MAX - 1, &v) < 0)
		return -1;
	u->gid = (uint32_t)v;
	switch (opt_int(c, user, "umask", "process.user.umask", 0, 0777, &v)) {
	case -1:
		return -1;
	case 1:
		u->has_umask = true;
		u->umask = (uint32_t)v;
	}
	if ((groups = opt_array(c, user, "additionalGids", "process.user.additionalGids")) == -2)
		return -1;
	if (groups >= 0) {
		int e = json_first(groups);

		if (c->doc.nodes[groups].len > SPEC_MAX_GROUPS)
			return bad(c, "process.user.additionalGids", "has too many entries");
		for (uint32_t k = 0; k < c->doc.nodes[groups].len; k++, e = json_next(&c->doc, e)) {
			if (json_int(&c->doc, e, 0, UINT32_MAX - 1, &v) < 0)
				return bad(c, "process.user.additionalGids", "must hold only integer ids");
			u->groups[u->ngroups++] = (uint32_t)v;
		}
	}
	return 0;
}

static int load_rlimits(struct ctx *c, int process, struct spec *s)
{
	int arr = opt_array(c, process, "rlimits", "process.rlimits");
	int e;

	if (arr == -2)
		return -1;
	if (arr < 0)
		return 0;
	if (c->doc.nodes[arr].len > SPEC_MAX_RLIMITS)
		return bad(c, "process.rlimits", "has too many entries");
	e = json_first(arr);
	for (uint32_t k = 0; k < c->doc.nodes[arr].len; k++, e = json_next(&c->doc, e)) {
		struct rlimit_entry *r = &s->rlimits[s->nrlimits];
		const char *type = NULL;
		int64_t hard, soft;

		if (c->doc.nodes[e].type != JSON_OBJECT)
			return bad(c, "process.rlimits", "must hold objects");
		if (opt_string(c, e, "type", "process.rlimits[].type", &type) < 0)
			return -1;
		r->resource = -1;
		for (size_t i = 0; type && i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
			if (rt_streq(type, rlimit_names[i]))
				r->resource = (int)i;
		if (r->resource < 0)
			return report("%s: process.rlimits: unknown type %s", c->file, type ? type : "(none)");
		if (opt_int(c, e, "hard", "process.rlimits[].hard", 0, INT64_MAX, &hard) != 1 ||
		    opt_int(c, e, "soft", "process.rlimits[].soft", 0, INT64_MAX, &soft) != 1)
			return report("%s: process.rlimits: %s needs integer hard and soft values", c->file, type);
		r->lim.cur = (uint64_t)soft;
		r->lim.max = (uint64_t)hard;
		s->nrlimits++;
	}
	return 0;
}

static int load_cap_set(struct ctx *c, int caps, const char *key, uint64_t *out)
{
	static char field[64];
	int arr, e;

	rt_format(field, sizeof(field), "process.capabilities.%s", key);
	if ((arr = opt_array(c, caps, key, field)) == -2)
		return -1;
	if (arr < 0)
		return 0;
	e = json_first(arr);
	for (uint32_t k = 0; k < c->doc.nodes[arr].len; k++, e = json_next(&c->doc, e)) {
		const char *name = json_string(&c->doc, e);
		int n;

		if (!name)
			return bad(c, field, "must hold only strings");
		if ((n = cap_number(name)) < 0) {
			/* Like runc: a capability this build does not know is left out, with a warning. */
			char line[160];
			size_t len = rt_format(line, sizeof(line), "[skiff-" HELPER_NAME ":w] %s: unknown capability %.*s\n",
					       field, 80, name);

			rt_write(2, line, len < sizeof(line) ? len : sizeof(line) - 1);
			continue;
		}
		*out |= 1ULL << n;
	}
	return 0;
}

static int load_caps(struct ctx *c, int process, struct caps_spec *caps)
{
	int o = opt_object(c, process, "capabilities", "process.capabilities");

	if (o == -2)
		return -1;
	if (o < 0)
		return 0;
	caps->present = true;
	if (load_cap_set(c, o, "bounding", &caps->bounding) < 0 || load_cap_set(c, o, "effective", &caps->effective) < 0 ||
	    load_cap_set(c, o, "permitted", &caps->permitted) < 0 ||
	    load_cap_set(c, o, "inheritable", &caps->inheritable) < 0 || load_cap_set(c, o, "ambient", &caps->ambient) < 0)
		return -1;
	return 0;
}

static int load_process(struct ctx *c, int root, struct spec *s)
{
	int process = opt_object(c, root, "process", "process");
	int arr;
	int64_t v;

	if (process < 0)
		return process == -2 ? -1 : bad(c, "process", "is missing");
	if ((arr = opt_array(c, process, "args", "process.args")) < -1)
		return -1;
	if (arr < 0 || c->doc.nodes[arr].len == 0)
		return bad(c, "process.args", "must be a non-empty array of strings");
	if (string_array(c, arr, "process.args", (const char **)s->args, SPEC_MAX_ARGS, &s->nargs) < 0)
		return -1;
	if (s->args[0][0] == '\0')
		return bad(c, "process.args[0]", "is empty");
	if ((arr = opt_array(c, process, "env", "process.env")) < -1)
		return -1;
	s->env[0] = NULL;
	if (arr >= 0 && string_array(c, arr, "process.env", (const char **)s->env, SPEC_MAX_ENV, &s->nenv) < 0)
		return -1;
	s->cwd = NULL;
	if (opt_string(c, process, "cwd", "process.cwd", &s->cwd) < 0)
		return -1;
	if (!absolute(s->cwd))
		return bad(c, "process.cwd", "must be an absolute path");
	if (opt_bool(c, process, "terminal", "process.terminal", &s->terminal) < 0 ||
	    opt_bool(c, process, "noNewPrivileges", "process.noNewPrivileges", &s->no_new_privileges) < 0)
		return -1;
	s->apparmor_profile = NULL;
	if (opt_string(c, process, "apparmorProfile", "process.apparmorProfile", &s->apparmor_profile) < 0)
		return -1;
	switch (opt_int(c, process, "oomScoreAdj", "process.oomScoreAdj", -1000, 1000, &v)) {
	case -1:
		return -1;
	case 1:
		s->has_oom_score_adj = true;
		s->oom_score_adj = (int)v;
	}
	if (load_user(c, process, &s->user) < 0 || load_caps(c, process, &s->caps) < 0)
		return -1;
	return load_rlimits(c, process, s);
}

static int load_mounts(struct ctx *c, int root, struct spec *s)
{
	int arr = opt_array(c, root, "mounts", "mounts");
	int e;

	if (arr == -2)
		return -1;
	if (arr < 0)
		return 0;
	if (c->doc.nodes[arr].len > SPEC_MAX_MOUNTS)
		return bad(c, "mounts", "has too many entries");
	e = json_first(arr);
	for (uint32_t k = 0; k < c->doc.nodes[arr].len; k++, e = json_next(&c->doc, e)) {
		struct mount_entry *m = &s->mounts[s->nmounts];
		const char *opts[SPEC_MAX_OPTIONS + 1];
		size_t n = 0;
		int o;

		if (c->doc.nodes[e].type != JSON_OBJECT)
			return bad(c, "mounts", "must hold objects");
		if (opt_string(c, e, "destination", "mounts[].destination", &m->destination) < 0 ||
		    opt_string(c, e, "type", "mounts[].type", &m->type) < 0 ||
		    opt_string(c, e, "source", "mounts[].source", &m->source) < 0)
			return -1;
		if (!absolute(m->destination))
			return bad(c, "mounts[].destination", "must be an absolute path");
		if ((o = opt_array(c, e, "options", "mounts[].options")) == -2)
			return -1;
		if (o >= 0 && string_array(c, o, "mounts[].options", opts, SPEC_MAX_OPTIONS, &n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			m->options[i] = opts[i];
		m->noptions = (int)n;
		s->nmounts++;
	}
	return 0;
}

static int load_namespaces(struct ctx *c, int lnx, struct spec *s)
{
	int arr = opt_array(c, lnx, "namespaces", "linux.namespaces");
	int e;

	if (arr == -2)
		return -1;
	if (arr < 0)
		return 0;
	e = json_first(arr);
	for (uint32_t k = 0; k < c->doc.nodes[arr].len; k++, e = json_next(&c->doc, e)) {
		const char *type = NULL, *path = NULL;
		int kind = -1;

		if (c->doc.nodes[e].type != JSON_OBJECT)
			return bad(c, "linux.namespaces", "must hold objects");
		if (opt_string(c, e, "type", "linux.namespaces[].type", &type) < 0 ||
		    opt_string(c, e, "path", "linux.namespaces[].path", &path) < 0)
			return -1;
		if (!type)
			return bad(c, "linux.namespaces[].type", "is missing");
		for (int i = 0; i < NS_KINDS; i++)
			if (rt_streq(type, ns_names[i]))
				kind = i;
		if (kind < 0) {
			if (rt_streq(type, "user") || rt_streq(type, "time"))
				return report("%s: the %s namespace is not supported by skiff-init", c->file, type);
			return report("%s: linux.namespaces: unknown type %s", c->file, type);
		}
		if (s->ns[kind].wanted)
			return report("%s: linux.namespaces: %s is listed twice", c->file, type);
		if (path && !absolute(path))
			return bad(c, "linux.namespaces[].path", "must be an absolute path");
		s->ns[kind].wanted = true;
		s->ns[kind].path = path && path[0] ? path : NULL;
	}
	return 0;
}

static int load_devices(struct ctx *c, int lnx, struct spec *s)
{
	int arr = opt_array(c, lnx, "devices", "linux.devices");
	int e;

	if (arr == -2)
		return -1;
	if (arr < 0)
		return 0;
	if (c->doc.nodes[arr].len > SPEC_MAX_DEVICES)
		return bad(c, "linux.devices", "has too many entries");
	e = json_first(arr);
	for (uint32_t k = 0; k < c->doc.nodes[arr].len; k++, e = json_next(&c->doc, e)) {
		struct device_entry *d = &s->devices[s->ndevices];
		const char *type = NULL;
		int64_t v;
		int r;

		if (c->doc.nodes[e].type != JSON_OBJECT)
			return bad(c, "linux.devices", "must hold objects");
		if (opt_string(c, e, "path", "linux.devices[].path", &d->path) < 0 ||
		    opt_string(c, e, "type", "linux.devices[].type", &type) < 0)
			return -1;
		if (!absolute(d->path))
			return bad(c, "linux.devices[].path", "must be an absolute path");
		if (!type || !type[0] || type[1] || !rt_find_any(type, "cbup"))
			return bad(c, "linux.devices[].type", "must be one of c, b, u, p");
		d->type = type[0];
		if (opt_int(c, e, "major", "linux.devices[].major", 0, 0xfff, &v) < 0)
			return -1;
		d->major = (uint32_t)v;
		v = 0;
		if (opt_int(c, e, "minor", "linux.devices[].minor", 0, 0xfffff, &v) < 0)
			return -1;
		d->minor = (uint32_t)v;
		if ((r = opt_int(c, e, "fileMode", "linux.devices[].fileMode", 0, 07777, &v)) < 0)
			return -1;
		d->has_mode = r == 1;
		d->mode = (uint32_t)v;
		if ((r = opt_int(c, e, "uid", "linux.devices[].uid", 0, UINT32_MAX - 1, &v)) < 0)
			return -1;
		d->has_uid = r == 1;
		d->uid = (uint32_t)v;
		if ((r = opt_int(c, e, "gid", "linux.devices[].gid", 0, UINT32_MAX - 1, &v)) < 0)
			return -1;
		d->has_gid = r == 1;
		d->gid = (uint32_t)v;
		s->ndevices++;
	}
	return 0;
}

static int load_paths(struct ctx *c, int lnx, const char *key, const char *field, const char **out, int *count)
{
	int arr = opt_array(c, lnx, key, field);
	const char *tmp[SPEC_MAX_PATHS + 1];
	size_t n = 0;

	if (arr == -2)
		return -1;
	if (arr < 0)
		return 0;
	if (string_array(c, arr, field, tmp, SPEC_MAX_PATHS, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!absolute(tmp[i]))
			return bad(c, field, "must hold absolute paths");
		out[i] = tmp[i];
	}
	*count = (int)n;
	return 0;
}

static int load_linux(struct ctx *c, int root, struct spec *s)
{
	int lnx = opt_object(c, root, "linux", "linux");

	if (lnx == -2)
		return -1;
	if (lnx < 0)
		return 0;
	if (load_namespaces(c, lnx, s) < 0 || load_devices(c, lnx, s) < 0 ||
	    opt_string(c, lnx, "rootfsPropagation", "linux.rootfsPropagation", &s->rootfs_propagation) < 0 ||
	    load_paths(c, lnx, "maskedPaths", "linux.maskedPaths", s->masked, &s->nmasked) < 0 ||
	    load_paths(c, lnx, "readonlyPaths", "linux.readonlyPaths", s->readonly, &s->nreadonly) < 0)
		return -1;
	return 0;
}

int spec_load(const char *bundle, struct spec *s)
{
	static char file[PATH_MAX];
	struct ctx c = { .doc = { .nodes = spec_nodes, .capacity = JSON_MAX_NODES }, .file = file };
	size_t len = 0;
	int root, r;

	if (rt_format(file, sizeof(file), "%s/config.json", bundle) >= sizeof(file))
		return report("bundle path too long: %s", bundle);
	if (read_file(file, spec_buf, sizeof(spec_buf), &len) < 0)
		return -1;
	spec_buf[len] = '\0';
	if (json_parse(&c.doc, spec_buf, len) < 0)
		return report("%s: invalid JSON at byte %lu: %s", file, (unsigned long)c.doc.error_at, c.doc.error);
	if (c.doc.nodes[0].type != JSON_OBJECT)
		return report("%s: not a JSON object", file);
	root = 0;
	if ((r = opt_object(&c, root, "root", "root")) < 0)
		return r == -2 ? -1 : bad(&c, "root", "is missing");
	if (opt_string(&c, r, "path", "root.path", &s->root_path) < 0 ||
	    opt_bool(&c, r, "readonly", "root.readonly", &s->root_readonly) < 0)
		return -1;
	if (!s->root_path || !s->root_path[0])
		return bad(&c, "root.path", "is missing");
	if (opt_string(&c, root, "hostname", "hostname", &s->hostname) < 0)
		return -1;
	if (load_process(&c, root, s) < 0 || load_mounts(&c, root, s) < 0 || load_linux(&c, root, s) < 0)
		return -1;
	/* The mounts and pivot_root below must never happen in the host's mount namespace. */
	if (!s->ns[NS_MNT].wanted || s->ns[NS_MNT].path)
		return report("%s: linux.namespaces must create a new mount namespace (without a path)", file);
	return 0;
}
