/*
 * Starting a thread the one way qmig does: named (so `top -H`, gdb and
 * TSan reports say which one it is, as QEMU's debug-threads=on does) and
 * with one wording for the failure, which reaches the user as the reason
 * a migration or a monitor could not start.
 */
#ifndef QMIG_UTIL_THREAD_H
#define QMIG_UTIL_THREAD_H

#include <pthread.h>
#include <stdbool.h>

struct error;

/* Creates a joinable thread running fn(arg), named `name` (at most 15
 * characters, the kernel's limit).  On failure sets *errp to "cannot
 * create the NAME thread: REASON" with the errno code, and returns false. */
bool thread_start(pthread_t *tid, void *(*fn)(void *), void *arg,
		  const char *name, struct error **errp);

#endif
