/* libFuzzer target for skiff-init's JSON parser (native-helpers/init/json.c), which reads every
 * bundle's config.json. Built with clang -fsanitize=fuzzer,address,undefined (see the `fuzz` rule
 * of native-helpers/Makefile), so an out-of-bounds access or undefined behaviour is a crash. On top
 * of that each input checks the parser's promises:
 *   - a refusal names an error and a byte offset inside the input;
 *   - an accepted document is a well-formed node tree: every node's `end` lies after it and
 *     within the tree, a container has exactly `len` children that end where it ends, object keys
 *     are strings;
 *   - strings are NUL-terminated at `len`, hold no NUL, and lie inside the input buffer;
 *   - json_get finds each key of an object (the first of equal keys);
 *   - json_int agrees with strtoll on plain integers and never returns a value out of its range.
 * The harness may use libc: the no-glibc rule is for the helpers, not for this test program. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* spec.c reads at most this much (SPEC_MAX_BYTES); larger inputs only cost time. */
#define MAX_INPUT (1 << 20)

static struct json_node nodes[JSON_MAX_NODES];

static void broken(const char *what, size_t at)
{
	fprintf(stderr, "json-fuzz: contract broken: %s (node/offset %zu)\n", what, at);
	abort();
}

static void check_string(const struct json_node *n, const char *buf, size_t size, size_t i)
{
	if (n->text < buf || n->text + n->len > buf + size)
		broken("string outside the input", i);
	if (n->text[n->len] != '\0')
		broken("string not NUL-terminated at its length", i);
	if (memchr(n->text, '\0', n->len))
		broken("NUL inside a string", i);
}

static void check_int(const struct json_doc *doc, int i)
{
	const struct json_node *n = &doc->nodes[i];
	char text[64];
	int64_t v = 0, w = 0;
	int r = json_int(doc, i, INT64_MIN, INT64_MAX, &v);

	if (json_int(doc, i, 0, 10, &w) == 0 && (w < 0 || w > 10))
		broken("json_int returned a value outside its range", (size_t)i);
	if (n->len >= sizeof(text) || memchr(n->text, '.', n->len) || memchr(n->text, 'e', n->len) || memchr(n->text, 'E', n->len)) {
		if (r == 0 && (memchr(n->text, '.', n->len) || memchr(n->text, 'e', n->len) || memchr(n->text, 'E', n->len)))
			broken("json_int accepted a fraction or an exponent", (size_t)i);
		return;
	}
	memcpy(text, n->text, n->len);
	text[n->len] = '\0';
	errno = 0;
	{
		char *end;
		long long want = strtoll(text, &end, 10);
		int ok = errno == 0 && *end == '\0';

		if (ok != (r == 0))
			broken("json_int and strtoll disagree on whether an integer fits", (size_t)i);
		if (ok && want != v)
			broken("json_int and strtoll disagree on an integer's value", (size_t)i);
	}
}

#define MISSING_KEY "\x01no such key"

static int has_key(const struct json_doc *doc, uint32_t obj, const char *key)
{
	uint32_t c = obj + 1;

	for (uint32_t k = 0; k < doc->nodes[obj].len; k++, c = doc->nodes[c + 1].end)
		if (strcmp(doc->nodes[c].text, key) == 0)
			return 1;
	return 0;
}

/* Walks the node at i; returns the index after it. */
static uint32_t walk(const struct json_doc *doc, uint32_t i, const char *buf, size_t size)
{
	const struct json_node *n = &doc->nodes[i];

	if (n->end <= i || n->end > doc->count)
		broken("node end outside the tree", i);
	switch (n->type) {
	case JSON_STRING:
		check_string(n, buf, size, i);
		break;
	case JSON_NUMBER:
		if (n->len == 0 || n->text < buf || n->text + n->len > buf + size)
			broken("number text outside the input", i);
		check_int(doc, (int)i);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT: {
		uint32_t c = i + 1;

		for (uint32_t k = 0; k < n->len; k++) {
			if (c >= n->end)
				broken("fewer children than len", i);
			if (n->type == JSON_OBJECT) {
				int found;

				if (doc->nodes[c].type != JSON_STRING)
					broken("object key that is not a string", c);
				check_string(&doc->nodes[c], buf, size, c);
				found = json_get(doc, (int)i, doc->nodes[c].text);
				if (found < 0 || found > (int)c + 1 || strcmp(doc->nodes[found - 1].text, doc->nodes[c].text) != 0)
					broken("json_get does not find a key the object has", c);
				if (doc->nodes[c].end != c + 1)
					broken("a key with children", c);
				c++;
			}
			if ((uint32_t)json_next(doc, (int)c) != walk(doc, c, buf, size))
				broken("json_next disagrees with the walk", c);
			c = doc->nodes[c].end;
		}
		if (c != n->end)
			broken("children do not end where their container ends", i);
		if (n->type == JSON_OBJECT && json_get(doc, (int)i, MISSING_KEY) >= 0 && !has_key(doc, i, MISSING_KEY))
			broken("json_get found a key the object does not have", i);
		break;
	}
	default:
		if (n->end != i + 1)
			broken("a scalar with children", i);
	}
	if (n->type != JSON_STRING && json_string(doc, (int)i) != NULL)
		broken("json_string of a non-string", i);
	return n->end;
}

/* Inputs of every fourth length get a small node array of their own (on the heap, so ASan sees a
 * write past it), so that "too many values" is reached by inputs of a few hundred bytes as well,
 * not only by 64 Ki values. */
#define SMALL_CAPACITY 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int small = size % 4 == 1;
	struct json_doc doc = { .nodes = small ? malloc(SMALL_CAPACITY * sizeof(struct json_node)) : nodes,
				.capacity = small ? SMALL_CAPACITY : JSON_MAX_NODES };
	char *buf;

	if (size > MAX_INPUT || !doc.nodes)
		goto out;
	/* Exactly the input, plus the NUL spec.c puts after what it read: ASan sees any read past it. */
	buf = malloc(size + 1);
	if (!buf)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (json_parse(&doc, buf, size) < 0) {
		if (!doc.error || doc.error_at > size)
			broken("a refusal without an error inside the input", doc.error_at);
	} else {
		if (doc.count == 0 || doc.count > doc.capacity)
			broken("node count", doc.count);
		if (walk(&doc, 0, buf, size) != doc.count)
			broken("the root does not span the tree", 0);
	}
	free(buf);
out:
	if (small)
		free(doc.nodes);
	return 0;
}
