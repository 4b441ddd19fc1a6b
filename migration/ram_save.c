#include "migration/ram_save.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress_pool.h"
#include "codec/page_cache.h"
#include "migration/ram_wire.h"
#include "codec/xbzrle.h"
#include "migration/multifd_send.h"
#include "util/bitmap.h"
#include "util/buffer_zero.h"
#include "util/clock.h"
#include "util/xalloc.h"

_Static_assert(GUEST_PAGE_SIZE == RAM_PAGE_SIZE,
	       "a guest page goes as one wire page");

#define RATE_PERIOD_NS 1000000000LL /* rates over >= 1 s, as QEMU */
/* The pool's record-size average: each record weighs 1/16. */
#define POOL_AVG_SHIFT 4

/* x-compress-engine: -1 for "auto", else the engine it names. */
static int compress_engine(const struct mig_options *snap)
{
	const struct mig_param_info *p =
		&mig_param_table[MIG_PARAM_X_COMPRESS_ENGINE];
	uint64_t v = snap->num[MIG_PARAM_X_COMPRESS_ENGINE];

	return v == p->default_num ? -1
				   : page_deflate_engine_lookup(p->enum_names[v]);
}

static void config_from(struct ram_save_config *cfg,
			const struct mig_options *snap)
{
	cfg->xbzrle = snap->caps[MIG_CAP_XBZRLE];
	cfg->xbzrle_cache_bytes = snap->num[MIG_PARAM_XBZRLE_CACHE_SIZE];
	cfg->compress = snap->caps[MIG_CAP_COMPRESS];
	cfg->compress_level = (int)snap->num[MIG_PARAM_COMPRESS_LEVEL];
	cfg->compress_threads = (unsigned)snap->num[MIG_PARAM_COMPRESS_THREADS];
	cfg->compress_wait_thread = snap->num[MIG_PARAM_COMPRESS_WAIT_THREAD];
	cfg->compress_engine = compress_engine(snap);
	cfg->xbzrle_bulk_fill = snap->num[MIG_PARAM_X_XBZRLE_BULK_FILL];
	cfg->auto_converge = snap->caps[MIG_CAP_AUTO_CONVERGE];
	cfg->throttle = (struct auto_converge_params){
		.trigger_threshold =
			(unsigned)snap->num[MIG_PARAM_THROTTLE_TRIGGER_THRESHOLD],
		.initial = (unsigned)snap->num[MIG_PARAM_CPU_THROTTLE_INITIAL],
		.increment = (unsigned)snap->num[MIG_PARAM_CPU_THROTTLE_INCREMENT],
		.tailslow = snap->num[MIG_PARAM_CPU_THROTTLE_TAILSLOW],
		.max = (unsigned)snap->num[MIG_PARAM_MAX_CPU_THROTTLE],
	};
	cfg->options_generation = snap->generation;
}

void ram_save_config_read(struct ram_save_config *cfg, struct mig_options *o)
{
	struct mig_options snap;
	mig_options_snapshot(o, &snap);
	config_from(cfg, &snap);
	mig_options_release(&snap);
}

/*
 * The one place RAM bytes are counted: everything written to f since
 * start, headers included, as the stream measured it.
 */
static void count_since(struct ram_save *rs, const struct qemu_file *f,
			uint64_t start)
{
	uint64_t n = f->total_bytes - start;
	STAT_ADD(rs->stats->transferred, n);
	if (atomic_load_explicit(rs->guest_running, memory_order_relaxed))
		STAT_ADD(rs->stats->precopy_bytes, n);
	else
		STAT_ADD(rs->stats->downtime_bytes, n);
}

static bool make_pool(struct ram_save *rs, struct error **errp)
{
	/* Until records say otherwise, a page costs the most a record can:
	 * the first section stays under its budget rather than over. */
	if (!rs->pool_record_bytes_x16)
		rs->pool_record_bytes_x16 = RAM_COMPRESS_MAX_RECORD_BYTES
					    << POOL_AVG_SHIFT;
	/* The level is 0..9: the store checked it (compress-level). */
	int level = rs->cfg.compress_level;
	enum page_deflate_engine engine = rs->cfg.compress_engine < 0
		? page_deflate_pick(level)
		: (enum page_deflate_engine)rs->cfg.compress_engine;
	rs->pool = compress_pool_new_engine(rs->cfg.compress_threads, level,
					    engine, errp);
	return rs->pool != NULL;
}

