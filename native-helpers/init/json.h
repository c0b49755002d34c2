/* A small JSON parser for config.json: the whole document is parsed into a bounded array of nodes;
 * strings are decoded in place (escapes, \u with surrogate pairs, to UTF-8) and NUL-terminated in
 * the input buffer, so node strings point into it and nothing is allocated. */
#ifndef SKIFF_INIT_JSON_H
#define SKIFF_INIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds: documents deeper or with more values than this are refused, not truncated. */
#define JSON_MAX_DEPTH 64
#define JSON_MAX_NODES 65536

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_node {
	enum json_type type;
	/* Members of an object (key-value pairs), elements of an array, bytes of a string or number. */
	uint32_t len;
	/* The index of the first node after this value and everything inside it. */
	uint32_t end;
	/* Strings: decoded, NUL-terminated (no NUL inside); numbers: the text, not terminated. */
	const char *text;
};

struct json_doc {
	struct json_node *nodes;
	uint32_t count;
	uint32_t capacity;
	/* Set when parsing fails: what is wrong and where (byte offset into the input). */
	const char *error;
	size_t error_at;
};

/* Parses buf[0..len) (which it modifies: strings are decoded in place). Returns 0, or -1 with
 * doc->error and doc->error_at set. The root value is node 0. An object's children are its keys
 * (strings), each followed by its value. */
int json_parse(struct json_doc *doc, char *buf, size_t len);

/* The value of `key` in the object at index obj, or -1 (no such key, or obj is not an object). */
int json_get(const struct json_doc *doc, int obj, const char *key);
/* The first child of an array or object at index i (valid only when its len > 0), and the node
 * after child c at the same level. */
static inline int json_first(int i) { return i + 1; }
static inline int json_next(const struct json_doc *doc, int c) { return (int)doc->nodes[c].end; }
/* A string node's text, or NULL when i is not a string. */
const char *json_string(const struct json_doc *doc, int i);
/* An integer-valued number node in [min, max]: returns 0, or -1 when it is not one. */
int json_int(const struct json_doc *doc, int i, int64_t min, int64_t max, int64_t *out);

#endif
