/*
 * Guest RAM for unit tests: a struct guest_ram between two PROT_NONE
 * guard pages (a write outside it crashes the test at once, as in
 * tests/fuzz/fuzz_ram_load.c), page contents of the kinds guests have, and
 * comparison.  Seeded: a failure replays.
 */
#ifndef QMIG_TESTS_UNIT_LIB_TEST_RAM_H
#define QMIG_TESTS_UNIT_LIB_TEST_RAM_H

#include <stddef.h>
#include <stdint.h>

#include "ram/guest_ram.h"

struct guarded_ram {
	struct guest_ram ram; /* ram.host is inside map, past one guard page */
	uint8_t *map;         /* guard | RAM | guard */
	size_t map_bytes;
};

/* Zeroed RAM of `bytes` (a multiple of 4096), pristine, with a dirty log. */
void guarded_ram_init(struct guarded_ram *g, uint64_t bytes);
void guarded_ram_release(struct guarded_ram *g);

enum page_kind {
	PAGE_KIND_ZERO,
	PAGE_KIND_BYTE,   /* one non-zero byte value, compresses to nothing */
	PAGE_KIND_TEXT,   /* letters: compresses, XBZRLE-friendly edits */
	PAGE_KIND_SPARSE, /* zeros with a few random bytes */
	PAGE_KIND_RANDOM, /* incompressible */
	PAGE_KIND__COUNT
};

/* xorshift64*: the next value of *seed's sequence. */
uint64_t test_rnd(uint64_t *seed);

void page_fill(uint8_t *page, enum page_kind kind, uint64_t *seed);

/* Page i gets kind i % PAGE_KIND__COUNT; nothing is marked dirty. */
void ram_fill_mixed(struct guest_ram *ram, uint64_t seed);

/* Stores new content into page `page` as a guest would: data, then the
 * dirty log. */
void ram_write_page(struct guest_ram *ram, uint64_t page, enum page_kind kind,
		    uint64_t *seed);

/* Index of the first page that differs between a and b (same size), or
 * -1 when they are equal. */
int64_t ram_first_difference(const struct guest_ram *a,
			     const struct guest_ram *b);

#endif