bool ram_save_init(struct ram_save *rs, struct guest_ram *ram,
		   const atomic_bool *guest_running, struct mig_stats *stats,
		   const struct ram_save_config *cfg, struct error **errp)
{
	memset(rs, 0, sizeof(*rs));
	rs->ram = ram;
	rs->guest_running = guest_running;
	rs->stats = stats;
	rs->cfg = *cfg;
	rs->bitmap = xcalloc(BITMAP_WORDS(ram->npages), sizeof(uint64_t));
	if (cfg->xbzrle) {
		rs->cache = page_cache_new(cfg->xbzrle_cache_bytes, errp);
		if (!rs->cache)
			return false;
		rs->xbzrle_page = xmalloc(XBZRLE_PAGE_SIZE);
		rs->xbzrle_out = xmalloc(XBZRLE_PAGE_SIZE);
	}
	if (cfg->compress && !make_pool(rs, errp))
		return false;
	/* Measured in docs/xbzrle.md: filling the cache in the bulk pass
	 * sends fewer bytes; x-xbzrle-bulk-fill off gives QEMU 7.2's rule. */
	rs->bulk_fill = cfg->xbzrle && cfg->xbzrle_bulk_fill;
	return true;
}

void ram_save_release(struct ram_save *rs)
{
	compress_pool_free(rs->pool);
	page_cache_free(rs->cache);
	free(rs->xbzrle_page);
	free(rs->xbzrle_out);
	free(rs->bitmap);
	memset(rs, 0, sizeof(*rs));
}

bool ram_save_apply_options(struct ram_save *rs, struct mig_options *o,
			    struct error **errp)
{
	if (mig_options_generation(o) == rs->cfg.options_generation)
		return true;
	struct mig_options snap;
	mig_options_snapshot(o, &snap);
	unsigned what = mig_options_applies_since(&snap,
						  rs->cfg.options_generation);
	struct ram_save_config cfg;
	config_from(&cfg, &snap);
	mig_options_release(&snap);

	/* Capabilities are frozen while migrating: only parameters move. */
	rs->cfg.xbzrle_cache_bytes = cfg.xbzrle_cache_bytes;
	rs->cfg.compress_level = cfg.compress_level;
	rs->cfg.compress_threads = cfg.compress_threads;
	rs->cfg.compress_wait_thread = cfg.compress_wait_thread;
	rs->cfg.compress_engine = cfg.compress_engine;
	rs->cfg.throttle = cfg.throttle;
	rs->cfg.options_generation = cfg.options_generation;
	if ((what & MIG_APPLY_XBZRLE_CACHE) && rs->cache &&
	    !page_cache_resize(&rs->cache, cfg.xbzrle_cache_bytes, errp))
		return false;
	if ((what & MIG_APPLY_COMPRESS_POOL) && rs->pool) {
		/* Called between sections, after the drain: no record is in
		 * flight, so a new pool changes nothing on the wire. */
		compress_pool_free(rs->pool);
		rs->pool = NULL;
		if (!make_pool(rs, errp))
			return false;
	}
	return true;
}

/* QEMU 7.2 syncs the channels before every EOS of the `ram` section; a
 * channel failure fails the stream.  Only the last sync waits for the
 * channels' writes (multifd_send.h). */
static void multifd_sync(struct ram_save *rs, struct qemu_file *f)
{
	if (rs->mf && !multifd_send_sync(rs->mf, rs->last_stage))
		qemu_file_set_error(f, EPIPE);
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
	rs->sync_count = 1;
	rs->rate_period_start_ns = clock_now_ns();
	rs->period_start_transferred = STAT_GET(rs->stats->transferred);
	STAT_SET(rs->stats->dirty_sync_count, 1);
	update_remaining(rs);

	uint64_t start = f->total_bytes;
	qemu_put_be64(f, ram->size_bytes | RAM_FLAG_MEM_SIZE);
	qemu_put_string8(f, GUEST_RAM_BLOCK_NAME);
	qemu_put_be64(f, ram->size_bytes);
	multifd_sync(rs, f);
	qemu_put_be64(f, RAM_FLAG_EOS);
	count_since(rs, f, start);
}

uint64_t ram_save_pending_bytes(const struct ram_save *rs)
{
	return rs->dirty_pages * GUEST_PAGE_SIZE;
}

uint64_t ram_save_pending_wire_bytes(const struct ram_save *rs)
{
	if (rs->bulk_stage)
		return wire_estimate_bytes(&(struct wire_estimate){ 0 },
					   rs->dirty_pages);
	return wire_estimate_bytes(&rs->wire, rs->dirty_pages);
}

static double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : 0;
}

