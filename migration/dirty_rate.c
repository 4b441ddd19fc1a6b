#include "migration/dirty_rate.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/clock.h"
#include "util/xalloc.h"

/* QEMU skips RAM blocks below 128 KiB. */
#define MIN_RAMBLOCK_BYTES (128ULL << 10)

struct dirty_rate {
	struct guest_ram *ram;
	pthread_mutex_t lock;       /* guards the fields below */
	enum dirty_rate_status status;
	enum dirty_rate_mode mode;  /* of the last measurement */
	int64_t calc_time_s;        /* asked for */
	uint64_t sample_pages;      /* per GiB */
	int64_t start_time;
	int64_t calc_time;
	int64_t dirty_rate;
	pthread_t thread;
	bool joinable;
};

static const char *const status_names[] = {
	[DIRTY_RATE_UNSTARTED] = "unstarted",
	[DIRTY_RATE_MEASURING] = "measuring",
	[DIRTY_RATE_MEASURED] = "measured",
};

static const char *const mode_names[] = {
	[DIRTY_RATE_MODE_PAGE_SAMPLING] = "page-sampling",
	[DIRTY_RATE_MODE_DIRTY_RING] = "dirty-ring",
	[DIRTY_RATE_MODE_DIRTY_BITMAP] = "dirty-bitmap",
};

const char *dirty_rate_status_name(enum dirty_rate_status s)
{
	return status_names[s];
}

const char *dirty_rate_mode_name(enum dirty_rate_mode m)
{
	return mode_names[m];
}

int dirty_rate_mode_lookup(const char *name)
{
	for (int i = 0; i < DIRTY_RATE_MODE__COUNT; i++)
		if (!strcmp(mode_names[i], name))
			return i;
	return -1;
}

