/*
 * The destination side of the `ram` section: reads records from a START,
 * PART or END section up to its EOS and writes the pages into guest RAM.
 * Every length, offset and block name is checked before anything is
 * written; errors carry QEMU 7.2's messages (shared/docs/qemu-7.2-stream.md
 * §8-10, §13.3).
 *
 * Threads: owned by the incoming (loader) thread.
 */
#ifndef QMIG_MIGRATION_RAM_LOAD_H
#define QMIG_MIGRATION_RAM_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec/decompress_pool.h"
#include "migration/qemu_file.h"
#include "ram/guest_ram.h"
#include "ram/huge_probe.h"
#include "util/error.h"

struct multifd_recv;

struct ram_load {
	struct guest_ram *ram;
	bool compress_enabled;   /* the destination's `compress` capability */
	unsigned decompress_threads;
	/* x-decompress-engine: DECOMPRESS_LIBDEFLATE after init; the caller
	 * may change it before the first section */
	enum decompress_engine decompress_engine;
	/* Created at the first compressed page, or at the first raw page
	 * whose store is a 4 KiB first touch (its workers take those
	 * faults); no_store_pool: that creation failed, pages go direct. */
	struct decompress_pool *pool;
	bool no_store_pool;
	bool block_known;        /* a record has named the block */
	uint8_t *scratch;        /* XBZRLE / compressed payload buffer */
	/* Pages known to be zero without reading them (never written since
	 * a pristine start): a ZERO record for them costs nothing, not even
	 * the page fault that reading untouched memory takes.  NULL when
	 * the RAM was not pristine.  Atomic: with multifd the channels
	 * clear bits of other pages in the same words. */
	_Atomic uint64_t *known_zero;
	_Atomic uint64_t *known_zero_alloc; /* what release frees */
	/* Huge pages while their first touches are cheap (ram/huge_probe.h);
	 * off from the start with compression.  With multifd, the channel
	 * threads probe and store the pages. */
	struct huge_probe huge;
	/* multifd on: the channels, synced at every EOS (multifd_recv.h) */
	struct multifd_recv *mr;
	/* statistics of what arrived, for tests and logs */
	uint64_t zero_pages, normal_pages, xbzrle_pages, compressed_pages;
};

/* compress_enabled: accept COMPRESS_PAGE records, inflated on
 * decompress_threads threads. */
void ram_load_init(struct ram_load *rl, struct guest_ram *ram,
		   bool compress_enabled, unsigned decompress_threads);
void ram_load_release(struct ram_load *rl);
/* Loads with multifd channels (NULL: none), which then share the
 * known-zero map and the huge probe: release rl only after the channels
 * have ended. */
void ram_load_set_multifd(struct ram_load *rl, struct multifd_recv *mr);

/*
 * Loads one section's RAM data (version is the section's, for START).
 * Returns 0, or a negative errno with *errp set.
 */
int ram_load_section(struct ram_load *rl, struct qemu_file *f,
		     struct error **errp);

#endif
