/*
 * The source side of the `ram` section: which pages go out, in which
 * record, and the precopy passes over the migration bitmap.
 *
 * Model: the migration bitmap holds the pages still to send.  Setup sets
 * every bit (the first, "bulk" pass); each sync moves the guest's dirty log
 * into it.  An iteration sends dirty pages in address order from where the
 * last one stopped, wrapping around the end of RAM, until its byte budget is
 * used or no dirty page is left; a page is sent at most once per section.
 *
 * How a page goes (QEMU 7.2's choices, shared/docs/qemu-7.2-stream.md
 * §8.5, §9.3, §10.2, §11):
 *   1. the first page of the stream names the block: ZERO or PAGE;
 *   2. with `compress`, during the bulk pass (every pass without xbzrle):
 *      to the compress pool (ZERO or COMPRESS_PAGE records, in order);
 *   3. all-zero page: ZERO (and, with xbzrle after the bulk pass, a zero
 *      copy in the cache);
 *   4. with `xbzrle` after the bulk pass: a delta against the cached copy
 *      (XBZRLE record, or nothing when unchanged), a cache miss or an
 *      overflow as a PAGE;
 *   5. otherwise PAGE.
 * With `multifd` (rs->mf set) only rule 3 stays: zero pages go as ZERO,
 * every other page to the multifd channels (7.2's ram_save_multifd_page),
 * and each section's EOS follows a multifd sync (multifd_send.h).
 *
 * Threads: owned by the migration thread; nothing here locks but the
 * options store's own lock.  Options are read at setup; changes during
 * the migration (xbzrle-cache-size, compress-level, compress-threads,
 * compress-wait-thread, x-compress-engine, the auto-converge
 * parameters) are picked up by
 * ram_save_apply_options() between sections.
 */
#ifndef QMIG_MIGRATION_RAM_SAVE_H
#define QMIG_MIGRATION_RAM_SAVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/auto_converge.h"
#include "migration/mig_stats.h"
#include "migration/options.h"
#include "migration/qemu_file.h"
#include "migration/wire_estimate.h"
#include "ram/guest_ram.h"

struct page_cache;
struct compress_pool;
struct multifd_send;

/* What the RAM code needs of the options. */
struct ram_save_config {
	bool xbzrle;
	uint64_t xbzrle_cache_bytes;
	bool compress;
	int compress_level;
	unsigned compress_threads;
	bool compress_wait_thread;
	int compress_engine;       /* x-compress-engine; -1: per level */
	bool xbzrle_bulk_fill;     /* x-xbzrle-bulk-fill (read at start) */
	bool auto_converge;        /* the capability */
	struct auto_converge_params throttle; /* its parameters (live) */
	uint64_t options_generation; /* the store's, when these were read */
};

/* The config from a consistent snapshot of the store o. */
void ram_save_config_read(struct ram_save_config *cfg, struct mig_options *o);

struct ram_save {
	struct guest_ram *ram;
	struct mig_stats *stats;
	struct ram_save_config cfg;
	uint64_t *bitmap;          /* pages still to send */
	uint64_t dirty_pages;      /* bits set in bitmap */
	uint64_t next_page;        /* where the page search goes on */
	bool block_named;          /* the stream has named the block */
	bool bulk_stage;           /* first pass, until the search wraps */
	const atomic_bool *guest_running; /* precopy or downtime bytes */
	bool last_stage;           /* END: the cache is no longer updated */
	uint64_t sync_count;       /* dirty-bitmap syncs so far */

	struct page_cache *cache;  /* xbzrle on */
	bool bulk_fill;            /* the bulk pass fills the cache */
	uint8_t *xbzrle_page;      /* stable copy of the page being encoded */
	uint8_t *xbzrle_out;       /* encoded delta */

	struct compress_pool *pool; /* compress on */
	struct multifd_send *mf;    /* multifd on: set by the caller */
	/* Recent pool records' mean size x 16 (a moving average): what a
	 * page still in the pool will cost the stream. */
	uint64_t pool_record_bytes_x16;

	/* rate period (>= 1 s, at syncs) for the rates info migrate shows */
	int64_t rate_period_start_ns;
	uint64_t rate_period_dirtied;
	uint64_t period_pages, period_xbzrle_pages, period_xbzrle_bytes,
		 period_cache_miss, period_compress_pages,
		 period_compressed_bytes, period_busy;
	uint64_t pages_handled;    /* every page looked at */
	uint64_t period_start_transferred; /* bytes sent when it began */
	struct auto_converge auto_converge;
	struct wire_estimate wire; /* a dirty page's cost after the bulk pass */
};

/* Sets up from cfg (xbzrle cache, compress pool); false on error. */
bool ram_save_init(struct ram_save *rs, struct guest_ram *ram,
		   const atomic_bool *guest_running, struct mig_stats *stats,
		   const struct ram_save_config *cfg, struct error **errp);
void ram_save_release(struct ram_save *rs);

/*
 * Between sections: when the store's generation moved since the options
 * were read, acts on the `apply` bits of the parameters whose value
 * changed meanwhile: resizes the XBZRLE cache (QEMU 7.2 ignores that),
 * rebuilds the compress pool (QEMU 7.2 hangs on a compress-threads
 * change), takes the new compress-wait-thread.  One locked read of the
 * generation when nothing was committed.  false on error (the migration
 * fails).
 */
bool ram_save_apply_options(struct ram_save *rs, struct mig_options *o,
			    struct error **errp);

/* Setup data of the START section: the block list, then EOS.  Starts
 * dirty tracking (dirty-sync-count 1). */
void ram_save_setup(struct ram_save *rs, struct qemu_file *f);

/* Bytes still to send before the guest's new writes are looked at, at
 * full page size (QEMU's `remaining`). */
uint64_t ram_save_pending_bytes(const struct ram_save *rs);

/* What those pages are expected to take on the wire: during the bulk pass
 * a PAGE record each (QEMU's rule), after it the running mean of what the
 * passes since took per page (wire_estimate.h). */
uint64_t ram_save_pending_wire_bytes(const struct ram_save *rs);

/* Moves the guest's dirty log into the bitmap (a "dirty sync"). */
void ram_save_sync(struct ram_save *rs);

/*
 * Data of one PART section: dirty pages until max_bytes have been written
 * or none is left, then EOS.  Returns the bytes written.  With compress,
 * pages in the pool count at the recent records' mean size, so that the
 * drain at the end of the section overshoots max_bytes only by how far
 * that estimate is off (plus one record), not by the pool's depth.
 */
uint64_t ram_save_iterate(struct ram_save *rs, struct qemu_file *f,
			  uint64_t max_bytes);

/* Data of the END section: a last sync, every dirty page, EOS.  The VM
 * must be stopped. */
void ram_save_complete(struct ram_save *rs, struct qemu_file *f);

#endif
