#include "migration/migration_info.h"

#include <stdlib.h>
#include <string.h>

#include "migration/incoming.h"
#include "migration/options.h"
#include "util/xalloc.h"

static void fill_ram(struct vm *vm, const struct migration *m, bool completed,
		     struct mig_info_ram *r)
{
	const struct mig_stats *s = &m->stats;
	r->transferred_bytes = STAT_GET(s->transferred);
	r->remaining_bytes = completed ? 0 : STAT_GET(s->remaining_bytes);
	r->total_bytes = vm->ram.size_bytes;
	r->duplicate_pages = STAT_GET(s->duplicate);
	r->normal_pages = STAT_GET(s->normal);
	r->normal_bytes = r->normal_pages * GUEST_PAGE_SIZE;
	r->dirty_pages_rate = completed ? 0 : STAT_GET(s->dirty_pages_rate);
	r->mbps = STAT_GET(s->mbps);
	r->dirty_sync_count = STAT_GET(s->dirty_sync_count);
	r->page_size_bytes = GUEST_PAGE_SIZE;
	r->pages_per_second = STAT_GET(s->pages_per_second);
	r->precopy_bytes = STAT_GET(s->precopy_bytes);
	r->downtime_bytes = STAT_GET(s->downtime_bytes);
	/* What the multifd channels wrote (QEMU 7.2 counts the packets at
	 * their uncompressed size, qmig at what reached the wire). */
	r->multifd_bytes = STAT_GET(s->multifd_bytes);
	r->dirty_sync_missed_zero_copy = STAT_GET(s->zero_copy_fallbacks);
	/* skipped and the postcopy counters stay 0: qmig sends none of
	 * those (QEMU 7.2 reports them all the same). */
}

static void fill_xbzrle(struct vm *vm, const struct mig_stats *s,
			struct mig_info_xbzrle *x)
{
	x->cache_size_bytes =
		mig_options_num(vm->options, MIG_PARAM_XBZRLE_CACHE_SIZE);
	x->bytes = STAT_GET(s->xbzrle_bytes);
	x->pages = STAT_GET(s->xbzrle_pages);
	x->cache_miss = STAT_GET(s->xbzrle_cache_miss);
	x->cache_miss_rate = STAT_GET(s->xbzrle_cache_miss_rate);
	x->encoding_rate = STAT_GET(s->xbzrle_encoding_rate);
	x->overflow = STAT_GET(s->xbzrle_overflow);
}

static void fill_compression(const struct mig_stats *s,
			     struct mig_info_compression *c)
{
	c->pages = STAT_GET(s->compress_pages);
	c->busy = STAT_GET(s->compress_busy);
	c->busy_rate = STAT_GET(s->compress_busy_rate);
	c->compressed_size_bytes = STAT_GET(s->compressed_size);
	c->compression_rate = STAT_GET(s->compression_rate);
}

static void fill_outgoing(struct vm *vm, struct mig_info *info)
{
	const struct migration *m = vm->outgoing;
	bool active = mig_status_is_active_like(m->status);
	bool completed = m->status == MIG_STATUS_COMPLETED;

	info->has_status = true;
	info->status = m->status;
	if (m->status == MIG_STATUS_FAILED && m->error_desc)
		info->error_desc = xstrdup(m->error_desc);
	if (!active && !completed)
		return;
	info->has_total_time = true;
	info->total_time_ms = migration_total_time_ms_locked(m);
	info->has_expected_downtime = active;
	info->expected_downtime_ms = STAT_GET(m->stats.expected_downtime_ms);
	info->has_downtime = completed;
	info->downtime_ms = m->downtime_ms;
	info->has_setup_time = true;
	info->setup_time_ms = m->setup_time_ms;
	info->has_ram = true;
	fill_ram(vm, m, completed, &info->ram);
	info->has_xbzrle = mig_options_cap(vm->options, MIG_CAP_XBZRLE);
	if (info->has_xbzrle)
		fill_xbzrle(vm, &m->stats, &info->xbzrle);
	info->has_compression = mig_options_cap(vm->options, MIG_CAP_COMPRESS);
	if (info->has_compression)
		fill_compression(&m->stats, &info->compression);
	info->cpu_throttle_percentage =
		cpu_throttle_get_percentage(&vm->ram.throttle);
	info->has_cpu_throttle_percentage = info->cpu_throttle_percentage != 0;
}

static void copy_addr(const struct transport_addr *from,
		      struct transport_addr *to)
{
	to->kind = from->kind;
	to->host = from->host ? xstrdup(from->host) : NULL;
	to->port = from->port ? xstrdup(from->port) : NULL;
	to->path = from->path ? xstrdup(from->path) : NULL;
}

static void fill_incoming(const struct incoming *in, struct mig_info *info)
{
	if (!in)
		return;
	if (in->status == MIG_STATUS_ACTIVE ||
	    in->status == MIG_STATUS_COMPLETED ||
	    in->status == MIG_STATUS_FAILED) {
		/* No times: QEMU 7.2 keeps none for the destination. */
		info->has_status = true;
		info->status = in->status;
	}
	if (in->socket_address && (in->status == MIG_STATUS_SETUP ||
				   in->status == MIG_STATUS_ACTIVE)) {
		info->socket_address = xstrdup(in->socket_address);
		copy_addr(&in->addr, &info->socket_addr);
	}
}

void mig_info_fill_locked(struct vm *vm, struct mig_info *info)
{
	memset(info, 0, sizeof(*info));
	if (vm->outgoing->status != MIG_STATUS_NONE)
		fill_outgoing(vm, info);
	else
		fill_incoming(vm->incoming, info);
}

void mig_info_release(struct mig_info *info)
{
	free(info->error_desc);
	free(info->socket_address);
	transport_addr_release(&info->socket_addr);
	memset(info, 0, sizeof(*info));
}
