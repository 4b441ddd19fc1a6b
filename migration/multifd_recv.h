/*
 * The destination's multifd channels (QEMU 7.2's multifd_recv_*).  Each
 * channel, once its connection has been told apart from the main one
 * (incoming_accept.h), reads the handshake and then packets, checks every
 * header field (multifd_wire.h) and writes the pages, inflating them with
 * its own codec for zlib or zstd.
 *
 * Sync: a channel that reads a SYNC packet stops there until the main
 * stream's loader reaches the `ram` section's EOS and calls
 * multifd_recv_sync(), which waits until every channel has stopped, then
 * lets them all go on.  So pages written before a sync point are in RAM
 * before the main stream reads past it, and later copies land after.
 *
 * DESIGN
 * Threads: each channel runs on the thread that calls
 * multifd_recv_run_channel() (one per connection); the loader thread calls
 * multifd_recv_sync().  `lock` guards the channel table, the sync counts
 * and `quit`; `cond` wakes both sides.
 *
 * QEMU 7.2 sends a page twice: within one section it can put the last
 * page of one packet first into the next, which another channel carries
 * (seen here: offset 0x1bf000 in packets 4 and 5 of a QEMU 7.2 -M none
 * source).  So two channels can write one page between two sync points.
 * Each channel reads a packet into its own bounce buffer and copies its
 * pages into RAM under one of PAGE_STRIPES locks, and a page keeps the
 * copy of the newest packet (page_packet), whichever channel is faster.
 * The copy costs about 0.1 us a page next to the socket's own.
 *
 * A channel error goes to the fail
 * callback once (the first error wins), and sets quit so that a waiting
 * sync returns false.
 */
#ifndef QMIG_MIGRATION_MULTIFD_RECV_H
#define QMIG_MIGRATION_MULTIFD_RECV_H

#include <stdbool.h>

#include "migration/multifd_wire.h"
#include "ram/guest_ram.h"
#include "util/error.h"

struct multifd_recv;

/* fail(opaque, err) takes err; it is called at most once. */
typedef void multifd_recv_fail_fn(void *opaque, struct error *err);
/* pending(opaque): whether a connection may still turn out to be a
 * channel (queued, or accepted and not yet told apart or ended). */
typedef bool multifd_recv_pending_fn(void *opaque);

struct multifd_recv *multifd_recv_new(unsigned channels,
				      enum multifd_method method,
				      struct guest_ram *ram,
				      multifd_recv_fail_fn *fail,
				      multifd_recv_pending_fn *pending,
				      void *opaque);

/* Runs one channel on fd until it ends (EOF at a packet boundary, an
 * error, or multifd_recv_stop); takes fd. */
void multifd_recv_run_channel(struct multifd_recv *mr, int fd);

/* The main stream's socket: while no channel has connected and no
 * connection is pending, a sync that finds it closed by the source fails
 * (a source without multifd would otherwise leave the destination waiting
 * for ever, as QEMU 7.2 does).  Sources open their channels before they
 * close the main stream, so by then every channel is pending or known;
 * 15 s of that state decide, for whatever may relay them late. */
void multifd_recv_set_main_fd(struct multifd_recv *mr, int fd);

/* At an EOS of the main stream: see above.  false (with *errp) when a
 * channel failed or closed before its sync packet, when the source closed
 * the main stream without opening any channel, or after stop. */
bool multifd_recv_sync(struct multifd_recv *mr, struct error **errp);

/* Ends every channel (shuts their sockets down) and releases a waiting
 * sync; any thread. */
void multifd_recv_stop(struct multifd_recv *mr);

/* After every multifd_recv_run_channel() has returned. */
void multifd_recv_free(struct multifd_recv *mr);

#endif
