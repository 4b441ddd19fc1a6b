#include "migration/ram_save.h"

#include <stdlib.h>
#include <string.h>

#include "migration/ram_wire.h"
#include "util/bitmap.h"
#include "util/buffer_zero.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define RATE_PERIOD_NS 1000000000LL /* dirty-pages-rate over >= 1 s */

void ram_save_init(struct ram_save *rs, struct guest_ram *ram,
		   struct mig_stats *stats)
{
	memset(rs, 0, sizeof(*rs));
	rs->ram = ram;
	rs->stats = stats;
	rs->bitmap = xcalloc(BITMAP_WORDS(ram->npages), sizeof(uint64_t));
}

void ram_save_release(struct ram_save *rs)
{
	free(rs->bitmap);
	rs->bitmap = NULL;
}

static void count_bytes(struct ram_save *rs, uint64_t n)
{
	STAT_ADD(rs->stats->transferred, n);
	if (rs->vm_stopped)
		STAT_ADD(rs->stats->downtime_bytes, n);
	else
		STAT_ADD(rs->stats->precopy_bytes, n);
}

static void update_remaining(struct ram_save *rs)
{
	STAT_SET(rs->stats->remaining_bytes,
		 rs->dirty_pages * GUEST_PAGE_SIZE);
}

void ram_save_setup(struct ram_save *rs, struct qemu_file *f)
{
	struct guest_ram *ram = rs->ram;
	/* Tracking starts now: writes from here on are in the log, and the
	 * bulk pass sends everything written before. */
	guest_ram_clear_dirty(ram);
	bitmap_fill(rs->bitmap, ram->npages);
	rs->dirty_pages = ram->npages;
	rs->bulk_stage = true;
	rs->next_page = 0;
	rs->block_named = false;
	rs->rate_period_start_ns = clock_now_ns();
	STAT_SET(rs->stats->dirty_sync_count, 1);
	update_remaining(rs);

	uint64_t start = f->total_bytes;
	qemu_put_be64(f, ram->size_bytes | RAM_FLAG_MEM_SIZE);
	qemu_put_string8(f, GUEST_RAM_BLOCK_NAME);
	qemu_put_be64(f, ram->size_bytes);
	qemu_put_be64(f, RAM_FLAG_EOS);
	count_bytes(rs, f->total_bytes - start);
}

uint64_t ram_save_pending_bytes(const struct ram_save *rs)
{
	return rs->dirty_pages * GUEST_PAGE_SIZE;
}

void ram_save_sync(struct ram_save *rs)
{
	uint64_t added = guest_ram_sync_dirty(rs->ram, rs->bitmap);
	rs->dirty_pages += added;
	rs->rate_period_dirtied += added;
	STAT_ADD(rs->stats->dirty_sync_count, 1);
	update_remaining(rs);

	int64_t now = clock_now_ns();
	int64_t elapsed = now - rs->rate_period_start_ns;
	if (elapsed >= RATE_PERIOD_NS) {
		STAT_SET(rs->stats->dirty_pages_rate,
			 rs->rate_period_dirtied * 1000000000ULL /
				 (uint64_t)elapsed);
		rs->rate_period_dirtied = 0;
		rs->rate_period_start_ns = now;
	}
}

/* The record header: offset | flags, and the block name the first time. */
static void put_record_header(struct ram_save *rs, struct qemu_file *f,
			      uint64_t offset, uint64_t flags)
{
	if (rs->block_named) {
		qemu_put_be64(f, offset | flags | RAM_FLAG_CONTINUE);
		return;
	}
	qemu_put_be64(f, offset | flags);
	qemu_put_string8(f, GUEST_RAM_BLOCK_NAME);
	rs->block_named = true;
}

static void save_page(struct ram_save *rs, struct qemu_file *f, uint64_t page)
{
	uint64_t offset = page * GUEST_PAGE_SIZE;
	const uint8_t *data = rs->ram->host + offset;
	uint64_t start = f->total_bytes;
	if (buffer_is_zero(data, GUEST_PAGE_SIZE)) {
		put_record_header(rs, f, offset, RAM_FLAG_ZERO);
		qemu_put_u8(f, 0);
		STAT_ADD(rs->stats->duplicate, 1);
	} else {
		put_record_header(rs, f, offset, RAM_FLAG_PAGE);
		qemu_put_buffer(f, data, GUEST_PAGE_SIZE);
		STAT_ADD(rs->stats->normal, 1);
	}
	count_bytes(rs, f->total_bytes - start);
}

/* The next dirty page from the search position, wrapping once. */
static bool find_dirty_page(struct ram_save *rs, uint64_t *page)
{
	uint64_t npages = rs->ram->npages;
	uint64_t p = bitmap_find_next(rs->bitmap, npages, rs->next_page);
	if (p == npages) {
		rs->bulk_stage = false; /* the search wrapped */
		p = bitmap_find_next(rs->bitmap, npages, 0);
		if (p == npages)
			return false;
	}
	*page = p;
	return true;
}

static void send_dirty_page(struct ram_save *rs, struct qemu_file *f,
			    uint64_t page)
{
	bitmap_clear_bit(rs->bitmap, page);
	rs->dirty_pages--;
	rs->next_page = page + 1;
	save_page(rs, f, page);
}

uint64_t ram_save_iterate(struct ram_save *rs, struct qemu_file *f,
			  uint64_t max_bytes)
{
	uint64_t start = f->total_bytes;
	uint64_t page;
	while (f->total_bytes - start < max_bytes && !qemu_file_error(f) &&
	       find_dirty_page(rs, &page))
		send_dirty_page(rs, f, page);
	qemu_put_be64(f, RAM_FLAG_EOS);
	count_bytes(rs, 8);
	update_remaining(rs);
	return f->total_bytes - start;
}

void ram_save_complete(struct ram_save *rs, struct qemu_file *f)
{
	rs->vm_stopped = true;
	ram_save_sync(rs);
	uint64_t page;
	while (!qemu_file_error(f) && find_dirty_page(rs, &page))
		send_dirty_page(rs, f, page);
	qemu_put_be64(f, RAM_FLAG_EOS);
	count_bytes(rs, 8);
	update_remaining(rs);
}
