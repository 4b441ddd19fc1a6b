/*
 * The return path of the `return-path` capability: the destination's
 * messages back to the source on the migration socket itself, as QEMU 7.2
 * exchanges them (shared/docs/qemu-7.2-stream.md §6):
 *
 *   source -> destination, COMMAND sections after the configuration:
 *     08 | be16 1 (OPEN_RETURN_PATH) | be16 0
 *     08 | be16 2 (PING)             | be16 4 | be32 value
 *   destination -> source, messages "be16 type | be16 len | data":
 *     type 2 PONG  be32 value (the PING's)
 *     type 1 SHUT  be32 0 when everything was loaded, 1 on failure
 *
 * DESIGN
 * Source: savevm_put_open_return_path() writes the two COMMAND sections;
 * one reader thread per migration reads the messages from a dup of
 * the stream socket and records them under its own lock; the migration
 * thread asks rp_reader_wait_shut() once it has sent everything, and checks
 * rp_reader_failed() between sections to stop early.  Cancel shuts the
 * socket down, which ends the reader (EOF).
 * Destination: writes from the loader thread only (no lock).
 */
#ifndef QMIG_MIGRATION_RETURN_PATH_H
#define QMIG_MIGRATION_RETURN_PATH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/qemu_file.h"
#include "util/error.h"

#define RP_CMD_OPEN_RETURN_PATH 1 /* COMMAND numbers on the main stream */
#define RP_CMD_PING 2
#define RP_MSG_SHUT 1             /* message types on the return path */
#define RP_MSG_PONG 2
#define RP_MSG_MAX_LEN 512        /* longer messages are a broken peer */
/* The source's error when the destination's SHUT reports a failure. */
#define RP_DESTINATION_FAILED "the destination failed to load the migration"

struct rp_reader {
	int fd;                   /* dup of the stream socket */
	pthread_t thread;
	pthread_mutex_t lock;     /* guards the fields below */
	pthread_cond_t changed;
	bool ended;               /* EOF, error or SHUT seen */
	bool got_shut;
	uint32_t shut_value;
	uint32_t last_pong;
	char *error;              /* why the path ended badly, or NULL */
};

/* Starts reading on a dup of fd; false with *errp on failure. */
bool rp_reader_start(struct rp_reader *rp, int fd, struct error **errp);
/* True once the destination said it failed or the path broke. */
bool rp_reader_failed(struct rp_reader *rp);
/*
 * Waits for the destination's SHUT.  true when it reports success; false
 * with *errp when it reports failure or the path ends without SHUT.
 */
bool rp_reader_wait_shut(struct rp_reader *rp, struct error **errp);
/*
 * After the stream broke: did the destination say it failed?  A
 * destination that refuses the stream sends SHUT 1 and closes, and the
 * source's next write can fail before the reader has read that SHUT.
 * Ends the source's sending side (so a destination still reading sees the
 * end and answers), waits for the reader to end, and tells whether a
 * failure SHUT came.  Cancel still ends the wait (it shuts the socket).
 */
bool rp_reader_destination_failed(struct rp_reader *rp);
/* Stops (shutting the dup down if still reading), joins, frees. */
void rp_reader_stop(struct rp_reader *rp);

/* Destination: one message; false if the write failed. */
bool rp_send(int fd, uint16_t type, uint32_t value);

#endif
