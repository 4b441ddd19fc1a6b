/*
 * Where the source's next packet of pages goes, and what the packets the
 * channels hold will cost on the wire (migration/multifd_send.c).
 *
 * A channel may hold MULTIFD_SCHED_AHEAD packets of pages, not only the
 * one it works on (QEMU 7.2 hands a packet only to an idle channel): the
 * migration thread shares the cores with both ends' threads, and a
 * channel that waited for it to be scheduled after each packet sat idle;
 * with packets queued ahead, the scan of a long run of zero pages (which
 * gives the channels nothing) overlaps with the compression of the pages
 * before it (docs/multifd.md, "Where the time goes").
 */
#ifndef QMIG_MIGRATION_MULTIFD_SCHED_H
#define QMIG_MIGRATION_MULTIFD_SCHED_H

#include <stdint.h>

#define MULTIFD_SCHED_AHEAD 8

/* What one channel holds. */
struct multifd_sched_load {
	unsigned page_jobs; /* packets with pages, the one in work included */
	unsigned jobs;      /* every packet, SYNC packets included */
};

/*
 * The channel for the next packet of pages among n: the one with the
 * fewest packets of pages, below MULTIFD_SCHED_AHEAD and with fewer than
 * queue_len packets; on a tie the first from `next` on (round robin).
 * Returns n when every channel is full.
 */
unsigned multifd_sched_pick(const struct multifd_sched_load *load, unsigned n,
			    unsigned next, unsigned queue_len);

/*
 * What pending_raw bytes of pages handed to channels and not yet written
 * will take on the wire, at the ratio of the packets written so far
 * (raw_done bytes of pages went as wire_done bytes); their raw size until
 * a packet was written.  Rounded up, so that a limited window counts a
 * queued packet at least at what its forerunners took.
 */
uint64_t multifd_sched_pending_wire(uint64_t pending_raw, uint64_t raw_done,
				    uint64_t wire_done);

#endif
