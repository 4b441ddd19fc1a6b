/*
 * XBZRLE page cache: slot count, slot mapping, hits refreshing the age, the
 * two-sync replacement rule, zero pages, resize keeping what fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/page_cache.h"

#define PAGE PAGE_CACHE_PAGE_SIZE

static void fill(uint8_t *page, uint8_t v)
{
	memset(page, v, PAGE);
}

/* Whether addr is cached with content all `v` (a lookup: refreshes age). */
static bool holds(struct page_cache *c, uint64_t addr, uint64_t sync,
		  uint8_t v)
{
	uint8_t *p = NULL;

	if (!page_cache_lookup(c, addr, sync, &p))
		return false;
	for (int i = 0; i < PAGE; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_sizes(void **state)
{
	struct error *err = NULL;
	struct page_cache *c;

	assert_null(page_cache_new(0, &err));
	assert_non_null(err);
	error_free(err);
	err = NULL;
	assert_null(page_cache_new(4095, &err));
	assert_non_null(err);
	error_free(err);
	err = NULL;
	assert_null(page_cache_new(100, NULL)); /* errp may be NULL */

	c = page_cache_new(4096, &err);
	assert_non_null(c);
	assert_null(err);
	assert_int_equal(page_cache_slots(c), 1);
	page_cache_free(c);

	/* rounded down to a power of two number of pages */
	c = page_cache_new(5 * 4096 + 100, NULL);
	assert_int_equal(page_cache_slots(c), 4);
	assert_int_equal(page_cache_size_bytes(c), 4 * 4096);
	page_cache_free(c);

	/* 64 MiB (QEMU's default) costs nothing until used */
	c = page_cache_new(64ull << 20, NULL);
	assert_int_equal(page_cache_slots(c), 16384);
	assert_int_equal(page_cache_used(c), 0);
	page_cache_free(c);
	page_cache_free(NULL);
}

static void test_lookup_insert(void **state)
{
	struct page_cache *c = page_cache_new(16 * 4096, NULL);
	uint8_t data[PAGE], *copy = NULL, *p = NULL;

	assert_false(page_cache_lookup(c, 0, 1, &p));
	assert_null(p);
	fill(data, 0x5a);
	assert_true(page_cache_insert(c, 0x3000, data, 1, &copy));
	assert_non_null(copy);
	assert_ptr_not_equal(copy, data);
	assert_memory_equal(copy, data, PAGE);
	fill(data, 0x00); /* the cache keeps its own copy */
	assert_true(holds(c, 0x3000, 1, 0x5a));
	assert_int_equal(page_cache_used(c), 1);
	/* same slot, other address: a miss */
	assert_false(page_cache_lookup(c, 0x3000 + 16 * 4096, 1, NULL));
	assert_false(page_cache_lookup(c, 0x4000, 1, NULL));
	/* the lookup hands out the cached copy, writable in place */
	assert_true(page_cache_lookup(c, 0x3000, 1, &p));
	assert_ptr_equal(p, copy);
	p[0] = 0x77;
	assert_true(page_cache_lookup(c, 0x3000, 1, &p));
	assert_int_equal(p[0], 0x77);
	/* re-inserting the same address always works and overwrites */
	fill(data, 0x66);
	assert_true(page_cache_insert(c, 0x3000, data, 1, NULL));
	assert_true(holds(c, 0x3000, 1, 0x66));
	assert_int_equal(page_cache_used(c), 1);
	/* NULL data is a zero page */
	assert_true(page_cache_insert(c, 0x3000, NULL, 1, NULL));
	assert_true(holds(c, 0x3000, 1, 0x00));
	page_cache_free(c);
}

/* slot = (addr / 4096) mod slots */
static void test_slot_mapping(void **state)
{
	struct page_cache *c = page_cache_new(8 * 4096, NULL);
	uint8_t data[PAGE];

	for (uint64_t i = 0; i < 8; i++) {
		fill(data, (uint8_t)(i + 1));
		assert_true(page_cache_insert(c, i * 4096, data, 5, NULL));
	}
	assert_int_equal(page_cache_used(c), 8);
	for (uint64_t i = 0; i < 8; i++)
		assert_true(holds(c, i * 4096, 5, (uint8_t)(i + 1)));
	/* 8 pages on: the slot of page 0, still fresh at sync 6 */
	fill(data, 0xee);
	assert_false(page_cache_insert(c, 8 * 4096, data, 6, NULL));
	assert_true(holds(c, 0, 6, 1));
	/* a large address maps by its page number too */
	assert_false(page_cache_insert(c, (1ull << 40) + 3 * 4096, data, 6,
				       NULL));
	assert_true(holds(c, 3 * 4096, 6, 4));
	page_cache_free(c);
}

/* Another address may take a slot only when age + 2 <= sync count. */
static void test_aging(void **state)
{
	struct page_cache *c = page_cache_new(4096, NULL); /* one slot */
	uint8_t a[PAGE], b[PAGE];

	fill(a, 0xaa);
	fill(b, 0xbb);
	assert_true(page_cache_insert(c, 0x1000, a, 3, NULL));
	assert_false(page_cache_insert(c, 0x2000, b, 3, NULL));
	assert_false(page_cache_insert(c, 0x2000, b, 4, NULL));
	assert_true(holds(c, 0x1000, 3, 0xaa)); /* a hit at 3: age stays 3 */
	assert_true(page_cache_insert(c, 0x2000, b, 5, NULL)); /* 3 + 2 <= 5 */
	assert_true(holds(c, 0x2000, 5, 0xbb));
	assert_false(page_cache_lookup(c, 0x1000, 5, NULL));

	/* a hit refreshes the age and so protects the page */
	assert_true(page_cache_lookup(c, 0x2000, 6, NULL)); /* age 6 */
	assert_false(page_cache_insert(c, 0x1000, a, 7, NULL));
	assert_true(page_cache_lookup(c, 0x2000, 7, NULL)); /* age 7 */
	assert_false(page_cache_insert(c, 0x1000, a, 8, NULL));
	assert_true(page_cache_insert(c, 0x1000, a, 9, NULL));

	/* a failed insert changes nothing, not even the age */
	assert_false(page_cache_insert(c, 0x2000, b, 10, NULL));
	assert_true(page_cache_insert(c, 0x2000, b, 11, NULL));

	/* re-inserting the own address refreshes the age */
	assert_true(page_cache_insert(c, 0x2000, b, 20, NULL));
	assert_false(page_cache_insert(c, 0x1000, a, 21, NULL));
	assert_true(page_cache_insert(c, 0x1000, a, 22, NULL));

	/* a sync count going backwards never frees a slot */
	assert_false(page_cache_insert(c, 0x2000, b, 0, NULL));
	page_cache_free(c);
}

static void test_resize(void **state)
{
	struct page_cache *c = page_cache_new(8 * 4096, NULL), *before;
	struct error *err = NULL;
	uint8_t data[PAGE];

	for (uint64_t i = 0; i < 8; i++) {
		fill(data, (uint8_t)(i + 1));
		/* ages 10..17: page i has age 10 + i */
		assert_true(page_cache_insert(c, i * 4096, data, 10 + i, NULL));
	}
	/* same slot count: no change at all */
	before = c;
	assert_true(page_cache_resize(&c, 8 * 4096 + 4000, NULL));
	assert_ptr_equal(c, before);

	/* a failed resize keeps the cache */
	assert_false(page_cache_resize(&c, 100, &err));
	assert_non_null(err);
	error_free(err);
	assert_ptr_equal(c, before);

	/* A size no address space holds (`xbzrle-cache-size 1E`): refused
	 * with ENOMEM and the size, the cache kept, and no sanitizer's
	 * allocator asked for the slot table. */
	err = NULL;
	assert_false(page_cache_resize(&c, 1ULL << 60, &err));
	assert_non_null(err);
	assert_int_equal(err->code, ENOMEM);
	assert_string_equal(err->msg, "cannot allocate an XBZRLE cache of "
				      "1152921504606846976 bytes");
	error_free(err);
	assert_ptr_equal(c, before);

	/* grow: everything stays, with its age */
	assert_true(page_cache_resize(&c, 32 * 4096, NULL));
	assert_int_equal(page_cache_slots(c), 32);
	assert_int_equal(page_cache_used(c), 8);
	for (uint64_t i = 0; i < 8; i++) {
		uint8_t *p;

		assert_true(page_cache_lookup(c, i * 4096, 10 + i, &p));
		assert_int_equal(p[100], i + 1);
	}
	/* ages survived: page 7 (age 17) still blocks page 7 + 32 at 18 */
	assert_false(page_cache_insert(c, 39 * 4096, data, 18, NULL));
	assert_true(page_cache_insert(c, 39 * 4096, data, 19, NULL));
	assert_true(page_cache_insert(c, 7 * 4096, NULL, 19, NULL) == false);

	/* shrink to 2 slots: the youngest page of each slot stays */
	page_cache_free(c);
	c = page_cache_new(8 * 4096, NULL);
	for (uint64_t i = 0; i < 8; i++) {
		fill(data, (uint8_t)(i + 1));
		assert_true(page_cache_insert(c, i * 4096, data, 10 + i, NULL));
	}
	assert_true(page_cache_resize(&c, 2 * 4096, NULL));
	assert_int_equal(page_cache_slots(c), 2);
	assert_int_equal(page_cache_used(c), 2);
	assert_true(holds(c, 6 * 4096, 30, 7)); /* even slot: page 6 (age 16) */
	assert_true(holds(c, 7 * 4096, 30, 8)); /* odd slot: page 7 (age 17) */
	assert_false(page_cache_lookup(c, 0, 30, NULL));
	assert_false(page_cache_lookup(c, 5 * 4096, 30, NULL));

	/* shrink with equal ages: the first page of the slot stays */
	page_cache_free(c);
	c = page_cache_new(4 * 4096, NULL);
	for (uint64_t i = 0; i < 4; i++) {
		fill(data, (uint8_t)(i + 1));
		assert_true(page_cache_insert(c, i * 4096, data, 1, NULL));
	}
	assert_true(page_cache_resize(&c, 4096, NULL));
	assert_int_equal(page_cache_used(c), 1);
	assert_true(holds(c, 0, 1, 1));
	page_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_lookup_insert),
		cmocka_unit_test(test_slot_mapping),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_resize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
