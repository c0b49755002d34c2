/* Typed access to config.json members for spec.c: each helper checks the member's type and
 * bounds and reports a wrong one naming the file and the field. */
#ifndef SKIFF_INIT_SPEC_JSON_H
#define SKIFF_INIT_SPEC_JSON_H

#include "json.h"

struct ctx {
	struct json_doc doc;
	const char *file;
};

int bad(struct ctx *c, const char *field, const char *why);
int read_file(const char *path, char *buf, size_t cap, size_t *len);
int opt_string(struct ctx *c, int obj, const char *key, const char *field, const char **out);
int opt_bool(struct ctx *c, int obj, const char *key, const char *field, bool *out);
int opt_int(struct ctx *c, int obj, const char *key, const char *field, int64_t min, int64_t max, int64_t *out);
int opt_object(struct ctx *c, int obj, const char *key, const char *field);
int opt_array(struct ctx *c, int obj, const char *key, const char *field);
int string_array(struct ctx *c, int arr, const char *field, const char **out, size_t max, size_t *n);
bool absolute(const char *p);

#endif
