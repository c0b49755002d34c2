/* The JSON parser json.h describes: recursive descent over the buffer, bounded in depth and in
 * the number of values, strings decoded in place. RFC 8259 grammar; raw bytes >= 0x80 inside
 * strings are kept as they are. */
#include "json.h"

struct parser {
	struct json_doc *doc;
	char *start;
	char *p;
	char *end;
};

static int fail(struct parser *ps, const char *what)
{
	if (!ps->doc->error) {
		ps->doc->error = what;
		ps->doc->error_at = (size_t)(ps->p - ps->start);
	}
	return -1;
}

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int new_node(struct parser *ps, enum json_type type)
{
	struct json_doc *d = ps->doc;

	if (d->count >= d->capacity)
		return fail(ps, "too many values");
	d->nodes[d->count] = (struct json_node){ .type = type };
	return (int)d->count++;
}

static int hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (int i = 0; i < 4; i++, ps->p++) {
		char c = *ps->p;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

/* After "\u": a code point, joining a surrogate pair. */
static int unicode_escape(struct parser *ps, uint32_t *cp)
{
	uint32_t hi, lo;

	if (hex4(ps, &hi) < 0)
		return -1;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return fail(ps, "lone low surrogate in \\u escape");
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return fail(ps, "high surrogate without a low one");
		ps->p += 2;
		if (hex4(ps, &lo) < 0)
			return -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail(ps, "high surrogate without a low one");
		hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	}
	if (hi == 0)
		return fail(ps, "\\u0000 in a string");
	*cp = hi;
	return 0;
}

/* Writes cp as UTF-8 at *dst; the escape it came from is at least as long (6 or 12 bytes). */
static void put_utf8(char **dst, uint32_t cp)
{
	unsigned char *d = (unsigned char *)*dst;

	if (cp < 0x80) {
		*d++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*d++ = (unsigned char)(0xC0 | (cp >> 6));
		*d++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*d++ = (unsigned char)(0xE0 | (cp >> 12));
		*d++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*d++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*d++ = (unsigned char)(0xF0 | (cp >> 18));
		*d++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*d++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*d++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	*dst = (char *)d;
}

/* At the opening quote. Decodes in place: the output never overtakes the input. */
static int parse_string(struct parser *ps)
{
	int i = new_node(ps, JSON_STRING);
	char *out;

	if (i < 0)
		return -1;
	out = ++ps->p;
	ps->doc->nodes[i].text = out;
	for (;;) {
		char c;

		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = *ps->p;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			return fail(ps, "control character in a string");
		ps->p++;
		if (c != '\\') {
			*out++ = c;
			continue;
		}
		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = *ps->p++;
		switch (c) {
		case '"': case '\\': case '/': *out++ = c; break;
		case 'b': *out++ = '\b'; break;
		case 'f': *out++ = '\f'; break;
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'u': {
			uint32_t cp;

			if (unicode_escape(ps, &cp) < 0)
				return -1;
			put_utf8(&out, cp);
			break;
		}
		default:
			ps->p--;
			return fail(ps, "bad escape in a string");
		}
	}
	ps->doc->nodes[i].len = (uint32_t)(out - ps->doc->nodes[i].text);
	*out = '\0'; /* at or before the closing quote, which is consumed here */
	ps->p++;
	ps->doc->nodes[i].end = ps->doc->count;
	return i;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(struct parser *ps)
{
	char *s = ps->p;
	int i;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || !is_digit(*ps->p))
		return fail(ps, "bad number");
	if (*ps->p == '0')
		ps->p++;
	else
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || !is_digit(*ps->p))
			return fail(ps, "bad number");
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || !is_digit(*ps->p))
			return fail(ps, "bad number");
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	}
	if ((i = new_node(ps, JSON_NUMBER)) < 0)
		return -1;
	ps->doc->nodes[i].text = s;
	ps->doc->nodes[i].len = (uint32_t)(ps->p - s);
	ps->doc->nodes[i].end = ps->doc->count;
	return i;
}

