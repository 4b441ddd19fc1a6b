/*
 * QMP's JSON layer (contract in qmp_json.h).
 *
 * The streamer is a small lexer: it follows strings (with their escapes),
 * numbers and bare words only far enough to know where a message ends and
 * to rewrite integers jansson cannot hold; jansson then parses the
 * rewritten message.  Error texts after "JSON parse error, " are QEMU's
 * for the cases QEMU's lexer decides (stray characters, stray closing
 * brackets, "\u0000", limits) and jansson's otherwise.
 */
#include "monitor/qmp_json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* A u64 marker: NUL, this prefix, decimal digits. */
#define U64_MARK "u64:"
#define U64_MARK_LEN 4

void qmp_streamer_init(struct qmp_streamer *s)
{
	memset(s, 0, sizeof(*s));
	strbuf_init(&s->msg);
	strbuf_init(&s->number);
	strbuf_init(&s->word);
}

void qmp_streamer_release(struct qmp_streamer *s)
{
	strbuf_release(&s->msg);
	strbuf_release(&s->number);
	strbuf_release(&s->word);
}

static void reset_message(struct qmp_streamer *s)
{
	strbuf_reset(&s->msg);
	strbuf_reset(&s->number);
	strbuf_reset(&s->word);
	s->depth = 0;
	s->in_string = s->escape = false;
	s->hex_left = 0;
	s->nul_escape = false;
	s->skipping = false;
	s->started = false;
}

static void report(struct qmp_streamer *s, const char *text,
		   qmp_message_fn fn, void *opaque)
{
	fn(opaque, NULL, text);
}

/* Appends to the message unless skipping; enforces the size limit. */
static void emit_bytes(struct qmp_streamer *s, const char *p, size_t n,
		       qmp_message_fn fn, void *opaque)
{
	if (s->skipping)
		return;
	if (s->msg.len + n > QMP_MAX_MESSAGE_BYTES) {
		report(s, "JSON token size limit exceeded", fn, opaque);
		s->skipping = true;
		strbuf_reset(&s->msg);
		return;
	}
	strbuf_add(&s->msg, p, n);
}

static void complete_message(struct qmp_streamer *s, qmp_message_fn fn,
			     void *opaque)
{
	if (s->skipping) {
		reset_message(s);
		return;
	}
	if (s->nul_escape) {
		reset_message(s);
		report(s, "JSON parse error, \\u0000 is not supported", fn,
		       opaque);
		return;
	}
	char first = s->msg.len ? s->msg.buf[0] : '\0';
	if (first == '}' || first == ']' || first == ':' || first == ',') {
		reset_message(s);
		report(s, "JSON parse error, expecting value", fn, opaque);
		return;
	}
	json_error_t jerr;
	json_t *v = json_loadb(s->msg.buf, s->msg.len,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL |
				       JSON_REJECT_DUPLICATES,
			       &jerr);
	reset_message(s);
	if (!v) {
		char text[JSON_ERROR_TEXT_LENGTH + 32];
		snprintf(text, sizeof(text), "JSON parse error, %s", jerr.text);
		report(s, text, fn, opaque);
		return;
	}
	fn(opaque, v, NULL);
}

/* Ends a number token: copies it, rewriting integers jansson can't hold. */
static void flush_number(struct qmp_streamer *s, qmp_message_fn fn,
			 void *opaque)
{
	const char *t = s->number.buf;
	size_t n = s->number.len;
	bool integer = !strpbrk(t, ".eE");
	if (integer && n > 18) {
		errno = 0;
		char *end;
		if (t[0] == '-') {
			(void)strtoll(t, &end, 10);
			if (errno == ERANGE && !*end) {
				emit_bytes(s, t, n, fn, opaque);
				emit_bytes(s, ".0", 2, fn, opaque);
				strbuf_reset(&s->number);
				return;
			}
		} else {
			unsigned long long u = strtoull(t, &end, 10);
			if (!*end && errno == ERANGE) {
				emit_bytes(s, t, n, fn, opaque);
				emit_bytes(s, ".0", 2, fn, opaque);
				strbuf_reset(&s->number);
				return;
			}
			if (!*end && u > INT64_MAX) {
				char mark[48];
				int len = snprintf(mark, sizeof(mark),
						   "\"\\u0000" U64_MARK "%llu\"",
						   u);
				emit_bytes(s, mark, (size_t)len, fn, opaque);
				strbuf_reset(&s->number);
				return;
			}
		}
	}
	emit_bytes(s, t, n, fn, opaque);
	strbuf_reset(&s->number);
}

