/*
 * What a dirty page will cost on the wire: the running mean of the bytes
 * the stream took per page over the recent passes after the bulk one.
 *
 * QEMU 7.2 counts every dirty page at full size when it decides whether
 * the rest fits in downtime-limit.  With XBZRLE or compression a re-sent
 * page costs a few dozen bytes instead of 4 KiB, so that rule keeps a
 * migration live that could stop and copy the rest in milliseconds (the
 * seed workload at 8M: 16 MiB dirty, 150 KB on the wire).  The mean is over
 * whole sections (the compress pool drains at a section's end, so every
 * record of its pages is in), each section weighing its page count, and
 * the history halves at every sample, so a workload that changes is
 * followed within a few sections.  The bulk pass is not sampled: it
 * sends pages the guest never wrote (mostly zero), not what a pass of
 * dirtied pages costs; until a later section has been seen a page costs
 * what a raw PAGE record does.
 *
 * Threads: owned by the migration thread.
 */
#ifndef QMIG_MIGRATION_WIRE_ESTIMATE_H
#define QMIG_MIGRATION_WIRE_ESTIMATE_H

#include <stdint.h>

struct wire_estimate {
	double bytes; /* decayed sum of sampled sections' bytes */
	double pages; /* ... and of their pages */
};

/* One section after the bulk pass: `pages` pages took `bytes` bytes. */
void wire_estimate_sample(struct wire_estimate *e, uint64_t pages,
			  uint64_t bytes);

/* The bytes `pages` dirty pages are expected to take on the wire. */
uint64_t wire_estimate_bytes(const struct wire_estimate *e, uint64_t pages);

#endif
