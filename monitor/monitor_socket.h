/*
 * HMP on sockets: `-monitor unix:PATH,server=on,wait=off` and
 * `-monitor tcp:HOST:PORT,server=on,wait=off`.  Each connection gets its own
 * session thread: a one-line banner, then after each command its output
 * and the prompt "(qmig) " (no newline), QEMU-style "\r\n" line ends and no
 * echo, so that a program can read up to the prompt.  A unix socket file is
 * created with mode 0600.  A line with a NUL byte or over 64 KiB runs
 * nothing (monitor/line_reader.h).
 */
#ifndef QMIG_MONITOR_MONITOR_SOCKET_H
#define QMIG_MONITOR_MONITOR_SOCKET_H

#include <stdbool.h>

#include "migration/vm.h"
#include "util/error.h"

struct chardev_spec {
	bool is_unix;
	char *path;          /* unix */
	char *host, *port;   /* tcp */
	bool server, wait;
};

/* Parses "unix:PATH,server=on,wait=off" or "tcp:HOST:PORT,...". */
bool chardev_spec_parse(const char *text, struct chardev_spec *spec,
			struct error **errp);
void chardev_spec_release(struct chardev_spec *spec);

/* Binds and listens on the spec's socket (a unix one with mode 0600);
 * returns the listening fd or -1. */
int chardev_listen(const struct chardev_spec *spec, struct error **errp);

/*
 * Starts a detached thread that accepts connections on listen_fd for the
 * life of the process and hands each to on_connect(ctx, fd), which owns fd
 * from then on.  what names the thread kind in the error.  On failure the
 * caller still owns listen_fd.
 */
bool chardev_accept_start(int listen_fd,
			  void (*on_connect)(void *ctx, int fd), void *ctx,
			  const char *what, struct error **errp);

/* Binds and listens now; a thread accepts sessions from then on. */
bool monitor_socket_start(struct vm *vm, const struct chardev_spec *spec,
			  struct error **errp);

#endif
