#include "migration/wire_estimate.h"

#include "migration/ram_wire.h"

/* Until a pass after the bulk one was seen: a PAGE record. */
#define RAW_PAGE_WIRE_BYTES (RAM_RECORD_HEADER_BYTES + RAM_PAGE_SIZE)

void wire_estimate_sample(struct wire_estimate *e, uint64_t pages,
			  uint64_t bytes)
{
	e->pass_pages += pages;
	e->pass_bytes += bytes;
}

void wire_estimate_end_pass(struct wire_estimate *e)
{
	if (!e->pass_pages)
		return; /* nothing sampled: the history stands */
	e->bytes = e->bytes / 2 + (double)e->pass_bytes;
	e->pages = e->pages / 2 + (double)e->pass_pages;
	e->pass_bytes = 0;
	e->pass_pages = 0;
}

uint64_t wire_estimate_bytes(const struct wire_estimate *e, uint64_t pages)
{
	double all_pages = e->pages + (double)e->pass_pages;
	if (all_pages < 1)
		return pages * RAW_PAGE_WIRE_BYTES;
	double all_bytes = e->bytes + (double)e->pass_bytes;
	return (uint64_t)((double)pages * all_bytes / all_pages);
}
