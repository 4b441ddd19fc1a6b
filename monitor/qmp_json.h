/*
 * QMP's JSON layer: cutting a byte stream into messages, and writing
 * values the way QEMU 7.2 writes them.  Parsing and the value tree are
 * jansson's; this file adds what QMP needs on top:
 *
 *   - a streamer: bytes arrive in arbitrary pieces, a message may span
 *     lines, several may share one read.  A message ends when the curly
 *     and square brackets opened outside strings are closed again (or at
 *     once for a top-level scalar), as QEMU's json-streamer decides.
 *   - QEMU's number model: integers up to 2^64-1 (jansson stops at
 *     INT64_MAX).  Integers in (INT64_MAX, UINT64_MAX] are carried as
 *     "u64 marker" strings that only this file creates (they start with a
 *     NUL byte, which no parsed string can contain: "\u0000" in input is
 *     refused as QEMU refuses it); qmp_json_get_u64() and the writer know
 *     them.  Integers beyond either end become floats, as in QEMU.
 *   - a writer with QEMU's spacing (`{"a": 1, "b": [1, 2]}`), floats as
 *     printf "%.17g" (`0`, `8.5743200000000002`) and QEMU's string
 *     escapes (control characters and non-ASCII as \uXXXX).
 *
 * Limits (a peer controls the input): a message may be at most
 * QMP_MAX_MESSAGE_BYTES long and nest at most QMP_MAX_DEPTH brackets;
 * beyond either the streamer reports QEMU's error text once and skips the
 * rest of that message.  No allocation grows with anything but the
 * current message.
 *
 * Thread safety: a streamer belongs to one reader; the other functions
 * are pure.
 */
#ifndef QMIG_MONITOR_QMP_JSON_H
#define QMIG_MONITOR_QMP_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define QMP_MAX_MESSAGE_BYTES (1u << 20)  /* QEMU allows 64 MiB */
#define QMP_MAX_DEPTH 1024                /* QEMU's MAX_NESTING */

/*
 * Receives each complete message: either `value` (owned by the callee)
 * or, when the message is not valid JSON or exceeds a limit, NULL and
 * QEMU's error text ("JSON parse error, ...").
 */
typedef void (*qmp_message_fn)(void *opaque, json_t *value,
			       const char *error);

struct qmp_streamer {
	struct strbuf msg;     /* the current message, numbers rewritten */
	struct strbuf number;  /* a number token being read */
	struct strbuf word;    /* a bare word (true, false, null, junk) */
	long depth;            /* open { and [ outside strings */
	bool in_string;
	bool escape;           /* after a backslash in a string */
	int hex_left;          /* \uXXXX digits still to come */
	bool hex_all_zero;     /* ... and all so far were '0' */
	bool nul_escape;       /* the message has \u0000 */
	bool skipping;         /* over a limit: drop until the message ends */
	bool started;          /* some byte of a message was seen */
};

void qmp_streamer_init(struct qmp_streamer *s);
void qmp_streamer_release(struct qmp_streamer *s);
/* Feeds bytes; calls fn for each message completed by them. */
void qmp_streamer_feed(struct qmp_streamer *s, const char *data, size_t len,
		       qmp_message_fn fn, void *opaque);

/* Appends v as QEMU writes it (no newline). */
void qmp_json_dump(const json_t *v, struct strbuf *out);
/* The same, as a new string (caller frees). */
char *qmp_json_dumps(const json_t *v);

/* A JSON integer for any uint64_t (a u64 marker above INT64_MAX). */
json_t *qmp_json_u64(uint64_t v);

/*
 * QEMU's uint64 visitor: a non-negative integer, a u64 marker, or a
 * negative int64 taken modulo 2^64 ("for backward compatibility").
 * false for anything else (strings, floats, bools, null).
 */
bool qmp_json_get_u64(const json_t *v, uint64_t *out);
/* QEMU's int64 visitor: an integer that fits int64_t. */
bool qmp_json_get_i64(const json_t *v, int64_t *out);
/* true for an integer of either kind (jansson's or a marker). */
bool qmp_json_is_integer(const json_t *v);
/* true for a string that came from the input (not a u64 marker). */
bool qmp_json_is_string(const json_t *v);

#endif
