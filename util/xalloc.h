/*
 * Allocation that cannot fail: out of memory aborts with a message, as
 * QEMU's g_malloc does.  Sizes a peer or user controls are capped by the
 * caller before they get here.
 */
#ifndef QMIG_UTIL_XALLOC_H
#define QMIG_UTIL_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

#endif
