#include "migration/bandwidth_estimate.h"

void bandwidth_estimate_window(struct bandwidth_estimate *b, uint64_t bytes,
			       double ms, bool starved,
			       uint64_t limit_bytes_per_s)
{
	double measured = ms > 0 ? (double)bytes / ms : 0;
	if (!starved || measured >= b->bytes_per_ms) {
		b->bytes_per_ms = measured;
		return;
	}
	double limit = (double)limit_bytes_per_s / 1000;
	if (limit_bytes_per_s && b->bytes_per_ms > limit)
		b->bytes_per_ms = measured > limit ? measured : limit;
}
