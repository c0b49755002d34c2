/* Typed access to config.json members (see spec-json.h). */
#include "spec.h"
#include "spec-json.h"

int bad(struct ctx *c, const char *field, const char *why)
{
	return report("%s: %s %s", c->file, field, why);
}

int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	long fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0);
	size_t n = 0;

	if (fd < 0)
		return report_err((int)-fd, "open %s", path);
	for (;;) {
		long r = rt_read((int)fd, buf + n, cap - n);

		if (r < 0) {
			rt_close((int)fd);
			return report_err((int)-r, "read %s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			rt_close((int)fd);
			return report("%s: larger than %lu bytes", path, (unsigned long)(cap - 1));
		}
	}
	rt_close((int)fd);
	*len = n;
	return 0;
}

/* Optional members: absent or null leaves *out alone; the wrong type is an error. */
int opt_string(struct ctx *c, int obj, const char *key, const char *field, const char **out)
{
	int v = json_get(&c->doc, obj, key);

	if (v < 0 || c->doc.nodes[v].type == JSON_NULL)
		return 0;
	if (!(*out = json_string(&c->doc, v)))
		return bad(c, field, "must be a string");
	return 0;
}

int opt_bool(struct ctx *c, int obj, const char *key, const char *field, bool *out)
{
	int v = json_get(&c->doc, obj, key);

	if (v < 0 || c->doc.nodes[v].type == JSON_NULL)
		return 0;
	if (c->doc.nodes[v].type != JSON_TRUE && c->doc.nodes[v].type != JSON_FALSE)
		return bad(c, field, "must be true or false");
	*out = c->doc.nodes[v].type == JSON_TRUE;
	return 0;
}

/* Returns 1 when present and set, 0 when absent. */
int opt_int(struct ctx *c, int obj, const char *key, const char *field, int64_t min, int64_t max, int64_t *out)
{
	int v = json_get(&c->doc, obj, key);

	if (v < 0 || c->doc.nodes[v].type == JSON_NULL)
		return 0;
	if (json_int(&c->doc, v, min, max, out) < 0)
		return bad(c, field, "must be an integer in range");
	return 1;
}

/* The object at key, -1 when absent or null, or -2 after reporting a wrong type. */
int opt_object(struct ctx *c, int obj, const char *key, const char *field)
{
	int v = json_get(&c->doc, obj, key);

	if (v < 0 || c->doc.nodes[v].type == JSON_NULL)
		return -1;
	if (c->doc.nodes[v].type != JSON_OBJECT)
		return bad(c, field, "must be an object") - 1;
	return v;
}

int opt_array(struct ctx *c, int obj, const char *key, const char *field)
{
	int v = json_get(&c->doc, obj, key);

	if (v < 0 || c->doc.nodes[v].type == JSON_NULL)
		return -1;
	if (c->doc.nodes[v].type != JSON_ARRAY)
		return bad(c, field, "must be an array") - 1;
	return v;
}

/* An array of strings into out[0..max), NULL-terminated (out has max + 1 slots). */
int string_array(struct ctx *c, int arr, const char *field, const char **out, size_t max, size_t *n)
{
	int e = json_first(arr);

	if (c->doc.nodes[arr].len > max) {
		report("%s: %s has more than %lu entries", c->file, field, (unsigned long)max);
		return -1;
	}
	*n = 0;
	for (uint32_t k = 0; k < c->doc.nodes[arr].len; k++, e = json_next(&c->doc, e)) {
		if (!(out[*n] = json_string(&c->doc, e)))
			return bad(c, field, "must hold only strings");
		(*n)++;
	}
	out[*n] = NULL;
	return 0;
}

bool absolute(const char *p) { return p && p[0] == '/'; }
