#include "tests/unit/lib/test_ram.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "util/bitmap.h"
#include "util/xalloc.h"

#define PAGE GUEST_PAGE_SIZE

void guarded_ram_init(struct guarded_ram *g, uint64_t bytes)
{
	assert_true(bytes && bytes % PAGE == 0);
	memset(g, 0, sizeof(*g));
	g->map_bytes = bytes + 2 * PAGE;
	g->map = mmap(NULL, g->map_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map, PAGE, PROT_NONE), 0);
	assert_int_equal(mprotect(g->map + PAGE + bytes, PAGE, PROT_NONE), 0);
	g->ram.host = g->map + PAGE;
	g->ram.size_bytes = bytes;
	g->ram.npages = bytes / PAGE;
	g->ram.dirty_log = xcalloc(BITMAP_WORDS(g->ram.npages),
				   sizeof(uint64_t));
	g->ram.pristine = true;
}

void guarded_ram_release(struct guarded_ram *g)
{
	munmap(g->map, g->map_bytes);
	free((void *)g->ram.dirty_log);
	memset(g, 0, sizeof(*g));
}

uint64_t test_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

void page_fill(uint8_t *p, enum page_kind kind, uint64_t *seed)
{
	switch (kind) {
	case PAGE_KIND_ZERO:
		memset(p, 0, PAGE);
		break;
	case PAGE_KIND_BYTE:
		memset(p, 1 + (int)(test_rnd(seed) % 255), PAGE);
		break;
	case PAGE_KIND_TEXT:
		for (unsigned i = 0; i < PAGE; i++)
			p[i] = "migrate the guest "[test_rnd(seed) % 18];
		break;
	case PAGE_KIND_SPARSE:
		memset(p, 0, PAGE);
		for (unsigned i = 0; i < 32; i++)
			p[test_rnd(seed) % PAGE] = 1 | (uint8_t)test_rnd(seed);
		break;
	default:
		for (unsigned i = 0; i < PAGE; i += 8) {
			uint64_t v = test_rnd(seed);
			memcpy(p + i, &v, 8);
		}
		break;
	}
}

void ram_fill_mixed(struct guest_ram *ram, uint64_t seed)
{
	for (uint64_t i = 0; i < ram->npages; i++)
		page_fill(ram->host + i * PAGE,
			  (enum page_kind)(i % PAGE_KIND__COUNT), &seed);
	ram->pristine = false;
}

void ram_write_page(struct guest_ram *ram, uint64_t page, enum page_kind kind,
		    uint64_t *seed)
{
	page_fill(ram->host + page * PAGE, kind, seed);
	ram->pristine = false;
	guest_ram_mark_dirty(ram, page * PAGE, PAGE);
}

int64_t ram_first_difference(const struct guest_ram *a,
			     const struct guest_ram *b)
{
	assert_int_equal(a->size_bytes, b->size_bytes);
	for (uint64_t i = 0; i < a->npages; i++)
		if (memcmp(a->host + i * PAGE, b->host + i * PAGE, PAGE))
			return (int64_t)i;
	return -1;
}