/* End of a rate period: the rates `info migrate` shows (QEMU's rules). */
static void update_rates(struct ram_save *rs, int64_t now, int64_t elapsed)
{
	struct mig_stats *s = rs->stats;
	STAT_SET(s->dirty_pages_rate,
		 rs->rate_period_dirtied * 1000000000ULL / (uint64_t)elapsed);
	if (rs->cache) {
		STAT_SET(s->xbzrle_cache_miss_rate,
			 ratio(rs->period_cache_miss, rs->period_pages));
		STAT_SET(s->xbzrle_encoding_rate,
			 ratio(rs->period_xbzrle_pages * XBZRLE_PAGE_SIZE,
			       rs->period_xbzrle_bytes));
	}
	if (rs->pool) {
		STAT_SET(s->compress_busy_rate,
			 ratio(rs->period_busy, rs->period_pages));
		/* Kept from the last period that compressed anything. */
		if (rs->period_compressed_bytes)
			STAT_SET(s->compression_rate,
				 ratio(rs->period_compress_pages *
					       GUEST_PAGE_SIZE,
				       rs->period_compressed_bytes));
	}
	rs->rate_period_dirtied = 0;
	rs->period_pages = rs->period_xbzrle_pages = 0;
	rs->period_xbzrle_bytes = rs->period_cache_miss = 0;
	rs->period_compress_pages = rs->period_compressed_bytes = 0;
	rs->period_busy = 0;
	rs->rate_period_start_ns = now;
}

