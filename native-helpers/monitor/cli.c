/* Options: `--name value` pairs and flags, then `--` and the executor's argv. Each rule has its
 * own message; a bad option is a usage error (exit 2) before anything is opened. */
#include "monitor.h"

#define ID_MAX 128
/* The exit file's temporary name adds "/." and ".tmp". */
#define EXIT_PATH_MAX (PATH_MAX - 8)

static bool valid_id(const char *id)
{
	size_t n = 0;

	for (const char *c = id; *c; c++, n++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			  *c == '_' || *c == '.';
		if (!ok)
			return false;
	}
	return n > 0 && n <= ID_MAX && !rt_streq(id, ".") && !rt_streq(id, "..");
}

/* Absolute, not "/" itself, no trailing slash: a file the monitor creates or binds. */
static int check_file_path(const char *opt, const char *path, size_t max)
{
	size_t n = rt_strlen(path);

	if (path[0] != '/')
		return report("%s %s: not an absolute path", opt, path);
	if (n < 2 || path[n - 1] == '/')
		return report("%s %s: not a file path", opt, path);
	if (n >= max)
		return report("%s %s: longer than %lu bytes", opt, path, (unsigned long)max - 1);
	return 0;
}

static bool parse_int(const char *s, int min, int max, int *out)
{
	bool negative = s[0] == '-';
	uint64_t v;
	const char *digits = negative ? s + 1 : s;

	if (!rt_parse_u64(digits, &v))
		return false;
	while (*digits >= '0' && *digits <= '9')
		digits++;
	if (*digits || v > 1000000)
		return false;
	*out = negative ? -(int)v : (int)v;
	return *out >= min && *out <= max;
}

/* Options that take a value: where it goes. */
static const char **value_slot(struct options *o, const char *name)
{
	if (rt_streq(name, "--id"))
		return &o->id;
	if (rt_streq(name, "--exit-file"))
		return &o->exit_file;
	if (rt_streq(name, "--log-path"))
		return &o->log_path;
	if (rt_streq(name, "--attach-socket"))
		return &o->attach_socket;
	if (rt_streq(name, "--oom-cgroup"))
		return &o->oom_cgroup;
	return NULL;
}

static bool *flag_slot(struct options *o, const char *name)
{
	if (rt_streq(name, "--stdin"))
		return &o->stdin_pipe;
	if (rt_streq(name, "--tty"))
		return &o->tty;
	if (rt_streq(name, "--exec-sync"))
		return &o->exec_sync;
	return NULL;
}

/* Options that name an fd inherited from the daemon. */
static int *fd_slot(struct options *o, const char *name)
{
	if (rt_streq(name, "--attach-fd"))
		return &o->attach_fd;
	if (rt_streq(name, "--executor-fd"))
		return &o->executor_fd;
	return NULL;
}

static int check(struct options *o)
{
	int bad = 0;

	if (!o->id)
		bad |= report("--id is required");
	else if (!valid_id(o->id))
		bad |= report("--id %s: 1 to %d characters of [A-Za-z0-9._-]", o->id, ID_MAX);
	if (!o->exit_file)
		bad |= report("--exit-file is required");
	else
		bad |= check_file_path("--exit-file", o->exit_file, EXIT_PATH_MAX);
	if (!o->log_path)
		bad |= report("--log-path is required");
	else
		bad |= check_file_path("--log-path", o->log_path, PATH_MAX);
	/* sun_path holds 108 bytes with its NUL. */
	if (o->attach_socket)
		bad |= check_file_path("--attach-socket", o->attach_socket, UNIX_PATH_MAX);
	if (o->oom_cgroup && o->oom_cgroup[0] != '/')
		bad |= report("--oom-cgroup %s: not an absolute path", o->oom_cgroup);
	if (o->attach_fd >= 0 && o->attach_fd == o->executor_fd)
		bad |= report("--attach-fd and --executor-fd are both %d", o->attach_fd);
	if (!o->argv || !o->argv[0])
		bad |= report("no executor: expected -- EXECUTOR-ARGV...");
	else if (!o->argv[0][0])
		bad |= report("the executor's path is empty");
	return bad ? -1 : 0;
}

int parse_options(int argc, char **argv, struct options *o)
{
	bool seen_adj = false;

	*o = (struct options){ .attach_fd = -1, .executor_fd = -1 };
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i];
		const char **value;
		bool *flag;
		int *fd = NULL;

		if (rt_streq(name, "--")) {
			o->argv = argv + i + 1;
			break;
		}
		if ((flag = flag_slot(o, name))) {
			if (*flag)
				return report("%s given twice", name);
			*flag = true;
			continue;
		}
		value = value_slot(o, name);
		if (!value && !rt_streq(name, "--oom-score-adj") && !(fd = fd_slot(o, name)))
			return report("unknown option %s", name);
		if (i + 1 >= argc)
			return report("%s needs a value", name);
		if (fd) {
			if (*fd >= 0)
				return report("%s given twice", name);
			if (!parse_int(argv[++i], 3, 1023, fd))
				return report("%s %s: not an fd from 3 to 1023", name, argv[i]);
			continue;
		}
		if (!value) {
			if (seen_adj)
				return report("%s given twice", name);
			seen_adj = true;
			if (!parse_int(argv[++i], -1000, 1000, &o->oom_score_adj))
				return report("%s %s: not an integer from -1000 to 1000", name, argv[i]);
			o->oom_score_adj_set = true;
			continue;
		}
		if (*value)
			return report("%s given twice", name);
		*value = argv[++i];
	}
	return check(o);
}
