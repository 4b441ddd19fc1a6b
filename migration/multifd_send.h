/*
 * The source's multifd channels (QEMU 7.2's multifd_send_*): N extra
 * connections to the migration URI, each opened with the handshake, each
 * carrying packets of up to 128 normal pages.  The `ram` code queues
 * pages here instead of writing PAGE records; zero pages and everything
 * else stay on the main stream, as in 7.2.
 *
 * Sync (7.2's multifd_send_sync_main): before each `ram` section's EOS the
 * migration thread sends the partly filled packet, then one packet with
 * MULTIFD_FLAG_SYNC and no pages on every channel.  The destination holds
 * each channel at its sync packet until the main stream reaches that EOS,
 * so a page's later copy (on any channel or as a ZERO record) always
 * lands after its earlier ones.  QEMU 7.2 waits until every SYNC is
 * written; qmig only queues them (each channel writes its packets in
 * order, the next section's behind the SYNC), so the migration thread
 * scans on while a channel still writes, and waits for the writes only
 * before the switch-over (multifd_send_wait_written) and at the last sync.
 * A channel holds up to MULTIFD_SCHED_AHEAD packets of pages, QEMU's one
 * (multifd_sched.h).
 *
 * DESIGN
 * Threads: the migration thread queues and syncs; one sender thread per
 * channel connects, writes the handshake, then waits for a job (a packet
 * to build and send), compresses with its own codec and writes.  `lock`
 * guards the job queues, `quit` and `err`; `work` wakes the channels and
 * `done` the migration thread.  Counters are atomics.  Any thread's
 * failure sets `err` (the first one), `quit`, and shuts every channel
 * and the main stream down so that nobody stays blocked; shutdown() may
 * be called from any thread (migrate_cancel).
 * Accounting: each channel adds the bytes it wrote (header and payload,
 * compressed as they went) to transferred, precopy or downtime bytes and
 * multifd bytes.  QEMU 7.2 counts a packet at its uncompressed size
 * before it is sent; qmig counts what reached the wire.
 */
#ifndef QMIG_MIGRATION_MULTIFD_SEND_H
#define QMIG_MIGRATION_MULTIFD_SEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/mig_stats.h"
#include "migration/multifd_wire.h"
#include "migration/qemu_file.h"
#include "migration/transport.h"
#include "ram/guest_ram.h"
#include "util/error.h"

struct multifd_send_config {
	unsigned channels;          /* multifd-channels */
	enum multifd_method method; /* multifd-compression */
	int level;                  /* the method's level */
	bool zero_copy;             /* zero-copy-send (method none, tcp) */
};

struct multifd_send;

/*
 * Starts the channel threads, which connect to addr (tcp or unix) in the
 * background; the main stream main is shut down too when a channel fails.
 * Returns NULL with *errp only when a thread cannot be created.
 */
struct multifd_send *multifd_send_start(const struct transport_addr *addr,
					const struct multifd_send_config *cfg,
					struct guest_ram *ram,
					struct mig_stats *stats,
					const atomic_bool *guest_running,
					struct qemu_file *main,
					struct error **errp);

/* Queues the page at byte offset; a full packet goes to the next free
 * channel (waiting for one).  false once the channels failed. */
bool multifd_send_queue_page(struct multifd_send *mf, uint64_t offset);

/* The sync point before an EOS (see above): the partly filled packet and
 * a SYNC on every channel queued; with written, returns once all are
 * written.  false once they failed. */
bool multifd_send_sync(struct multifd_send *mf, bool written);

/* Returns once every channel wrote the packets it holds (false once
 * they failed or were shut down).  The switch-over waits so before it
 * stops the guest: the pages queued on the channels are compressed and
 * written while the guest still runs, not in the downtime. */
bool multifd_send_wait_written(struct multifd_send *mf);

/* Bytes the channels wrote so far, and bytes of pages handed to them
 * and not yet written (at their uncompressed size). */
uint64_t multifd_send_wire_bytes(struct multifd_send *mf);
uint64_t multifd_send_pending_bytes(struct multifd_send *mf);

/*
 * Once the destination has the stream: waits (at most a second) until it
 * has closed every channel, and a channel it reset (closed with bytes
 * unread, as one that failed does) fails the migration, as a failed
 * write would have.  A destination that failed over a channel after the
 * main stream had loaded (one channel too many, seen late) shows so.
 * Without the return path nothing else tells a source that the
 * destination gave up once every byte was in the kernel's buffers: the
 * source would report completed and stop a guest that then runs nowhere.
 * true if one was reset (the channels have failed then).
 */
bool multifd_send_reset_by_peer(struct multifd_send *mf);

/* The first channel error, copied into *errp; false if none. */
bool multifd_send_failed(struct multifd_send *mf, struct error **errp);

/* Makes every blocked channel call return (any thread). */
void multifd_send_shutdown(struct multifd_send *mf);

/* Stops the threads, closes the channels, frees (NULL is fine). */
void multifd_send_finish(struct multifd_send *mf);

#endif
