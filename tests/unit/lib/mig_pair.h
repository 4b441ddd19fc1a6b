/*
 * An outgoing migration driven in-process, as the monitors drive it: a
 * struct vm source (migration_start/cancel/continue with vm->lock held)
 * whose events are recorded as text, and a destination thread that loads
 * what the source sends over a socketpair (the fd: transport, name
 * TEST_PEER_FD) into its own guarded RAM, as incoming.c does but without
 * exiting the process when the load fails.
 *
 * DESIGN
 * Threads: the test's, the source's migration thread, the peer's loader.
 * The source's fields are vm->lock's (events are appended by vm->event_fn,
 * which runs with it held); the peer's hold/done/result are its own
 * lock's.  Waits are condition waits with a generous deadline that fails
 * the test: nothing sleeps, nothing depends on how busy the machine is.
 */
#ifndef QMIG_TESTS_UNIT_LIB_MIG_PAIR_H
#define QMIG_TESTS_UNIT_LIB_MIG_PAIR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/migration.h"
#include "migration/savevm.h"
#include "migration/machine_setup.h"
#include "tests/unit/lib/test_ram.h"
#include "util/error.h"

#define TEST_PEER_FD "peer"      /* migrate to "fd:peer" */
#define TEST_DEADLINE_S 120      /* a wait longer than this fails */

struct test_source {
	struct vm vm;
	char events[4096];   /* vm.lock: "setup pass:1 active STOP ..." */
};

/* A running VM of ram_bytes with mixed page contents (seeded). */
void test_source_init(struct test_source *s, uint64_t ram_bytes);
void test_source_release(struct test_source *s);
void test_source_cap(struct test_source *s, const char *name, bool on);
void test_source_param(struct test_source *s, const char *name,
		       const char *value);

/* `migrate URI` as a monitor that then waits for the end (its error is
 * the command's, not stderr's). */
/* The fd: names under which the running peer's end can be taken. */
const struct transport_fd_names *test_peer_fd_names(void);

bool test_source_migrate(struct test_source *s, const char *uri,
			 struct error **errp);
/* Waits until the outgoing status is `status` (returns with vm.lock
 * released). */
void test_source_wait_status(struct test_source *s, enum mig_status status);
/* Waits until no migration runs, joins its thread; the final status. */
enum mig_status test_source_wait_end(struct test_source *s);
/* The events so far ("" when none); clears them when `clear`. */
void test_source_events(struct test_source *s, char *out, size_t size,
			bool clear);
enum runstate test_source_runstate(struct test_source *s);

struct test_peer {
	int fd;               /* the destination's end of the socketpair */
	int src_fd;           /* the source's end until the transport takes it */
	struct guarded_ram g; /* where the stream lands */
	bool compress;        /* the destination's capability */
	pthread_t thread;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cv;
	bool hold;            /* the loader waits before it reads */
	bool done;
	int ret;              /* savevm_load's */
	struct error *err;
	struct savevm_load_result result;
};

/*
 * Starts the loader for a guest of ram_bytes and makes the source's end
 * the descriptor TEST_PEER_FD names.  With hold, the loader reads nothing
 * until test_peer_release_hold(): a source writing to it blocks once the
 * socket (64 KiB of send buffer) is full.
 */
void test_peer_start(struct test_peer *p, uint64_t ram_bytes, bool compress,
		     bool hold);
void test_peer_release_hold(struct test_peer *p);
/* Ends the connection from the destination's side (a destination that
 * went away); the loader then fails. */
void test_peer_hang_up(struct test_peer *p);
/* Waits for the loader; its return. */
int test_peer_join(struct test_peer *p);
void test_peer_release(struct test_peer *p);

#endif
