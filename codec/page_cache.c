/*
 * XBZRLE page cache: a direct-mapped table of page copies with QEMU 7.2's
 * replacement rule (see page_cache.h for the contract).  Single-threaded.
 */
#include "codec/page_cache.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE PAGE_CACHE_PAGE_SIZE
#define NO_ADDR UINT64_MAX /* address of an empty slot */

struct page_cache_slot {
	uint64_t addr; /* RAM address of the cached page, NO_ADDR if empty */
	uint64_t age;  /* sync count of the last insert or hit */
};

struct page_cache {
	struct page_cache_slot *slots; /* slot_count entries */
	uint8_t *data;                 /* slot_count pages, slot i at i * PAGE */
	uint64_t slot_count;           /* a power of two */
	uint64_t used;                 /* slots with addr != NO_ADDR */
};

static uint64_t round_down_pow2(uint64_t v)
{
	return v ? 1ull << (63 - __builtin_clzll(v)) : 0;
}

struct page_cache *page_cache_new(uint64_t size_bytes, struct error **errp)
{
	struct page_cache *cache;
	uint64_t slots = round_down_pow2(size_bytes / PAGE);
	void *data;

	if (!slots) {
		error_setf(errp, "XBZRLE cache size %llu is smaller than a "
			   "page (%d bytes)", (unsigned long long)size_bytes,
			   PAGE);
		return NULL;
	}
	if (slots > SIZE_MAX / PAGE ||
	    slots > SIZE_MAX / sizeof(struct page_cache_slot)) {
		error_setf_code(errp, ENOMEM, "XBZRLE cache size %llu is too "
				"large", (unsigned long long)size_bytes);
		return NULL;
	}
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		goto nomem;
	cache->slot_count = slots;
	/* The page mapping first: it is 256 times the slot table, and the
	 * kernel refuses a size no address space can hold before the slot
	 * table is asked of malloc (which a sanitizer's allocator would
	 * abort on rather than fail). */
	data = mmap(NULL, slots * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (data == MAP_FAILED)
		goto nomem;
	cache->data = data;
	cache->slots = malloc(slots * sizeof(*cache->slots));
	if (!cache->slots)
		goto nomem;
	for (uint64_t i = 0; i < slots; i++) {
		cache->slots[i].addr = NO_ADDR;
		cache->slots[i].age = 0;
	}
	return cache;

nomem:
	page_cache_free(cache);
	error_setf_code(errp, ENOMEM, "cannot allocate an XBZRLE cache of "
			"%llu bytes", (unsigned long long)size_bytes);
	return NULL;
}

void page_cache_free(struct page_cache *cache)
{
	if (!cache)
		return;
	if (cache->data)
		munmap(cache->data, cache->slot_count * PAGE);
	free(cache->slots);
	free(cache);
}

static uint64_t slot_of(const struct page_cache *cache, uint64_t addr)
{
	return (addr / PAGE) & (cache->slot_count - 1);
}

static uint8_t *slot_page(const struct page_cache *cache, uint64_t slot)
{
	return cache->data + slot * PAGE;
}

bool page_cache_lookup(struct page_cache *cache, uint64_t addr,
		       uint64_t sync_count, uint8_t **page)
{
	uint64_t s = slot_of(cache, addr);

	if (addr == NO_ADDR || cache->slots[s].addr != addr)
		return false;
	cache->slots[s].age = sync_count;
	if (page)
		*page = slot_page(cache, s);
	return true;
}

/* Whether a slot holding another address of age `age` may be taken over. */
static bool slot_expired(uint64_t age, uint64_t sync_count)
{
	return sync_count >= age &&
	       sync_count - age >= PAGE_CACHE_LIFETIME_SYNCS;
}

bool page_cache_insert(struct page_cache *cache, uint64_t addr,
		       const uint8_t *data, uint64_t sync_count,
		       uint8_t **page)
{
	uint64_t s = slot_of(cache, addr);
	struct page_cache_slot *slot = &cache->slots[s];
	uint8_t *copy = slot_page(cache, s);

	assert(addr != NO_ADDR);
	if (slot->addr != NO_ADDR && slot->addr != addr &&
	    !slot_expired(slot->age, sync_count))
		return false;
	if (slot->addr == NO_ADDR)
		cache->used++;
	if (data)
		memcpy(copy, data, PAGE);
	else
		memset(copy, 0, PAGE);
	slot->addr = addr;
	slot->age = sync_count;
	if (page)
		*page = copy;
	return true;
}

bool page_cache_resize(struct page_cache **cachep, uint64_t new_size_bytes,
		       struct error **errp)
{
	struct page_cache *old = *cachep, *new;

	if (round_down_pow2(new_size_bytes / PAGE) == old->slot_count)
		return true;
	new = page_cache_new(new_size_bytes, errp);
	if (!new)
		return false;
	for (uint64_t i = 0; i < old->slot_count; i++) {
		const struct page_cache_slot *from = &old->slots[i];
		struct page_cache_slot *to;
		uint64_t s;

		if (from->addr == NO_ADDR)
			continue;
		s = slot_of(new, from->addr);
		to = &new->slots[s];
		if (to->addr != NO_ADDR && to->age >= from->age)
			continue;
		if (to->addr == NO_ADDR)
			new->used++;
		memcpy(slot_page(new, s), slot_page(old, i), PAGE);
		*to = *from;
	}
	page_cache_free(old);
	*cachep = new;
	return true;
}

uint64_t page_cache_slots(const struct page_cache *cache)
{
	return cache->slot_count;
}

uint64_t page_cache_size_bytes(const struct page_cache *cache)
{
	return cache->slot_count * PAGE;
}

uint64_t page_cache_used(const struct page_cache *cache)
{
	return cache->used;
}
