/*
 * calc-dirty-rate / query-dirty-rate (HMP calc_dirty_rate, info
 * dirty_rate): QEMU 7.2's migration/dirtyrate.c, with the modes qmig can
 * honestly offer.
 *
 *   page-sampling  crc32 of sample-pages random pages per GiB of RAM at
 *                  the start and again after calc-time seconds; the share
 *                  that changed, times the RAM size, over the time;
 *   dirty-bitmap   the pages the guest's writers marked in the period (a
 *                  log of its own beside the migration's, so the two never
 *                  take each other's bits), times the page size, over the
 *                  time;
 *   dirty-ring     refused as QEMU 7.2 refuses it without KVM's dirty
 *                  ring ("mode dirty-ring is not enabled, ...").
 *
 * Rates are in MiB/s (QEMU's "MB/s"), integer arithmetic as QEMU's.  The
 * start time is seconds of the monotonic clock (QEMU's HMP line says
 * "(ms)" of that same figure).  One measurement at a time; the thread is
 * joined by the next start or by dirty_rate_free.
 *
 * Threads: the monitors call dirty_rate_start/info under vm->lock; the
 * measuring thread takes only this struct's lock.
 */
#ifndef QMIG_MIGRATION_DIRTY_RATE_H
#define QMIG_MIGRATION_DIRTY_RATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ram/guest_ram.h"
#include "util/error.h"

enum dirty_rate_status {
	DIRTY_RATE_UNSTARTED,
	DIRTY_RATE_MEASURING,
	DIRTY_RATE_MEASURED,
};

enum dirty_rate_mode {
	DIRTY_RATE_MODE_PAGE_SAMPLING,
	DIRTY_RATE_MODE_DIRTY_RING,
	DIRTY_RATE_MODE_DIRTY_BITMAP,
	DIRTY_RATE_MODE__COUNT
};

#define DIRTY_RATE_DEFAULT_SAMPLE_PAGES 512
#define DIRTY_RATE_MIN_CALC_TIME_S 1
#define DIRTY_RATE_MAX_CALC_TIME_S 60
#define DIRTY_RATE_MIN_SAMPLE_PAGES 128
#define DIRTY_RATE_MAX_SAMPLE_PAGES 16384

/* DirtyRateInfo. */
struct dirty_rate_info {
	enum dirty_rate_status status;
	bool has_dirty_rate;         /* measured */
	int64_t dirty_rate;          /* MiB/s; -1: nothing could be sampled */
	int64_t start_time;          /* s */
	int64_t calc_time;           /* s */
	uint64_t sample_pages;       /* per GiB; 0 once measured by bitmap */
	enum dirty_rate_mode mode;
};

struct dirty_rate;

struct dirty_rate *dirty_rate_new(struct guest_ram *ram);
void dirty_rate_free(struct dirty_rate *d);

const char *dirty_rate_status_name(enum dirty_rate_status s);
const char *dirty_rate_mode_name(enum dirty_rate_mode m);
/* The mode a QMP string names, or -1. */
int dirty_rate_mode_lookup(const char *name);

/* QEMU's qmp_calc_dirty_rate: checks in its order, then starts the
 * measurement (has_sample_pages false: the default). */
bool dirty_rate_start(struct dirty_rate *d, int64_t calc_time,
		      bool has_sample_pages, int64_t sample_pages,
		      enum dirty_rate_mode mode, struct error **errp);

void dirty_rate_info(struct dirty_rate *d, struct dirty_rate_info *out);

#endif
