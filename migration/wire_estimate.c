#include "migration/wire_estimate.h"

#include "migration/ram_wire.h"

/* Until a pass after the bulk one was seen: a PAGE record. */
#define RAW_PAGE_WIRE_BYTES (RAM_RECORD_HEADER_BYTES + RAM_PAGE_SIZE)

void wire_estimate_sample(struct wire_estimate *e, uint64_t pages,
			  uint64_t bytes)
{
	if (!pages)
		return;
	e->bytes = e->bytes / 2 + (double)bytes;
	e->pages = e->pages / 2 + (double)pages;
}

uint64_t wire_estimate_bytes(const struct wire_estimate *e, uint64_t pages)
{
	if (e->pages < 1)
		return pages * RAW_PAGE_WIRE_BYTES;
	return (uint64_t)((double)pages * e->bytes / e->pages);
}
