/*
 * The incoming migration (destination, `-incoming URI|defer`).
 *
 * DESIGN
 * Threads: incoming_start() (a monitor thread or main, vm->lock held)
 * listens, then one loader thread accepts the connection and loads the
 * stream into guest RAM while the VM is in `inmigrate` (no workload runs,
 * so the loader is RAM's only writer).  The thread takes vm->lock only to
 * change `status` and the run state.
 * Failure: as QEMU 7.2, a destination whose load fails prints the error
 * lines on stderr, then "load of migration failed: <strerror>", and the
 * process exits with status 1.
 */
#ifndef QMIG_MIGRATION_INCOMING_H
#define QMIG_MIGRATION_INCOMING_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "migration/migration.h"
#include "migration/transport.h"
#include "machine/vm.h"

struct incoming {
	/* guarded by vm->lock */
	enum mig_status status;      /* none until migrate_incoming */
	bool started;                /* a URI was given (once only) */
	char *socket_address;        /* "tcp:127.0.0.1:4444" while listening */
	struct transport_addr addr;
	int listen_fd;               /* or the stream itself for exec */
	bool listen_is_stream;
	pid_t child;
	pthread_t thread;
	bool thread_joinable;
};

/* For `-incoming`: the VM waits in `inmigrate`. */
struct incoming *incoming_new(void);
void incoming_free(struct incoming *in);

/*
 * Starts listening on uri and loading in the background (vm->lock held).
 * Errors: "'-incoming' was not specified on the command line", "The
 * incoming migration has already been started", URI errors, an fd: name
 * that fds does not know (fds may be NULL), bind errors.
 */
bool incoming_start(struct vm *vm, const char *uri,
		    const struct transport_fd_names *fds, struct error **errp);

#endif
