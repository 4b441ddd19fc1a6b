/*
 * The outgoing migration: QEMU 7.2's state machine and the migration
 * thread that runs precopy.
 *
 * DESIGN
 * Threads: the monitor threads call migration_start/cancel/query with
 * vm->lock held; one migration thread per migration runs connect, setup,
 * the iterations and the completion.  The thread takes vm->lock only to
 * change `status`, the run state and the times; all stream I/O happens
 * without it.  Counters live in `stats` (atomics) so that `info migrate`
 * reads them without stopping the thread.
 * Cancel: sets `cancel_requested` and shuts the stream down, so that a
 * blocked write returns; the thread then moves cancelling -> cancelled.
 * Failure or cancel restart the VM if the migration stopped it: the source
 * keeps running with its RAM intact and can migrate again.
 * exec: is completed only once the command has read the whole stream and
 * exited 0 (the thread waits for both, with the guest still stopped).
 */
#ifndef QMIG_MIGRATION_MIGRATION_H
#define QMIG_MIGRATION_MIGRATION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/mig_stats.h"
#include "migration/mig_status.h"
#include "migration/qemu_file.h"
#include "migration/transport.h"
#include "machine/vm.h"
#include "util/error.h"

struct multifd_send;

struct migration {
	/* guarded by vm->lock */
	enum mig_status status;
	char *error_desc;            /* why it failed, NULL otherwise */
	int64_t start_ms;            /* when `migrate` was given */
	int64_t setup_time_ms;
	int64_t total_time_ms;       /* frozen at the end */
	int64_t downtime_ms;
	bool thread_joinable;
	pthread_t thread;
	struct transport_addr addr;  /* where to */
	struct transport_fd_names fds; /* fd: names of the monitor that
					* started it (zero: none) */
	bool waiter_reports_error;   /* a blocking `migrate` shows the error */
	bool continue_requested;     /* migrate_continue in pre-switchover */

	/* shared with the migration thread */
	atomic_bool cancel_requested;
	struct qemu_file *_Atomic file;  /* for shutdown on cancel */
	struct multifd_send *_Atomic mf; /* multifd channels, likewise */
	struct mig_stats stats;
};

struct migration *migration_new(void);
void migration_free(struct migration *m);

/* What `migrate` (HMP) and `migrate` (QMP) ask for. */
struct migrate_request {
	const char *uri;
	bool blk, inc;  /* block migration: refused, qmig has no disks */
	bool resume;    /* postcopy recovery: refused, nothing is paused */
	const struct transport_fd_names *fds;  /* NULL: no getfd names */
};

/*
 * `migrate` (vm->lock held): refuses in QEMU 7.2's order ("Cannot resume
 * if there is no paused migration", "There's a migration process in
 * progress", "Guest is waiting for an incoming migration", "Can't migrate
 * the vm that was paused due to previous migration", block migration, URI
 * errors, an unknown fd name), otherwise starts the thread in state setup
 * and returns.
 */
bool migration_start(struct vm *vm, const struct migrate_request *req,
		     struct error **errp);

/* "There's a migration process in progress" while the outgoing migration
 * runs (vm->lock held): what `migrate` and the commands that a running
 * migration freezes (migrate-set-capabilities) refuse with. */
bool migration_check_not_running_locked(struct vm *vm, struct error **errp);

/* `migrate_cancel` (vm->lock held): no-op unless a migration runs. */
void migration_cancel(struct vm *vm);

/*
 * `migrate_continue STATE` (vm->lock held): QEMU 7.2's qmp_migrate_continue.
 * state is a MigrationStatus name; unknown: "Parameter 'state' does not
 * accept value 'X'" (QMP's text; HMP checks the name first and words it
 * "invalid parameter value: X").  If the outgoing migration is not in that
 * state: "Migration not in expected state: <current>".  Otherwise, in
 * pre-switchover (pause-before-switchover), releases the migration thread
 * waiting there, which goes on to device; returns true.
 */
bool migration_continue(struct vm *vm, const char *state, struct error **errp);

/* Blocks (releasing vm->lock while waiting) until the migration is no
 * longer running; returns its final status. */
enum mig_status migration_wait_locked(struct vm *vm);

/* After a status change of either direction (vm->lock held): wakes the
 * waiters and sends QMP's MIGRATION event when `events` is on. */
void migration_announce_status_locked(struct vm *vm, enum mig_status status);

/* Joins a finished migration thread (no-op while one runs). */
void migration_reap_locked(struct vm *vm);

/* Milliseconds since start while running, the frozen value after. */
int64_t migration_total_time_ms_locked(const struct migration *m);

#endif
