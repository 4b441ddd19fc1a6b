/*
 * `info migrate`: QEMU 7.2's HMP text for the snapshot query-migrate also
 * returns (migration/migration_info.h decides what is shown when; this
 * file only words it).
 */
#include "monitor/info_migrate.h"

#include <inttypes.h>

#include "migration/migration_info.h"

static void format_ram(const struct mig_info_ram *r, struct strbuf *out)
{
	strbuf_addf(out, "transferred ram: %" PRIu64 " kbytes\n",
		    r->transferred_bytes >> 10);
	strbuf_addf(out, "throughput: %0.2f mbps\n", r->mbps);
	strbuf_addf(out, "remaining ram: %" PRIu64 " kbytes\n",
		    r->remaining_bytes >> 10);
	strbuf_addf(out, "total ram: %" PRIu64 " kbytes\n",
		    r->total_bytes >> 10);
	strbuf_addf(out, "duplicate: %" PRIu64 " pages\n", r->duplicate_pages);
	strbuf_addf(out, "skipped: %" PRIu64 " pages\n", r->skipped_pages);
	strbuf_addf(out, "normal: %" PRIu64 " pages\n", r->normal_pages);
	strbuf_addf(out, "normal bytes: %" PRIu64 " kbytes\n",
		    r->normal_bytes >> 10);
	strbuf_addf(out, "dirty sync count: %" PRIu64 "\n",
		    r->dirty_sync_count);
	strbuf_addf(out, "page size: %" PRIu64 " kbytes\n",
		    r->page_size_bytes >> 10);
	strbuf_addf(out, "multifd bytes: %" PRIu64 " kbytes\n",
		    r->multifd_bytes >> 10);
	strbuf_addf(out, "pages-per-second: %" PRIu64 "\n",
		    r->pages_per_second);
	/* QEMU's HMP leaves these lines out while they are 0. */
	if (r->dirty_pages_rate)
		strbuf_addf(out, "dirty pages rate: %" PRIu64 " pages\n",
			    r->dirty_pages_rate);
	if (r->precopy_bytes)
		strbuf_addf(out, "precopy ram: %" PRIu64 " kbytes\n",
			    r->precopy_bytes >> 10);
	if (r->downtime_bytes)
		strbuf_addf(out, "downtime ram: %" PRIu64 " kbytes\n",
			    r->downtime_bytes >> 10);
	if (r->postcopy_bytes)
		strbuf_addf(out, "postcopy ram: %" PRIu64 " kbytes\n",
			    r->postcopy_bytes >> 10);
	if (r->dirty_sync_missed_zero_copy)
		strbuf_addf(out,
			    "Zero-copy-send fallbacks happened: %" PRIu64 " times\n",
			    r->dirty_sync_missed_zero_copy);
}

static void format_xbzrle(const struct mig_info_xbzrle *x, struct strbuf *out)
{
	strbuf_addf(out, "cache size: %" PRIu64 " bytes\n", x->cache_size_bytes);
	strbuf_addf(out, "xbzrle transferred: %" PRIu64 " kbytes\n",
		    x->bytes >> 10);
	strbuf_addf(out, "xbzrle pages: %" PRIu64 " pages\n", x->pages);
	strbuf_addf(out, "xbzrle cache miss: %" PRIu64 " pages\n",
		    x->cache_miss);
	strbuf_addf(out, "xbzrle cache miss rate: %0.2f\n", x->cache_miss_rate);
	strbuf_addf(out, "xbzrle encoding rate: %0.2f\n", x->encoding_rate);
	strbuf_addf(out, "xbzrle overflow: %" PRIu64 "\n", x->overflow);
}

static void format_compression(const struct mig_info_compression *c,
			       struct strbuf *out)
{
	strbuf_addf(out, "compression pages: %" PRIu64 " pages\n", c->pages);
	strbuf_addf(out, "compression busy: %" PRIu64 "\n", c->busy);
	strbuf_addf(out, "compression busy rate: %0.2f\n", c->busy_rate);
	strbuf_addf(out, "compressed size: %" PRIu64 " kbytes\n",
		    c->compressed_size_bytes >> 10);
	strbuf_addf(out, "compression rate: %0.2f\n", c->compression_rate);
}

static void format_info(const struct mig_info *info, struct strbuf *out)
{
	if (info->has_status) {
		if (info->error_desc)
			strbuf_addf(out, "Migration status: %s (%s)\n",
				    mig_status_name(info->status),
				    info->error_desc);
		else
			strbuf_addf(out, "Migration status: %s\n",
				    mig_status_name(info->status));
		/* HMP prints 0 where query-migrate has no total-time. */
		strbuf_addf(out, "total time: %" PRId64 " ms\n",
			    info->has_total_time ? info->total_time_ms : 0);
	}
	if (info->has_expected_downtime)
		strbuf_addf(out, "expected downtime: %" PRIu64 " ms\n",
			    info->expected_downtime_ms);
	if (info->has_downtime)
		strbuf_addf(out, "downtime: %" PRId64 " ms\n", info->downtime_ms);
	if (info->has_setup_time)
		strbuf_addf(out, "setup: %" PRId64 " ms\n", info->setup_time_ms);
	if (info->has_ram)
		format_ram(&info->ram, out);
	if (info->has_xbzrle)
		format_xbzrle(&info->xbzrle, out);
	if (info->has_compression)
		format_compression(&info->compression, out);
	if (info->has_cpu_throttle_percentage)
		strbuf_addf(out, "cpu throttle percentage: %" PRIu64 "\n",
			    info->cpu_throttle_percentage);
	if (info->socket_address)
		strbuf_addf(out, "socket address: [\n\t%s\n]\n",
			    info->socket_address);
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
	struct mig_info info;
	mig_info_fill_locked(vm, &info);
	format_info(&info, out);
	mig_info_release(&info);
}
