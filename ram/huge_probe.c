#include "ram/huge_probe.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/bitmap.h"
#include "util/clock.h"
#include "util/xalloc.h"

void huge_probe_init(struct huge_probe *hp, struct guest_ram *ram)
{
	memset(hp, 0, sizeof(*hp));
	hp->host = ram->host;
	hp->size_bytes = ram->size_bytes;
	uint64_t regions = (ram->size_bytes + GUEST_HUGE_PAGE_BYTES - 1) /
			   GUEST_HUGE_PAGE_BYTES;
	hp->touched = xcalloc(BITMAP_WORDS(regions), sizeof(uint64_t));
}

void huge_probe_off(struct huge_probe *hp)
{
	if (!hp->touched)
		return;
	/* Fails harmlessly (EINVAL) where THP is compiled out. */
	madvise(hp->host, hp->size_bytes, MADV_NOHUGEPAGE);
	free(hp->touched);
	hp->touched = NULL;
}

void huge_probe_release(struct huge_probe *hp)
{
	free(hp->touched);
	hp->touched = NULL;
}

void huge_probe_touch(struct huge_probe *hp, uint64_t offset)
{
	if (!hp->touched)
		return;
	uint64_t region = offset / GUEST_HUGE_PAGE_BYTES;
	if (bitmap_test_bit(hp->touched, region))
		return;
	bitmap_set_bit(hp->touched, region);
	/* The page is overwritten whole next: the byte does not stay. */
	int64_t t0 = clock_now_ns();
	*(volatile uint8_t *)(hp->host + offset) = 0;
	int64_t took = clock_now_ns() - t0;
	if (took > HUGE_PROBE_COLD_NS) {
		hp->cold_ns = (uint64_t)took;
		huge_probe_off(hp);
	}
}
