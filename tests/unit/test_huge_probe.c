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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_touch_keeps_zero_ram),
		cmocka_unit_test(test_off_stores_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
