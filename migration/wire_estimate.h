/*
 * What a dirty page will cost on the wire: the running mean of the bytes
 * the stream took per page over the recent passes after the bulk one.
 *
 * QEMU 7.2 counts every dirty page at full size when it decides whether
 * the rest fits in downtime-limit.  With XBZRLE or compression a re-sent
 * page costs a few dozen bytes instead of 4 KiB, so that rule keeps a
 * migration live that could stop and copy the rest in milliseconds (the
 * seed workload at 8M: 16 MiB dirty, 150 KB on the wire).
 *
 * Samples are whole sections (the compress pool drains at a section's end,
 * so every record of its pages is in), each weighing its page count.  The
 * history decays by passes, not sections: at each dirty sync the pass just
 * sent is folded in and the older ones halve.  A rate limit cuts a pass
 * into sections of a few hundred pages, and a mean that forgot per section
 * followed whatever those last pages were: a stretch of pages that happened
 * to be zero (the seed workload's bytes wrap to 0 every 256 rounds) once
 * made 16 MiB of dirty pages look like 800 KB, and the stop-and-copy took
 * five times downtime-limit.  A pass is every page the guest dirtied, the
 * thing the estimate is about, and a workload that changes is still
 * followed within a few passes.  The bulk pass is not sampled: it sends
 * pages the guest never wrote (mostly zero), not what a pass of dirtied
 * pages costs; until a later section has been seen a page costs what a
 * raw PAGE record does.
 *
 * Threads: owned by the migration thread.
 */
#ifndef QMIG_MIGRATION_WIRE_ESTIMATE_H
#define QMIG_MIGRATION_WIRE_ESTIMATE_H

#include <stdint.h>

struct wire_estimate {
	double bytes;        /* decayed sum of the folded passes' bytes */
	double pages;        /* ... and of their pages */
	uint64_t pass_bytes; /* the pass being sent, so far */
	uint64_t pass_pages;
};

/* One section after the bulk pass: `pages` pages took `bytes` bytes. */
void wire_estimate_sample(struct wire_estimate *e, uint64_t pages,
			  uint64_t bytes);

/* A dirty sync: the pass sent so far joins the history. */
void wire_estimate_end_pass(struct wire_estimate *e);

/* The bytes `pages` dirty pages are expected to take on the wire: the
 * history and the pass being sent, together. */
uint64_t wire_estimate_bytes(const struct wire_estimate *e, uint64_t pages);

#endif
