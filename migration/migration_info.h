/*
 * One snapshot of the migration state, QEMU 7.2's MigrationInfo: what
 * `info migrate` prints and `query-migrate` returns.  Both monitors
 * render this struct and nothing else, so a rule about what is shown when
 * (a completed migration has 0 remaining, the RAM block only once the
 * migration is past setup, ...) is written once, here.
 *
 * The snapshot owns its strings; mig_info_release() frees them.
 */
#ifndef QMIG_MIGRATION_MIGRATION_INFO_H
#define QMIG_MIGRATION_MIGRATION_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/migration.h"
#include "migration/transport.h"
#include "machine/vm.h"

/* MigrationStats (QEMU's `ram` member). */
struct mig_info_ram {
	uint64_t transferred_bytes;
	uint64_t remaining_bytes;    /* 0 once completed */
	uint64_t total_bytes;
	uint64_t duplicate_pages;
	uint64_t skipped_pages;
	uint64_t normal_pages;
	uint64_t normal_bytes;
	uint64_t dirty_pages_rate;   /* 0 once completed */
	double mbps;
	uint64_t dirty_sync_count;
	uint64_t postcopy_requests;
	uint64_t page_size_bytes;
	uint64_t multifd_bytes;
	uint64_t pages_per_second;
	uint64_t precopy_bytes;
	uint64_t downtime_bytes;
	uint64_t postcopy_bytes;
	uint64_t dirty_sync_missed_zero_copy;
};

/* XBZRLECacheStats. */
struct mig_info_xbzrle {
	uint64_t cache_size_bytes;
	uint64_t bytes;
	uint64_t pages;
	uint64_t cache_miss;
	double cache_miss_rate;
	double encoding_rate;
	uint64_t overflow;
};

/* CompressionStats. */
struct mig_info_compression {
	uint64_t pages;
	uint64_t busy;
	double busy_rate;
	uint64_t compressed_size_bytes;
	double compression_rate;
};

struct mig_info {
	bool has_status;
	enum mig_status status;
	char *error_desc;             /* failed outgoing migration, or NULL */

	bool has_total_time;
	int64_t total_time_ms;
	bool has_expected_downtime;
	uint64_t expected_downtime_ms;
	bool has_downtime;
	int64_t downtime_ms;
	bool has_setup_time;
	int64_t setup_time_ms;

	bool has_ram;
	struct mig_info_ram ram;
	bool has_xbzrle;
	struct mig_info_xbzrle xbzrle;
	bool has_compression;
	struct mig_info_compression compression;
	bool has_cpu_throttle_percentage; /* auto-converge throttles now */
	uint64_t cpu_throttle_percentage;

	/* A listening destination: "tcp:HOST:PORT" (HMP) and the parsed
	 * address (QMP's SocketAddress). */
	char *socket_address;
	struct transport_addr socket_addr;
};

/*
 * Fills *info (vm->lock held): the outgoing migration once one was
 * started, else the incoming one, as QEMU 7.2's qmp_query_migrate.
 */
void mig_info_fill_locked(struct vm *vm, struct mig_info *info);
void mig_info_release(struct mig_info *info);

#endif
