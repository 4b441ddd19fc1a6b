/*
 * huge_probe: the first store into each 2 MiB region of a loader's RAM
 * leaves the RAM's content as it was, happens once a region, and none
 * happens once the probe is off (mincore: the page is not faulted in).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "ram/guest_ram.h"
#include "ram/huge_probe.h"
#include "util/buffer_zero.h"

#define RAM_BYTES (4 * GUEST_HUGE_PAGE_BYTES)

static bool resident(const uint8_t *host, uint64_t offset)
{
	unsigned char vec = 0;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	assert_int_equal(mincore((void *)(host + offset / page * page), page,
				 &vec),
			 0);
	return vec & 1;
}

static void test_touch_keeps_zero_ram(void **state)
{
	(void)state;
	struct guest_ram ram;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, NULL), 0);
	struct huge_probe hp;
	huge_probe_init(&hp, &ram);
	uint64_t at = GUEST_HUGE_PAGE_BYTES + 5 * GUEST_PAGE_SIZE;
	assert_false(resident(ram.host, at));
	huge_probe_touch(&hp, at);
	assert_true(resident(ram.host, at));
	assert_true(buffer_is_zero(ram.host, RAM_BYTES));
	/* once a region: a second page of it is not stored into */
	ram.host[at] = 0x5a;
	huge_probe_touch(&hp, at);
	assert_int_equal(ram.host[at], 0x5a);
	huge_probe_release(&hp);
	guest_ram_release(&ram);
}

static void test_off_stores_nothing(void **state)
{
	(void)state;
	struct guest_ram ram;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, NULL), 0);
	struct huge_probe hp;
	huge_probe_init(&hp, &ram);
	huge_probe_off(&hp);
	huge_probe_off(&hp); /* twice is fine */
	uint64_t at = 3 * GUEST_HUGE_PAGE_BYTES;
	huge_probe_touch(&hp, at);
	assert_false(resident(ram.host, at));
	assert_int_equal(hp.cold_ns, 0);
	huge_probe_release(&hp);
	guest_ram_release(&ram);
}

/* A cold touch turns huge pages off at once; lukewarm ones, once their
 * running mean costs more than the stores per region would in 4 KiB
 * faults: for sparse regions, not for dense ones. */
static void record(struct huge_probe *hp, uint64_t pages, uint64_t took_ns,
		   bool off)
{
	atomic_fetch_add(&hp->stores, pages);
	assert_int_equal(huge_probe_record(hp, took_ns), off);
}

static void test_cold_decision(void **state)
{
	(void)state;
	struct guest_ram ram;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, NULL), 0);
	struct huge_probe hp;

	/* idle guest: 154 pages a region, 4 KiB pages ~0.62 ms of them */
	huge_probe_init(&hp, &ram);
	record(&hp, 1, 250000, false);
	for (int i = 0; i < 4; i++)
		record(&hp, 154, 300000, false);
	record(&hp, 154, 1000000, false);  /* one lukewarm: mean 0.46 ms */
	record(&hp, 154, 1000000, false);  /* two: 0.60 ms, under 0.62 */
	record(&hp, 154, 1000000, true);   /* three: 0.70 ms */
	assert_int_equal(hp.cold_ns, 1000000);
	/* off: touches store nothing */
	uint64_t at = 2 * GUEST_HUGE_PAGE_BYTES;
	huge_probe_touch(&hp, at);
	assert_false(resident(ram.host, at));
	huge_probe_release(&hp);

	/* idle image: 474 pages a region (~1.9 ms): lukewarm pays; one
	 * cold touch does not */
	huge_probe_init(&hp, &ram);
	for (int i = 0; i < 8; i++)
		record(&hp, i ? 474 : 1, 1000000, false);
	record(&hp, 474, HUGE_PROBE_COLD_NS + 1, true);
	huge_probe_release(&hp);

	/* a cold first touch */
	huge_probe_init(&hp, &ram);
	record(&hp, 1, 6000000, true);
	huge_probe_release(&hp);
	guest_ram_release(&ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_touch_keeps_zero_ram),
		cmocka_unit_test(test_off_stores_nothing),
		cmocka_unit_test(test_cold_decision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
