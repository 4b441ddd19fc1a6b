/*
 * Counters of one outgoing migration, as `info migrate` / query-migrate
 * report them (shared/docs/monitor-reference.md §8 says what each means).
 * Written by the migration thread (and compress pool callbacks on it),
 * read by monitors on other threads: every field is atomic, relaxed.
 */
#ifndef QMIG_MIGRATION_MIG_STATS_H
#define QMIG_MIGRATION_MIG_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct mig_stats {
	atomic_uint_fast64_t transferred;     /* bytes the RAM code streamed */
	atomic_uint_fast64_t precopy_bytes;   /* ... while the VM ran */
	atomic_uint_fast64_t downtime_bytes;  /* ... while it was stopped */
	atomic_uint_fast64_t duplicate;       /* zero pages */
	atomic_uint_fast64_t normal;          /* whole pages */
	atomic_uint_fast64_t remaining_bytes; /* dirty pages left x page size */
	atomic_uint_fast64_t dirty_sync_count;
	atomic_uint_fast64_t dirty_pages_rate;
	atomic_uint_fast64_t pages_per_second;
	_Atomic double mbps;
	atomic_uint_fast64_t expected_downtime_ms;
	/* bytes the multifd channels wrote (handshakes, headers, payloads) */
	atomic_uint_fast64_t multifd_bytes;
	/* zero-copy-send: channel flushes in which the kernel copied after
	 * all (QEMU's dirty-sync-missed-zero-copy) */
	atomic_uint_fast64_t zero_copy_fallbacks;

	/* XBZRLE */
	atomic_uint_fast64_t xbzrle_bytes;
	atomic_uint_fast64_t xbzrle_pages;
	atomic_uint_fast64_t xbzrle_cache_miss;
	atomic_uint_fast64_t xbzrle_overflow;
	_Atomic double xbzrle_cache_miss_rate;
	_Atomic double xbzrle_encoding_rate;

	/* compression */
	atomic_uint_fast64_t compress_pages;
	atomic_uint_fast64_t compress_busy;
	atomic_uint_fast64_t compressed_size;
	_Atomic double compress_busy_rate;
	_Atomic double compression_rate;
};

#define STAT_ADD(field, n) \
	atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)
#define STAT_SET(field, v) \
	atomic_store_explicit(&(field), (v), memory_order_relaxed)
#define STAT_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

#endif
