#include "ram/huge_probe.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "util/bitmap.h"
#include "util/xalloc.h"

void huge_probe_init(struct huge_probe *hp, struct guest_ram *ram)
{
	memset(hp, 0, sizeof(*hp));
	hp->host = ram->host;
	hp->size_bytes = ram->size_bytes;
	uint64_t regions = (ram->size_bytes + GUEST_HUGE_PAGE_BYTES - 1) /
			   GUEST_HUGE_PAGE_BYTES;
	hp->touched = xcalloc(BITMAP_WORDS(regions), sizeof(uint64_t));
	atomic_init(&hp->on, true);
}

void huge_probe_off(struct huge_probe *hp)
{
	if (!atomic_exchange(&hp->on, false))
		return;
	/* Fails harmlessly (EINVAL) where THP is compiled out. */
	madvise(hp->host, hp->size_bytes, MADV_NOHUGEPAGE);
}

void huge_probe_release(struct huge_probe *hp)
{
	atomic_store(&hp->on, false);
	free((void *)hp->touched);
	hp->touched = NULL;
}


static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Folds a touch into the running mean (the newest weighs a quarter);
 * returns the new mean. */
static uint64_t mean_with(struct huge_probe *hp, uint64_t took, bool first)
{
	uint64_t old = atomic_load(&hp->mean_ns);
	uint64_t mean;
	do
		mean = first ? took : old - old / 4 + took / 4;
	while (!atomic_compare_exchange_weak(&hp->mean_ns, &old, mean));
	return mean;
}

void huge_probe_touch(struct huge_probe *hp, uint64_t offset)
{
	if (!atomic_load_explicit(&hp->on, memory_order_relaxed))
		return;
	atomic_fetch_add_explicit(&hp->stores, 1, memory_order_relaxed);
	uint64_t region = offset / GUEST_HUGE_PAGE_BYTES;
	if (atomic_bitmap_test_bit(hp->touched, region))
		return;
	/* One thread claims the region: the others write into it as it
	 * comes (the first fault there is as slow for them). */
	uint64_t bit = 1ULL << (region % BITS_PER_WORD);
	if (atomic_fetch_or_explicit(&hp->touched[region / BITS_PER_WORD], bit,
				     memory_order_relaxed) &
	    bit)
		return;
	/* The page is overwritten whole next: the byte does not stay.
	 * The thread's CPU time: a preempted touch is not a slow one (the
	 * host backing a cold page again counts, as our own CPU). */
	uint64_t t0 = thread_cpu_ns();
	*(volatile uint8_t *)(hp->host + offset) = 0;
	huge_probe_record(hp, thread_cpu_ns() - t0);
}

/* What the pages stored into each of the `before` regions touched before
 * the newest would have cost in 4 KiB faults (they are whole: a pass
 * stores in address order; the newest has its first store). */
static uint64_t small_pages_ns(struct huge_probe *hp, uint64_t before)
{
	uint64_t stores = atomic_load_explicit(&hp->stores,
					       memory_order_relaxed);
	uint64_t ns = (stores ? stores - 1 : 0) / before * HUGE_PROBE_SMALL_NS;
	return ns < HUGE_PROBE_COLD_NS ? ns : HUGE_PROBE_COLD_NS;
}

bool huge_probe_record(struct huge_probe *hp, uint64_t took_ns)
{
	uint64_t n = atomic_fetch_add(&hp->touches, 1);
	uint64_t mean = mean_with(hp, took_ns, n == 0);
	/* one cold region is enough: a pool that has some is mixed */
	if (took_ns <= HUGE_PROBE_COLD_NS &&
	    (n == 0 || mean <= small_pages_ns(hp, n)))
		return false;
	uint64_t none = 0;
	atomic_compare_exchange_strong(&hp->cold_ns, &none, took_ns);
	huge_probe_off(hp);
	return true;
}