static bool is_number_char(char c)
{
	return isdigit((unsigned char)c) || c == '-' || c == '+' || c == '.' ||
	       c == 'e' || c == 'E';
}

static void feed_string_byte(struct qmp_streamer *s, char c,
			     qmp_message_fn fn, void *opaque)
{
	emit_bytes(s, &c, 1, fn, opaque);
	if (s->escape) {
		s->escape = false;
		if (c == 'u') {
			s->hex_left = 4;
			s->hex_all_zero = true;
		}
	} else if (s->hex_left > 0) {
		if (c != '0')
			s->hex_all_zero = false;
		if (--s->hex_left == 0 && s->hex_all_zero)
			s->nul_escape = true;
	} else if (c == '\\') {
		s->escape = true;
	} else if (c == '"') {
		s->in_string = false;
		if (s->depth == 0)
			complete_message(s, fn, opaque);
	}
}

/* A number or bare word being read: true when c continues it; otherwise
 * the token ends before c (and a top-level message with it). */
static bool continue_token(struct qmp_streamer *s, char c, qmp_message_fn fn,
			   void *opaque)
{
	if (s->number.len) {
		if (is_number_char(c)) {
			if (s->number.len < 64)
				strbuf_addch(&s->number, c);
			return true;
		}
		flush_number(s, fn, opaque);
		if (s->depth == 0)
			complete_message(s, fn, opaque);
	}
	if (s->word.len) {
		if (isalnum((unsigned char)c) || c == '_') {
			if (s->word.len < 64)
				strbuf_addch(&s->word, c);
			return true;
		}
		emit_bytes(s, s->word.buf, s->word.len, fn, opaque);
		strbuf_reset(&s->word);
		if (s->depth == 0)
			complete_message(s, fn, opaque);
	}
	return false;
}

/* A byte outside strings and tokens: structure, or the start of one. */
static void feed_byte(struct qmp_streamer *s, char c, qmp_message_fn fn,
		      void *opaque)
{
	switch (c) {
	case ' ': case '\t': case '\r': case '\n':
		return;
	case '{': case '[':
		s->started = true;
		s->depth++;
		if (s->depth > QMP_MAX_DEPTH && !s->skipping) {
			report(s, "JSON nesting depth limit exceeded", fn, opaque);
			s->skipping = true;
			strbuf_reset(&s->msg);
		}
		emit_bytes(s, &c, 1, fn, opaque);
		return;
	case '}': case ']':
		s->depth--;
		emit_bytes(s, &c, 1, fn, opaque);
		if (s->depth <= 0)
			complete_message(s, fn, opaque);
		return;
	case ':': case ',':
		emit_bytes(s, &c, 1, fn, opaque);
		if (s->depth == 0)
			complete_message(s, fn, opaque);
		return;
	case '"':
		s->started = true;
		s->in_string = true;
		emit_bytes(s, &c, 1, fn, opaque);
		return;
	default:
		break;
	}
	if (isdigit((unsigned char)c) || c == '-') {
		s->started = true;
		strbuf_addch(&s->number, c);
		return;
	}
	if (isalpha((unsigned char)c)) {
		s->started = true;
		strbuf_addch(&s->word, c);
		return;
	}
	/* QEMU's lexer drops what it has and reports the byte. */
	char text[64];
	if (isprint((unsigned char)c))
		snprintf(text, sizeof(text), "JSON parse error, stray '%c'", c);
	else
		snprintf(text, sizeof(text),
			 "JSON parse error, stray '\\x%02x'", (unsigned char)c);
	reset_message(s);
	report(s, text, fn, opaque);
}

void qmp_streamer_feed(struct qmp_streamer *s, const char *data, size_t len,
		       qmp_message_fn fn, void *opaque)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (s->in_string)
			feed_string_byte(s, c, fn, opaque);
		else if (!continue_token(s, c, fn, opaque))
			feed_byte(s, c, fn, opaque);
	}
}

/* ---- writing ---- */

