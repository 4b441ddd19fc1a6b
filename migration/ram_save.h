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
 * Threads: owned by the migration thread; nothing here locks.
 */
#ifndef QMIG_MIGRATION_RAM_SAVE_H
#define QMIG_MIGRATION_RAM_SAVE_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/mig_stats.h"
#include "migration/qemu_file.h"
#include "ram/guest_ram.h"

struct ram_save {
	struct guest_ram *ram;
	struct mig_stats *stats;
	uint64_t *bitmap;          /* pages still to send */
	uint64_t dirty_pages;      /* bits set in bitmap */
	uint64_t next_page;        /* where the page search goes on */
	bool block_named;          /* the stream has named the block */
	bool bulk_stage;           /* first pass, until the search wraps */
	bool vm_stopped;           /* bytes now count as downtime bytes */
	/* rate period for dirty-pages-rate */
	int64_t rate_period_start_ns;
	uint64_t rate_period_dirtied;
};

void ram_save_init(struct ram_save *rs, struct guest_ram *ram,
		   struct mig_stats *stats);
void ram_save_release(struct ram_save *rs);

/* Setup data of the START section: the block list, then EOS.  Starts
 * dirty tracking (dirty-sync-count 1). */
void ram_save_setup(struct ram_save *rs, struct qemu_file *f);

/* Bytes still to send before the guest's new writes are looked at. */
uint64_t ram_save_pending_bytes(const struct ram_save *rs);

/* Moves the guest's dirty log into the bitmap (a "dirty sync"). */
void ram_save_sync(struct ram_save *rs);

/*
 * Data of one PART section: dirty pages until max_bytes have been written
 * or none is left, then EOS.  Returns the bytes written.
 */
uint64_t ram_save_iterate(struct ram_save *rs, struct qemu_file *f,
			  uint64_t max_bytes);

/* Data of the END section: a last sync, every dirty page, EOS.  The VM
 * must be stopped. */
void ram_save_complete(struct ram_save *rs, struct qemu_file *f);

#endif
