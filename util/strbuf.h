/*
 * A growable, always NUL-terminated byte string (after git's strbuf.h).
 * Monitor output is built in one so that HMP, QMP's human-monitor-command
 * and the tests all see the same text.
 */
#ifndef QMIG_UTIL_STRBUF_H
#define QMIG_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;    /* NUL-terminated; never NULL after strbuf_init() */
	size_t len;   /* bytes used, without the NUL */
	size_t alloc; /* bytes allocated */
};

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb); /* frees; the strbuf is re-inited */
void strbuf_reset(struct strbuf *sb);   /* empties, keeps the memory */
char *strbuf_detach(struct strbuf *sb); /* caller owns the result */
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
