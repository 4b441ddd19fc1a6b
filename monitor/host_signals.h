/*
 * SIGTERM, SIGHUP and (off a terminal) SIGINT end qmig as they end QEMU
 * 7.2: `terminating on signal 15 from pid 1234 (virsh)` on stderr, the
 * SHUTDOWN event with reason host-signal to every QMP client, exit 0.
 * libvirt's `virsh destroy` is a SIGTERM and reads both.
 *
 * One thread takes the signals with sigwaitinfo(), so the reaction runs
 * as ordinary code (locks, events, stdio) rather than in a handler.  For
 * that the signals must be blocked in every thread: host_signals_block()
 * comes before the first thread is started, and a child process unblocks
 * them before it execs (a blocked mask survives exec).
 */
#ifndef QMIG_MONITOR_HOST_SIGNALS_H
#define QMIG_MONITOR_HOST_SIGNALS_H

#include <stdbool.h>

#include "machine/vm.h"

struct error;

/* Blocks the signals in the calling thread and all it starts afterwards.
 * with_sigint: false when a readline session owns Ctrl-C (it clears the
 * line, or cancels a blocking migrate). */
void host_signals_block(bool with_sigint);

struct qmp_server;

/* Starts the thread that waits for them; qmp's clients get SHUTDOWN. */
bool host_signals_start(struct vm *vm, struct qmp_server *qmp,
			struct error **errp);

#endif