/* Decodes one UTF-8 sequence; -1 for an invalid one (1 byte consumed). */
static long utf8_next(const unsigned char *p, size_t n, size_t *used)
{
	unsigned char c = p[0];
	int len;
	long cp;

	*used = 1;
	if (c < 0x80)
		return c;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if ((size_t)len > n)
		return -1;
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const long min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min_cp[len] || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*used = (size_t)len;
	return cp;
}

static void dump_string(const char *s, size_t n, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	strbuf_addch(out, '"');
	for (size_t i = 0; i < n;) {
		size_t used;
		long cp = utf8_next(p + i, n - i, &used);
		i += used;
		switch (cp) {
		case '"': strbuf_addstr(out, "\\\""); continue;
		case '\\': strbuf_addstr(out, "\\\\"); continue;
		case '\b': strbuf_addstr(out, "\\b"); continue;
		case '\f': strbuf_addstr(out, "\\f"); continue;
		case '\n': strbuf_addstr(out, "\\n"); continue;
		case '\r': strbuf_addstr(out, "\\r"); continue;
		case '\t': strbuf_addstr(out, "\\t"); continue;
		default: break;
		}
		if (cp < 0) {
			strbuf_addstr(out, "\\uFFFD");
		} else if (cp > 0xffff) {
			cp -= 0x10000;
			strbuf_addf(out, "\\u%04lX\\u%04lX", 0xd800 | (cp >> 10),
				    0xdc00 | (cp & 0x3ff));
		} else if (cp < 0x20 || cp >= 0x7f) {
			strbuf_addf(out, "\\u%04lX", cp);
		} else {
			strbuf_addch(out, (char)cp);
		}
	}
	strbuf_addch(out, '"');
}

static bool is_u64_marker(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > U64_MARK_LEN + 1 &&
	       json_string_value(v)[0] == '\0' &&
	       !memcmp(json_string_value(v) + 1, U64_MARK, U64_MARK_LEN);
}

void qmp_json_dump(const json_t *v, struct strbuf *out)
{
	const char *key;
	json_t *child;
	size_t i;
	bool first = true;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		strbuf_addch(out, '{');
		json_object_foreach((json_t *)v, key, child) {
			if (!first)
				strbuf_addstr(out, ", ");
			first = false;
			dump_string(key, strlen(key), out);
			strbuf_addstr(out, ": ");
			qmp_json_dump(child, out);
		}
		strbuf_addch(out, '}');
		break;
	case JSON_ARRAY:
		strbuf_addch(out, '[');
		json_array_foreach(v, i, child) {
			if (i)
				strbuf_addstr(out, ", ");
			qmp_json_dump(child, out);
		}
		strbuf_addch(out, ']');
		break;
	case JSON_STRING:
		if (is_u64_marker(v))
			strbuf_addstr(out, json_string_value(v) + 1 +
						   U64_MARK_LEN);
		else
			dump_string(json_string_value(v), json_string_length(v),
				    out);
		break;
	case JSON_INTEGER:
		strbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		strbuf_addf(out, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		strbuf_addstr(out, "true");
		break;
	case JSON_FALSE:
		strbuf_addstr(out, "false");
		break;
	case JSON_NULL:
		strbuf_addstr(out, "null");
		break;
	}
}

char *qmp_json_dumps(const json_t *v)
{
	struct strbuf sb;
	strbuf_init(&sb);
	qmp_json_dump(v, &sb);
	return strbuf_detach(&sb);
}

json_t *qmp_json_u64(uint64_t v)
{
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	char mark[32];
	int len = snprintf(mark, sizeof(mark), "%c" U64_MARK "%" PRIu64, '\0',
			   v);
	return json_stringn_nocheck(mark, (size_t)len);
}

bool qmp_json_get_u64(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v)) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (is_u64_marker(v)) {
		*out = strtoull(json_string_value(v) + 1 + U64_MARK_LEN, NULL,
				10);
		return true;
	}
	return false;
}

bool qmp_json_get_i64(const json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

bool qmp_json_is_integer(const json_t *v)
{
	return json_is_integer(v) || is_u64_marker(v);
}

bool qmp_json_is_string(const json_t *v)
{
	return json_is_string(v) && !is_u64_marker(v);
}
