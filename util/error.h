/*
 * Error objects: a message for the user, plus the errno-style code that
 * QEMU prints at the end of a failed load ("load of migration failed:
 * Invalid argument").
 *
 * Contract (after QEMU's include/qapi/error.h rules): a function that can
 * fail takes `struct error **errp` last and returns bool/NULL/-1 on failure
 * after setting *errp exactly once.  errp may be NULL when the caller does
 * not care.  Nothing here prints; the caller that owns the user interface
 * decides where a message goes.
 */
#ifndef QMIG_UTIL_ERROR_H
#define QMIG_UTIL_ERROR_H

#include <stdbool.h>

struct error {
	char *msg; /* one or more lines separated by '\n', no final newline */
	int code;  /* positive errno value for the final summary, 0 if none */
};

/* Sets *errp (if errp is non-NULL; *errp must be NULL) to a new message. */
void error_setf(struct error **errp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like error_setf(), with an errno code kept for the summary line. */
void error_setf_code(struct error **errp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Adds a line after the existing message: how QEMU reports context, e.g.
 * "error while loading state section id 2(ram)" after the cause.
 */
void error_append_line(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Moves src into *dst (or frees it when dst is NULL or already set). */
void error_propagate(struct error **dst, struct error *src);

void error_free(struct error *err); /* NULL is fine */

#endif
