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
 * A page keeps the copy of the newest packet (page_packet), whichever
 * channel is faster: pages are written under one of PAGE_STRIPES locks.
 * A channel reads (without compression) or inflates (zlib, zstd) a page
 * straight into RAM when the packet is the newest yet to bring it and no
 * other channel is writing into it (marked busy in page_packet meanwhile,
 * waited for by any other copy), else into its own bounce buffer, from
 * which the page is copied if it is still the newest.
 *
 * The loader's known-zero map and huge probe (multifd_recv_attach): a
 * channel clears the bit of each page it stores, and probes huge pages at
 * the first store into a region.  A ZERO record on the main stream and a
 * packet for the same page are in different sections, so the sync at
 * the EOS between them orders the bit's clear (or the page's store) and
 * its test; the bit operations are atomic only because other pages share
 * the word.
 *
 * A channel error goes to the fail
 * callback once (the first error wins), and sets quit so that a waiting
 * sync returns false.
 */
#ifndef QMIG_MIGRATION_MULTIFD_RECV_H
#define QMIG_MIGRATION_MULTIFD_RECV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/multifd_wire.h"
#include "ram/guest_ram.h"
#include "ram/huge_probe.h"
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

/* Fewer connections than channels were handed to it (and it runs): one
 * more, whatever it holds, is a channel whose handshake it must read. */
bool multifd_recv_channel_missing(struct multifd_recv *mr);

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

/*
 * Shares the loader's known-zero map (ram_load.h; NULL: none) and huge
 * probe (ram/huge_probe.h), which must outlive every channel: the
 * channels clear the bit of every page they store and probe the first
 * store into each huge page.  The loader may go on with the map only if
 * this returns true: false means a channel had already stored pages the
 * map does not know of (the channels still clear bits in it).
 */
bool multifd_recv_attach(struct multifd_recv *mr, _Atomic uint64_t *known_zero,
			 struct huge_probe *huge);

/* After every multifd_recv_run_channel() has returned. */
void multifd_recv_free(struct multifd_recv *mr);

#endif
