/*
 * The XBZRLE page cache of the migration source: the copy of each page as it
 * was last sent, to encode the next version against (QEMU 7.2
 * codec/page_cache.c rules, shared/docs/qemu-7.2-stream.md §9.3).
 *
 * Rules:
 *   - direct-mapped: slots = size_bytes / 4096 rounded down to a power of
 *     two; address addr lives in slot (addr / 4096) mod slots;
 *   - a slot holds one page copy, its address and an age: the dirty-sync
 *     count of its last insert or hit;
 *   - a hit (page_cache_lookup() of the slot's own address) refreshes the
 *     age;
 *   - an insert into an empty slot or the slot's own address always
 *     succeeds; taking over a slot that holds another address is allowed
 *     only if its age + 2 <= the current sync count, else the insert fails
 *     and the cache is unchanged.
 * Addresses are RAM addresses (block offset + offset in the block) and
 * should be page aligned; the low 12 bits are ignored for the slot but are
 * part of the identity.
 *
 * Threads: none inside.  The migration thread owns the cache; nothing here
 * locks.  A resize requested through the monitor is recorded by the monitor
 * and applied by the migration thread at a safe point (between pages) with
 * page_cache_resize().
 *
 * Memory: the slot table is allocated at creation; page copies live in one
 * anonymous mapping that the kernel backs only when a slot is first used,
 * so an unused cache costs no RAM.  Sizes are capped by the caller
 * (the xbzrle-cache-size parameter); creation fails cleanly when the
 * allocation does.
 *
 * Differences from QEMU 7.2 (none visible on the wire): QEMU's cache_init()
 * rejects a size that is not a power of two number of pages (its parameter
 * check already does so, so the rounding here is never reached through the
 * monitor), and QEMU's resize builds an empty cache (and in 7.2 a resize
 * during migration is not even applied, §9.3), where page_cache_resize()
 * keeps the pages that still fit.
 */
#ifndef QMIG_CODEC_PAGE_CACHE_H
#define QMIG_CODEC_PAGE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/page.h"
#include "util/error.h"

#define PAGE_CACHE_PAGE_SIZE CODEC_PAGE_SIZE
/* a page survives two dirty syncs before another address may take its slot */
#define PAGE_CACHE_LIFETIME_SYNCS 2

struct page_cache;

/*
 * A cache of size_bytes (>= 4096; rounded down to a power of two number of
 * pages).  NULL with *errp set if the size is too small or memory cannot
 * be had.
 */
struct page_cache *page_cache_new(uint64_t size_bytes, struct error **errp);

void page_cache_free(struct page_cache *cache); /* NULL is fine */

/*
 * On a hit (addr is cached) stores the cached copy in *page (if page is
 * non-NULL), sets the slot's age to sync_count and returns true.  The copy
 * stays valid and writable until the next insert into that slot, resize or
 * free.  On a miss returns false and leaves *page alone.
 */
bool page_cache_lookup(struct page_cache *cache, uint64_t addr,
		       uint64_t sync_count, uint8_t **page);

/*
 * Stores a copy of data (PAGE_CACHE_PAGE_SIZE bytes; NULL stores a zero
 * page) for addr with age sync_count.  Returns false, changing nothing, if
 * the slot holds another address that is still fresh (age + 2 >
 * sync_count).  On success, *page (if non-NULL) is the cached copy (QEMU
 * sends a missed page from that copy).
 */
bool page_cache_insert(struct page_cache *cache, uint64_t addr,
		       const uint8_t *data, uint64_t sync_count,
		       uint8_t **page);

/*
 * Replaces *cache by a cache of new_size_bytes (rounded as for
 * page_cache_new()), moving every cached page into its slot of the new
 * cache with its age; when two pages want the same new slot the one with
 * the larger age stays (the first one on a tie).  Same slot count: nothing
 * happens.  On failure (*errp set, false) *cache is unchanged.
 */
bool page_cache_resize(struct page_cache **cache, uint64_t new_size_bytes,
		       struct error **errp);

/* Number of slots (a power of two). */
uint64_t page_cache_slots(const struct page_cache *cache);
/* Bytes of page copies the cache can hold (slots * CODEC_PAGE_SIZE). */
uint64_t page_cache_size_bytes(const struct page_cache *cache);
/* Slots in use. */
uint64_t page_cache_used(const struct page_cache *cache);

#endif
