/*
 * -daemonize and -pidfile with QEMU 7.2's semantics, which libvirt's
 * capability probe relies on: the parent exits 0 only once the child
 * says it is ready (its monitors listen and the pidfile is written), or
 * 1 if the child failed first; the child's stdin, stdout and stderr then
 * go to /dev/null, because libvirt reads the parent's stderr until every
 * writer has closed it.
 *
 * daemon_start() must run before any thread exists (it forks).
 */
#ifndef QMIG_UTIL_DAEMON_H
#define QMIG_UTIL_DAEMON_H

#include <stdbool.h>

#include "util/error.h"

/* Forks.  Returns in the child only (the parent waits for
 * daemon_ready() or the child's exit, then exits).  -1 on failure. */
int daemon_start(struct error **errp);

/* In the child: chdir("/"), stdio to /dev/null, and let the parent exit
 * 0.  readyfd is daemon_start()'s result. */
void daemon_ready(int readyfd);

/* Creates and locks path, writes "PID\n"; the descriptor stays open to
 * hold the lock for the life of the process. */
bool pidfile_write(const char *path, struct error **errp);

#endif
