#include "monitor/info_migrate.h"

#include <inttypes.h>

#include "migration/incoming.h"
#include "migration/migration.h"
#include "migration/options.h"

static void format_ram_block(struct vm *vm, struct strbuf *out)
{
	const struct migration *m = vm->outgoing;
	const struct mig_stats *s = &m->stats;
	bool completed = m->status == MIG_STATUS_COMPLETED;
	uint64_t normal = STAT_GET(s->normal);

	strbuf_addf(out, "transferred ram: %" PRIu64 " kbytes\n",
		    (uint64_t)STAT_GET(s->transferred) >> 10);
	strbuf_addf(out, "throughput: %0.2f mbps\n", STAT_GET(s->mbps));
	strbuf_addf(out, "remaining ram: %" PRIu64 " kbytes\n",
		    completed ? 0 : (uint64_t)STAT_GET(s->remaining_bytes) >> 10);
	strbuf_addf(out, "total ram: %" PRIu64 " kbytes\n",
		    vm->ram.size_bytes >> 10);
	strbuf_addf(out, "duplicate: %" PRIu64 " pages\n",
		    (uint64_t)STAT_GET(s->duplicate));
	strbuf_addstr(out, "skipped: 0 pages\n");
	strbuf_addf(out, "normal: %" PRIu64 " pages\n", normal);
	strbuf_addf(out, "normal bytes: %" PRIu64 " kbytes\n",
		    normal * GUEST_PAGE_SIZE >> 10);
	strbuf_addf(out, "dirty sync count: %" PRIu64 "\n",
		    (uint64_t)STAT_GET(s->dirty_sync_count));
	strbuf_addf(out, "page size: %u kbytes\n", GUEST_PAGE_SIZE >> 10);
	strbuf_addstr(out, "multifd bytes: 0 kbytes\n");
	strbuf_addf(out, "pages-per-second: %" PRIu64 "\n",
		    (uint64_t)STAT_GET(s->pages_per_second));
	uint64_t rate = STAT_GET(s->dirty_pages_rate);
	if (rate && !completed)
		strbuf_addf(out, "dirty pages rate: %" PRIu64 " pages\n", rate);
	uint64_t precopy = STAT_GET(s->precopy_bytes);
	uint64_t downtime = STAT_GET(s->downtime_bytes);
	if (precopy)
		strbuf_addf(out, "precopy ram: %" PRIu64 " kbytes\n",
			    precopy >> 10);
	if (downtime)
		strbuf_addf(out, "downtime ram: %" PRIu64 " kbytes\n",
			    downtime >> 10);

	if (mig_options_cap(&vm->options, MIG_CAP_XBZRLE)) {
		strbuf_addf(out, "cache size: %" PRIu64 " bytes\n",
			    mig_options_num(&vm->options,
					    MIG_PARAM_XBZRLE_CACHE_SIZE));
		strbuf_addf(out, "xbzrle transferred: %" PRIu64 " kbytes\n",
			    (uint64_t)STAT_GET(s->xbzrle_bytes) >> 10);
		strbuf_addf(out, "xbzrle pages: %" PRIu64 " pages\n",
			    (uint64_t)STAT_GET(s->xbzrle_pages));
		strbuf_addf(out, "xbzrle cache miss: %" PRIu64 " pages\n",
			    (uint64_t)STAT_GET(s->xbzrle_cache_miss));
		strbuf_addf(out, "xbzrle cache miss rate: %0.2f\n",
			    STAT_GET(s->xbzrle_cache_miss_rate));
		strbuf_addf(out, "xbzrle encoding rate: %0.2f\n",
			    STAT_GET(s->xbzrle_encoding_rate));
		strbuf_addf(out, "xbzrle overflow: %" PRIu64 "\n",
			    (uint64_t)STAT_GET(s->xbzrle_overflow));
	}
	if (mig_options_cap(&vm->options, MIG_CAP_COMPRESS)) {
		strbuf_addf(out, "compression pages: %" PRIu64 " pages\n",
			    (uint64_t)STAT_GET(s->compress_pages));
		strbuf_addf(out, "compression busy: %" PRIu64 "\n",
			    (uint64_t)STAT_GET(s->compress_busy));
		strbuf_addf(out, "compression busy rate: %0.2f\n",
			    STAT_GET(s->compress_busy_rate));
		strbuf_addf(out, "compressed size: %" PRIu64 " kbytes\n",
			    (uint64_t)STAT_GET(s->compressed_size) >> 10);
		strbuf_addf(out, "compression rate: %0.2f\n",
			    STAT_GET(s->compression_rate));
	}
}

static void format_outgoing(struct vm *vm, struct strbuf *out)
{
	const struct migration *m = vm->outgoing;
	if (m->status == MIG_STATUS_FAILED && m->error_desc)
		strbuf_addf(out, "Migration status: failed (%s)\n",
			    m->error_desc);
	else
		strbuf_addf(out, "Migration status: %s\n",
			    mig_status_name(m->status));

	bool active = mig_status_is_active_like(m->status);
	bool completed = m->status == MIG_STATUS_COMPLETED;
	strbuf_addf(out, "total time: %" PRId64 " ms\n",
		    active || completed ? migration_total_time_ms_locked(m)
					: 0);
	if (active)
		strbuf_addf(out, "expected downtime: %" PRIu64 " ms\n",
			    (uint64_t)STAT_GET(m->stats.expected_downtime_ms));
	if (completed)
		strbuf_addf(out, "downtime: %" PRId64 " ms\n", m->downtime_ms);
	if (active || completed) {
		strbuf_addf(out, "setup: %" PRId64 " ms\n", m->setup_time_ms);
		format_ram_block(vm, out);
	}
}

void info_migrate_format_locked(struct vm *vm, struct strbuf *out)
{
	/* QEMU's migration object properties; fixed in qmig. */
	strbuf_addstr(out, "globals:\n"
			   "store-global-state: on\n"
			   "only-migratable: off\n"
			   "send-configuration: on\n"
			   "send-section-footer: on\n"
			   "decompress-error-check: on\n"
			   "clear-bitmap-shift: 18\n");
	if (vm->outgoing->status != MIG_STATUS_NONE) {
		format_outgoing(vm, out);
		return;
	}
	struct incoming *in = vm->incoming;
	if (!in)
		return;
	if (in->status == MIG_STATUS_ACTIVE ||
	    in->status == MIG_STATUS_COMPLETED ||
	    in->status == MIG_STATUS_FAILED) {
		strbuf_addf(out, "Migration status: %s\n",
			    mig_status_name(in->status));
		strbuf_addstr(out, "total time: 0 ms\n");
	}
	if (in->socket_address && (in->status == MIG_STATUS_SETUP ||
				   in->status == MIG_STATUS_ACTIVE))
		strbuf_addf(out, "socket address: [\n\t%s\n]\n",
			    in->socket_address);
}
