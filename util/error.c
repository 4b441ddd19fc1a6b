#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static void error_vset(struct error **errp, int code, const char *fmt,
		       va_list ap)
{
	if (!errp)
		return;
	/* Setting twice is a programming error: the first cause would be lost. */
	if (*errp) {
		fprintf(stderr, "BUG: error set twice (%s)\n", (*errp)->msg);
		abort();
	}
	struct error *err = xcalloc(1, sizeof(*err));
	err->msg = xvasprintf(fmt, ap);
	err->code = code;
	*errp = err;
}

void error_setf(struct error **errp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(errp, 0, fmt, ap);
	va_end(ap);
}

void error_setf_code(struct error **errp, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(errp, code, fmt, ap);
	va_end(ap);
}

void error_append_line(struct error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = xvasprintf(fmt, ap);
	va_end(ap);
	/* An error with no cause of its own (a stream cut short) starts with
	 * the context line. */
	char *joined = err->msg[0] ? xasprintf("%s\n%s", err->msg, line)
				   : xstrdup(line);
	free(line);
	free(err->msg);
	err->msg = joined;
}

void error_propagate(struct error **dst, struct error *src)
{
	if (!src)
		return;
	if (dst && !*dst)
		*dst = src;
	else
		error_free(src);
}

void error_free(struct error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}