void ram_save_sync(struct ram_save *rs)
{
	uint64_t added = guest_ram_sync_dirty(rs->ram, rs->bitmap);
	wire_estimate_end_pass(&rs->wire);
	rs->dirty_pages += added;
	rs->rate_period_dirtied += added;
	rs->sync_count++;
	STAT_SET(rs->stats->dirty_sync_count, rs->sync_count);
	update_remaining(rs);

	int64_t now = clock_now_ns();
	int64_t elapsed = now - rs->rate_period_start_ns;
	if (elapsed < RATE_PERIOD_NS)
		return;
	/* QEMU's order: the throttle, then the rates, over one period. */
	uint64_t transferred = STAT_GET(rs->stats->transferred);
	if (rs->cfg.auto_converge && !rs->last_stage)
		auto_converge_period(&rs->auto_converge, &rs->ram->throttle,
				     &rs->cfg.throttle,
				     rs->rate_period_dirtied * GUEST_PAGE_SIZE,
				     transferred - rs->period_start_transferred);
	rs->period_start_transferred = transferred;
	update_rates(rs, now, elapsed);
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

static void put_zero_page(struct ram_save *rs, struct qemu_file *f,
			  uint64_t offset)
{
	put_record_header(rs, f, offset, RAM_FLAG_ZERO);
	qemu_put_u8(f, 0);
	STAT_ADD(rs->stats->duplicate, 1);
}

static void put_normal_page(struct ram_save *rs, struct qemu_file *f,
			    uint64_t offset, const uint8_t *data)
{
	put_record_header(rs, f, offset, RAM_FLAG_PAGE);
	qemu_put_buffer(f, data, RAM_PAGE_SIZE);
	STAT_ADD(rs->stats->normal, 1);
}

/*
 * XBZRLE for one non-zero page.  Returns true when the page is handled
 * (XBZRLE record, or nothing because unchanged); false when it must go as
 * a PAGE, with *data pointing at the bytes to send (the cache's copy when
 * the page was just cached, so that cache and destination agree).
 */
static bool save_xbzrle_page(struct ram_save *rs, struct qemu_file *f,
			     uint64_t offset, const uint8_t **data)
{
	struct mig_stats *s = rs->stats;
	uint8_t *cached;
	if (!page_cache_lookup(rs->cache, offset, rs->sync_count, &cached)) {
		STAT_ADD(s->xbzrle_cache_miss, 1);
		rs->period_cache_miss++;
		if (!rs->last_stage &&
		    page_cache_insert(rs->cache, offset, *data, rs->sync_count,
				      &cached))
			*data = cached;
		return false;
	}
	/* The guest may write the page while we encode it: encode a stable
	 * copy, and keep exactly that copy as what the destination has. */
	memcpy(rs->xbzrle_page, *data, XBZRLE_PAGE_SIZE);
	int len = xbzrle_encode(cached, rs->xbzrle_page, rs->xbzrle_out,
				XBZRLE_PAGE_SIZE);
	STAT_ADD(s->xbzrle_pages, 1);
	rs->period_xbzrle_pages++;
	if (len == XBZRLE_NO_CHANGE)
		return true;
	if (len == XBZRLE_OVERFLOW) {
		STAT_ADD(s->xbzrle_overflow, 1);
		STAT_ADD(s->xbzrle_bytes, XBZRLE_PAGE_SIZE);
		rs->period_xbzrle_bytes += XBZRLE_PAGE_SIZE;
		if (!rs->last_stage) {
			memcpy(cached, rs->xbzrle_page, XBZRLE_PAGE_SIZE);
			*data = cached;
		} else {
			*data = rs->xbzrle_page;
		}
		return false;
	}
	if (!rs->last_stage)
		memcpy(cached, rs->xbzrle_page, XBZRLE_PAGE_SIZE);
	put_record_header(rs, f, offset, RAM_FLAG_XBZRLE);
	/* QEMU's xbzrle_bytes: what follows the header. */
	uint64_t body = f->total_bytes;
	qemu_put_u8(f, RAM_XBZRLE_ENCODING);
	qemu_put_be16(f, (uint16_t)len);
	qemu_put_buffer(f, rs->xbzrle_out, (size_t)len);
	STAT_ADD(s->xbzrle_bytes, f->total_bytes - body);
	rs->period_xbzrle_bytes += f->total_bytes - body;
	return true;
}

/* A page the pool finished: its record, written here like every other. */
static void put_pool_payload(struct ram_save *rs, struct qemu_file *f,
			     const struct compress_payload *p)
{
	uint64_t start = f->total_bytes;
	if (p->is_zero) {
		put_zero_page(rs, f, p->offset);
	} else {
		put_record_header(rs, f, p->offset, RAM_FLAG_COMPRESS_PAGE);
		/* QEMU's compressed_size: what follows the header. */
		uint64_t body = f->total_bytes;
		qemu_put_be32(f, (uint32_t)p->len);
		qemu_put_buffer(f, p->data, p->len);
		STAT_ADD(rs->stats->compress_pages, 1);
		STAT_ADD(rs->stats->compressed_size, f->total_bytes - body);
		rs->period_compress_pages++;
		rs->period_compressed_bytes += f->total_bytes - body;
	}
	rs->pool_record_bytes_x16 += f->total_bytes - start;
	rs->pool_record_bytes_x16 -= rs->pool_record_bytes_x16 >> POOL_AVG_SHIFT;
}

/* The pool's finished pages into f, in order; drain: all of them. */
static void put_pool_payloads(struct ram_save *rs, struct qemu_file *f,
			      bool drain)
{
	struct compress_payload p;
	while (compress_pool_take(rs->pool, drain, &p))
		put_pool_payload(rs, f, &p);
}

/*
 * Gives the page to the pool.  When every buffer is in use, the finished
 * payloads go out first; then, with compress-wait-thread, one at a time
 * until a buffer frees.  false: busy, the page goes on the normal path.
 */
static bool submit_to_pool(struct ram_save *rs, struct qemu_file *f,
			   uint64_t offset, const uint8_t *data)
{
	if (compress_pool_submit(rs->pool, offset, data))
		return true;
	put_pool_payloads(rs, f, false);
	while (!compress_pool_submit(rs->pool, offset, data)) {
		struct compress_payload p;
		if (!rs->cfg.compress_wait_thread ||
		    !compress_pool_take(rs->pool, true, &p))
			return false;
		put_pool_payload(rs, f, &p);
	}
	return true;
}

/* One page's record (or none): zero, pool, xbzrle or raw, in that order. */
static void put_page(struct ram_save *rs, struct qemu_file *f, uint64_t page)
{
	uint64_t offset = page * GUEST_PAGE_SIZE;
	const uint8_t *data = rs->ram->host + offset;
	rs->period_pages++;
	rs->pages_handled++;

	bool zero = buffer_is_zero(data, GUEST_PAGE_SIZE);
	if (rs->mf && !zero) {
		if (!multifd_send_queue_page(rs->mf, offset))
			qemu_file_set_error(f, EPIPE);
		STAT_ADD(rs->stats->normal, 1);
		return;
	}

	/* qmig's rule: the bulk pass fills the cache, so the first re-send of
	 * a page can already be a delta (QEMU 7.2 needs a cache miss first:
	 * three sends).  The page goes, compressed or not, from the cached
	 * copy, so cache and destination agree. */
	if (!zero && rs->cache && rs->bulk_stage && rs->bulk_fill &&
	    rs->block_named) {
		uint8_t *cached;
		if (page_cache_insert(rs->cache, offset, data, rs->sync_count,
				      &cached))
			data = cached;
	}

	/* Compression: every pass without xbzrle, the bulk pass with it;
	 * never for the record that must name the block.  Zero pages are
	 * found here, not on a worker as in QEMU: the ZERO record is the same,
	 * and most pages of a guest are zero.  Ordering holds because a page
	 * is sent at most once per section and the pool drains at its end. */
	if (rs->pool && !zero && rs->block_named &&
	    (!rs->cache || rs->bulk_stage)) {
		if (submit_to_pool(rs, f, offset, data))
			return;
		STAT_ADD(rs->stats->compress_busy, 1);
		rs->period_busy++;
	}

	if (zero) {
		put_zero_page(rs, f, offset);
		/* The next delta of this page is against zeros. */
		if (rs->cache && !rs->bulk_stage && !rs->last_stage)
			page_cache_insert(rs->cache, offset, NULL,
					  rs->sync_count, NULL);
		return;
	}
	if (rs->cache && !rs->bulk_stage && rs->block_named &&
	    save_xbzrle_page(rs, f, offset, &data))
		return;
	put_normal_page(rs, f, offset, data);
}

/* Whatever put_page writes, the pool's payloads included, counts here. */
static void save_page(struct ram_save *rs, struct qemu_file *f, uint64_t page)
{
	uint64_t start = f->total_bytes;
	put_page(rs, f, page);
	count_since(rs, f, start);
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

/* Compressed records all in this section, then its EOS. */
static void end_section_data(struct ram_save *rs, struct qemu_file *f)
{
	uint64_t start = f->total_bytes;
	if (rs->pool)
		put_pool_payloads(rs, f, true);
	multifd_sync(rs, f);
	/* QEMU 7.2 counts an iteration's EOS but not the END section's
	 * (ram_save_complete adds none), so that downtime-bytes is 0 when
	 * nothing was left to send at the switch-over. */
	if (rs->last_stage)
		count_since(rs, f, start);
	qemu_put_be64(f, RAM_FLAG_EOS);
	if (!rs->last_stage)
		count_since(rs, f, start);
	update_remaining(rs);
}

/* Bytes the stream will still get from the pages in the pool. */
static uint64_t pool_pending_bytes(const struct ram_save *rs)
{
	if (!rs->pool)
		return 0;
	return compress_pool_inflight_pages(rs->pool) *
	       (rs->pool_record_bytes_x16 >> POOL_AVG_SHIFT);
}

/* Bytes the channels wrote since mf_start, plus those they still hold. */
static uint64_t multifd_bytes_since(const struct ram_save *rs,
				    uint64_t mf_start)
{
	if (!rs->mf)
		return 0;
	return multifd_send_wire_bytes(rs->mf) - mf_start +
	       multifd_send_pending_bytes(rs->mf);
}

uint64_t ram_save_iterate(struct ram_save *rs, struct qemu_file *f,
			  uint64_t max_bytes)
{
	uint64_t start = f->total_bytes;
	uint64_t mf_start = multifd_send_wire_bytes(rs->mf);
	uint64_t page;
	unsigned n = 0;
	/* Only a section that began after the bulk pass is what a pass of
	 * dirtied pages costs. */
	bool sample = !rs->bulk_stage;
	uint64_t sent = 0;
	while (f->total_bytes - start + pool_pending_bytes(rs) +
			       multifd_bytes_since(rs, mf_start) <
		       max_bytes &&
	       !qemu_file_error(f) && find_dirty_page(rs, &page)) {
		send_dirty_page(rs, f, page);
		sent++;
		/* Finished records move from the estimate to the stream. */
		if (rs->pool && (++n & 63) == 0) {
			uint64_t before = f->total_bytes;
			put_pool_payloads(rs, f, false);
			count_since(rs, f, before);
		}
	}
	end_section_data(rs, f);
	/* Pages on multifd channels cost there, not on the main stream. */
	if (sample)
		wire_estimate_sample(&rs->wire, sent,
				     f->total_bytes - start +
					     multifd_bytes_since(rs, mf_start));
	return f->total_bytes - start;
}

void ram_save_complete(struct ram_save *rs, struct qemu_file *f)
{
	rs->last_stage = true;
	ram_save_sync(rs);
	uint64_t page;
	while (!qemu_file_error(f) && find_dirty_page(rs, &page))
		send_dirty_page(rs, f, page);
	end_section_data(rs, f);
	/* A migration shorter than a rate period still reports its rates. */
	if (rs->period_pages)
		update_rates(rs, clock_now_ns(),
			     clock_now_ns() - rs->rate_period_start_ns + 1);
}