struct dirty_rate *dirty_rate_new(struct guest_ram *ram)
{
	struct dirty_rate *d = xcalloc(1, sizeof(*d));
	d->ram = ram;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

void dirty_rate_free(struct dirty_rate *d)
{
	if (!d)
		return;
	if (d->joinable)
		pthread_join(d->thread, NULL);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Sleeps until ms after start; the time that really passed, in ms (QEMU's
 * dirty_stat_wait: a late start counts as the longer period). */
static int64_t wait_period(int64_t ms, int64_t start_ms)
{
	int64_t now = clock_now_ms();
	if (now - start_ms >= ms)
		return now - start_ms;
	clock_sleep_ns((ms + start_ms - now) * 1000000);
	return ms;
}

static uint32_t page_crc(const struct guest_ram *ram, uint64_t page)
{
	return (uint32_t)crc32(0, ram->host + page * GUEST_PAGE_SIZE,
			       GUEST_PAGE_SIZE);
}

/* xorshift64*, seeded from the clock as QEMU's g_rand_new from /dev/urandom
 * or the time: the sample differs from one measurement to the next. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* QEMU's page sampling over the one RAM block. */
static void measure_sampling(struct dirty_rate *d, int64_t period_ms)
{
	struct guest_ram *ram = d->ram;
	int64_t start_ms = clock_now_ms();
	uint64_t count = ram->size_bytes < MIN_RAMBLOCK_BYTES
				 ? 0
				 : (ram->size_bytes * d->sample_pages) >> 30;
	uint64_t *pages = xcalloc(count ? count : 1, sizeof(*pages));
	uint32_t *crcs = xcalloc(count ? count : 1, sizeof(*crcs));
	uint64_t rng = (uint64_t)clock_now_ns() | 1;
	/* QEMU draws from [0, pages - 1): the last page is never sampled. */
	uint64_t range = ram->npages > 1 ? ram->npages - 1 : 1;
	for (uint64_t i = 0; i < count; i++) {
		pages[i] = rng_next(&rng) % range;
		crcs[i] = page_crc(ram, pages[i]);
	}
	int64_t ms = wait_period(period_ms, start_ms);
	uint64_t dirty = 0;
	for (uint64_t i = 0; i < count; i++)
		dirty += page_crc(ram, pages[i]) != crcs[i];
	free(pages);
	free(crcs);

	uint64_t block_mib = ram->size_bytes >> 20;
	pthread_mutex_lock(&d->lock);
	d->start_time = start_ms / 1000;
	d->calc_time = ms / 1000;
	if (count)
		d->dirty_rate = (int64_t)(dirty * block_mib * 1000 /
					  (count * (uint64_t)ms));
	pthread_mutex_unlock(&d->lock);
}

/* The writers' own dirty log over the period. */
static void measure_bitmap(struct dirty_rate *d, int64_t period_ms)
{
	struct guest_ram *ram = d->ram;
	guest_ram_rate_log_start(ram);
	int64_t start_ms = clock_now_ms();
	pthread_mutex_lock(&d->lock);
	d->start_time = start_ms / 1000;
	pthread_mutex_unlock(&d->lock);
	int64_t ms = wait_period(period_ms, start_ms);
	uint64_t pages = guest_ram_rate_log_stop(ram);
	uint64_t mib = (pages * GUEST_PAGE_SIZE) >> 20;
	pthread_mutex_lock(&d->lock);
	d->calc_time = ms / 1000;
	d->dirty_rate = (int64_t)(mib * 1000 / (uint64_t)ms);
	pthread_mutex_unlock(&d->lock);
}

static void *measure_thread(void *opaque)
{
	struct dirty_rate *d = opaque;
	pthread_mutex_lock(&d->lock);
	enum dirty_rate_mode mode = d->mode;
	int64_t period_ms = d->calc_time_s * 1000;
	pthread_mutex_unlock(&d->lock);
	if (mode == DIRTY_RATE_MODE_DIRTY_BITMAP)
		measure_bitmap(d, period_ms);
	else
		measure_sampling(d, period_ms);
	pthread_mutex_lock(&d->lock);
	d->status = DIRTY_RATE_MEASURED;
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

bool dirty_rate_start(struct dirty_rate *d, int64_t calc_time,
		      bool has_sample_pages, int64_t sample_pages,
		      enum dirty_rate_mode mode, struct error **errp)
{
	pthread_mutex_lock(&d->lock);
	bool measuring = d->status == DIRTY_RATE_MEASURING;
	pthread_mutex_unlock(&d->lock);
	if (measuring) {
		error_setf(errp, "the dirty rate is already being measured.");
		return false;
	}
	if (calc_time < DIRTY_RATE_MIN_CALC_TIME_S ||
	    calc_time > DIRTY_RATE_MAX_CALC_TIME_S) {
		error_setf(errp, "calc-time is out of range[%d, %d].",
			   DIRTY_RATE_MIN_CALC_TIME_S,
			   DIRTY_RATE_MAX_CALC_TIME_S);
		return false;
	}
	if (has_sample_pages && mode == DIRTY_RATE_MODE_DIRTY_RING) {
		error_setf(errp,
			   "either sample-pages or dirty-ring can be specified.");
		return false;
	}
	if (has_sample_pages && (sample_pages < DIRTY_RATE_MIN_SAMPLE_PAGES ||
				 sample_pages > DIRTY_RATE_MAX_SAMPLE_PAGES)) {
		error_setf(errp, "sample-pages is out of range[%d, %d].",
			   DIRTY_RATE_MIN_SAMPLE_PAGES,
			   DIRTY_RATE_MAX_SAMPLE_PAGES);
		return false;
	}
	if (!has_sample_pages)
		sample_pages = DIRTY_RATE_DEFAULT_SAMPLE_PAGES;
	/* No KVM, so no dirty ring: QEMU 7.2's answer without one. */
	if (mode == DIRTY_RATE_MODE_DIRTY_RING) {
		error_setf(errp, "mode %s is not enabled, use other method instead.",
			   mode_names[mode]);
		return false;
	}
	/* The previous measurement has ended (not measuring): reap it. */
	if (d->joinable) {
		pthread_join(d->thread, NULL);
		d->joinable = false;
	}
	pthread_mutex_lock(&d->lock);
	d->status = DIRTY_RATE_MEASURING;
	d->mode = mode;
	d->calc_time_s = calc_time;
	d->sample_pages = (uint64_t)sample_pages;
	d->dirty_rate = -1;
	d->start_time = clock_now_ms() / 1000;
	d->calc_time = calc_time;
	pthread_mutex_unlock(&d->lock);
	int rc = pthread_create(&d->thread, NULL, measure_thread, d);
	if (rc) {
		pthread_mutex_lock(&d->lock);
		d->status = DIRTY_RATE_UNSTARTED;
		pthread_mutex_unlock(&d->lock);
		error_setf(errp, "cannot create the dirty rate thread: %s",
			   strerror(rc));
		return false;
	}
	d->joinable = true;
	return true;
}

void dirty_rate_info(struct dirty_rate *d, struct dirty_rate_info *out)
{
	pthread_mutex_lock(&d->lock);
	out->status = d->status;
	out->start_time = d->start_time;
	out->calc_time = d->calc_time;
	out->sample_pages = d->sample_pages;
	out->mode = d->mode;
	out->has_dirty_rate = d->status == DIRTY_RATE_MEASURED;
	out->dirty_rate = d->dirty_rate;
	if (out->has_dirty_rate && d->mode == DIRTY_RATE_MODE_DIRTY_BITMAP)
		out->sample_pages = 0;
	pthread_mutex_unlock(&d->lock);
}
