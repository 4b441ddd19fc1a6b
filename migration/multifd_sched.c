#include "migration/multifd_sched.h"

unsigned multifd_sched_pick(const struct multifd_sched_load *load, unsigned n,
			    unsigned next, unsigned queue_len)
{
	unsigned best = n;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (next + k) % n;
		if (load[i].page_jobs >= MULTIFD_SCHED_AHEAD ||
		    load[i].jobs >= queue_len)
			continue;
		if (best == n || load[i].page_jobs < load[best].page_jobs)
			best = i;
	}
	return best;
}

uint64_t multifd_sched_pending_wire(uint64_t pending_raw, uint64_t raw_done,
				    uint64_t wire_done)
{
	if (!raw_done || !pending_raw)
		return pending_raw;
	/* In 128-bit: a migration's byte counts times a few MiB pending
	 * would overflow 64 bits after a few TiB. */
	unsigned __int128 num = (unsigned __int128)pending_raw * wire_done;
	return (uint64_t)((num + raw_done - 1) / raw_done);
}