static int parse_literal(struct parser *ps, const char *word, enum json_type type)
{
	int i;

	for (const char *w = word; *w; w++, ps->p++)
		if (ps->p >= ps->end || *ps->p != *w)
			return fail(ps, "unexpected character");
	if ((i = new_node(ps, type)) < 0)
		return -1;
	ps->doc->nodes[i].end = ps->doc->count;
	return i;
}

static int parse_value(struct parser *ps, int depth);

/* At '[' or '{'. */
static int parse_container(struct parser *ps, int depth)
{
	bool object = *ps->p == '{';
	char close = object ? '}' : ']';
	int i = new_node(ps, object ? JSON_OBJECT : JSON_ARRAY);
	uint32_t n = 0;

	if (i < 0)
		return -1;
	if (depth >= JSON_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			skip_space(ps);
			if (object) {
				if (ps->p >= ps->end || *ps->p != '"')
					return fail(ps, "expected a string key");
				if (parse_string(ps) < 0)
					return -1;
				skip_space(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return fail(ps, "expected ':'");
				ps->p++;
			}
			if (parse_value(ps, depth + 1) < 0)
				return -1;
			n++;
			skip_space(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	ps->doc->nodes[i].len = n;
	ps->doc->nodes[i].end = ps->doc->count;
	return i;
}

static int parse_value(struct parser *ps, int depth)
{
	skip_space(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	switch (*ps->p) {
	case '{':
	case '[':
		return parse_container(ps, depth);
	case '"':
		return parse_string(ps);
	case 't':
		return parse_literal(ps, "true", JSON_TRUE);
	case 'f':
		return parse_literal(ps, "false", JSON_FALSE);
	case 'n':
		return parse_literal(ps, "null", JSON_NULL);
	default:
		if (*ps->p == '-' || is_digit(*ps->p))
			return parse_number(ps);
		return fail(ps, "unexpected character");
	}
}

int json_parse(struct json_doc *doc, char *buf, size_t len)
{
	struct parser ps = { doc, buf, buf, buf + len };

	doc->count = 0;
	doc->error = NULL;
	doc->error_at = 0;
	if (parse_value(&ps, 0) < 0)
		return -1;
	skip_space(&ps);
	if (ps.p != ps.end)
		return fail(&ps, "trailing characters after the value");
	return 0;
}

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int json_get(const struct json_doc *doc, int obj, const char *key)
{
	int c;

	if (obj < 0 || doc->nodes[obj].type != JSON_OBJECT)
		return -1;
	c = json_first(obj);
	for (uint32_t k = 0; k < doc->nodes[obj].len; k++) {
		int value = c + 1;

		if (same(doc->nodes[c].text, key))
			return value;
		c = json_next(doc, value);
	}
	return -1;
}

const char *json_string(const struct json_doc *doc, int i)
{
	if (i < 0 || doc->nodes[i].type != JSON_STRING)
		return NULL;
	return doc->nodes[i].text;
}

int json_int(const struct json_doc *doc, int i, int64_t min, int64_t max, int64_t *out)
{
	const struct json_node *n;
	const char *s, *e;
	bool negative = false;
	uint64_t v = 0;

	if (i < 0 || doc->nodes[i].type != JSON_NUMBER)
		return -1;
	n = &doc->nodes[i];
	s = n->text;
	e = s + n->len;
	if (*s == '-') {
		negative = true;
		s++;
	}
	for (; s < e; s++) {
		if (!is_digit(*s))
			return -1; /* a fraction or an exponent */
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (negative) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		if (v == (uint64_t)INT64_MAX + 1) {
			if (min != INT64_MIN)
				return -1;
			*out = INT64_MIN;
			return 0;
		}
		if (-(int64_t)v < min)
			return -1;
		*out = -(int64_t)v;
		return 0;
	}
	if (v > (uint64_t)INT64_MAX || (int64_t)v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}
