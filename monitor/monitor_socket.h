/*
 * HMP on sockets: `-monitor unix:PATH,server=on,wait=off` and
 * `-monitor tcp:HOST:PORT,server=on,wait=off`.  Each connection gets its own
 * session thread: a one-line banner, then after each command its output
 * and the prompt "(qmig) " (no newline), QEMU-style "\r\n" line ends and no
 * echo, so that a program can read up to the prompt.  A unix socket file is
 * created with mode 0600.  A line with a NUL byte or over 64 KiB runs
 * nothing (monitor/line_reader.h).  At most MONITOR_MAX_CONNECTIONS
 * sessions, HMP and QMP together, are open at once (monitor/chardev.h
 * refuses more).
 */
#ifndef QMIG_MONITOR_MONITOR_SOCKET_H
#define QMIG_MONITOR_MONITOR_SOCKET_H

#include <stdbool.h>

#include "machine/vm.h"
#include "monitor/chardev.h"
#include "util/error.h"

/* Binds and listens now; a thread accepts sessions from then on.  label
 * is the chardev's id for `info chardev` (-chardev's id, or QEMU's
 * "compat_monitorN" for -monitor). */
bool monitor_socket_start(struct vm *vm, const struct chardev_spec *spec,
			  const char *label, struct error **errp);

#endif
