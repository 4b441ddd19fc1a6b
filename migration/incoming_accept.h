/*
 * The destination's listening socket for the whole incoming migration
 * (QEMU 7.2 listens until the migration ends, too): every connection is
 * told apart by its first word, so that the main stream and the multifd
 * channels may come in any order.
 *   "QEVM"        the main stream (the first one; later ones are extra)
 *   0x11223344    a multifd channel: run by multifd_recv, or, when the
 *                 multifd capability is off here, a failed migration that
 *                 says so (QEMU 7.2 prints only "Extra incoming migration
 *                 connection; ignoring" and then fails on the stream)
 *   anything else the main stream if none came yet (the loader reports
 *                 what is wrong with it), else an extra connection,
 *                 closed with QEMU's message
 *
 * DESIGN
 * Threads: one acceptor thread, and one thread per accepted connection
 * (peeks at the first word, then runs the multifd channel or hands the
 * main stream over).  `lock` guards the main fd, the error, the thread
 * table and `stopping`.  A failure (a channel's, or a multifd channel
 * this destination does not expect) is kept (first wins) and shuts the
 * main stream down so that the loader stops; the loader's caller reports
 * incoming_accept_failed()'s error in preference to its own.
 */
#ifndef QMIG_MIGRATION_INCOMING_ACCEPT_H
#define QMIG_MIGRATION_INCOMING_ACCEPT_H

#include <stdbool.h>

#include "migration/multifd_recv.h"
#include "migration/qemu_file.h"
#include "util/error.h"

struct incoming_accept;

/*
 * Starts accepting on listen_fd (taken).  At the first connection,
 * make_mr(opaque, ia) gives the multifd receiver, or NULL when the
 * multifd capability is off (QEMU 7.2 also looks at the capabilities only
 * once a source connects).
 */
typedef struct multifd_recv *incoming_make_mr_fn(void *opaque,
						  struct incoming_accept *ia);
struct incoming_accept *incoming_accept_start(int listen_fd,
					      incoming_make_mr_fn *make_mr,
					      void *opaque,
					      struct error **errp);

/* The receiver make_mr gave (NULL: none); valid once the main stream
 * came. */
struct multifd_recv *incoming_accept_multifd(struct incoming_accept *ia);

/* Waits for the main stream's connection; its fd, or -1 with *errp. */
int incoming_accept_main(struct incoming_accept *ia, struct error **errp);

/* The main stream, to shut down on a failure (NULL: no longer). */
void incoming_accept_set_main_file(struct incoming_accept *ia,
				   struct qemu_file *f);

/* multifd_recv's fail and pending callbacks (opaque is the
 * incoming_accept). */
void incoming_accept_fail(void *opaque, struct error *err);
bool incoming_accept_pending(void *opaque);

/* The kept failure, moved into *errp; false if none. */
bool incoming_accept_failed(struct incoming_accept *ia, struct error **errp);

/* Stops accepting, ends the connection threads (stop mr first), closes
 * the listening socket, frees. */
void incoming_accept_stop(struct incoming_accept *ia);

#endif
