#include "migration/migration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "migration/bandwidth_estimate.h"
#include "migration/multifd_send.h"
#include "migration/ram_save.h"
#include "migration/ram_wire.h"
#include "migration/rate_limit.h"
#include "migration/return_path.h"
#include "migration/savevm.h"
#include "util/clock.h"
#include "util/thread.h"
#include "util/xalloc.h"

/* Sections stay small enough that convergence is re-checked often. */
#define SECTION_MAX_BYTES (64ULL << 20)

struct migration *migration_new(void)
{
	return xcalloc(1, sizeof(struct migration));
}

void migration_free(struct migration *m)
{
	if (!m)
		return;
	if (m->thread_joinable)
		pthread_join(m->thread, NULL);
	transport_addr_release(&m->addr);
	free(m->error_desc);
	free(m);
}

int64_t migration_total_time_ms_locked(const struct migration *m)
{
	if (mig_status_is_running(m->status))
		return clock_now_ms() - m->start_ms;
	return m->total_time_ms;
}

void migration_announce_status_locked(struct vm *vm, enum mig_status status)
{
	if (mig_options_cap(vm->options, MIG_CAP_EVENTS)) {
		struct vm_event ev = { .kind = VM_EVENT_MIGRATION,
				       .status = mig_status_name(status) };
		vm_emit_event_locked(vm, &ev);
	}
	pthread_cond_broadcast(&vm->changed);
}

/* Changes status under the lock and tells whoever waits (and QMP). */
static void set_status_locked(struct vm *vm, enum mig_status status)
{
	vm->outgoing->status = status;
	migration_announce_status_locked(vm, status);
}

/* The migration thread's view of one run. */
struct mig_run {
	struct vm *vm;
	struct migration *m;
	struct qemu_file *f;
	struct multifd_send *mf;    /* multifd capability on */
	pid_t child;
	struct ram_save rs;
	uint64_t threshold_bytes;   /* switch over when pending is below */
	struct rate_limit rl;       /* max-bandwidth, in 100 ms windows */
	uint64_t window_start_pages; /* pages sent when the window opened */
	struct bandwidth_estimate bw; /* from the last windows */
	bool window_starved; /* this window ran out of dirty pages */
	uint64_t passes_announced;  /* MIGRATION_PASS events sent */
	/* Going on while precopy shrinks the rest (still_shrinking): dirty
	 * bytes after the last dirty sync (before the first: all of RAM),
	 * whether the last check went on, whether a fit was lost so. */
	uint64_t synced_dirty;
	bool went_on;
	bool fit_lost;
	bool rp_on;                 /* return-path capability: rp runs */
	/* The run state the switch-over stopped: what globalstate sends
	 * (running, paused, prelaunch), as QEMU's global_state_store(). */
	enum runstate stopped_from;
	int64_t stopped_ns;         /* when the guest stopped: downtime from */
	struct guest_clock clock;   /* the guest's time once stopped */
	struct rp_reader rp;
};

static uint64_t pages_sent(const struct mig_stats *s)
{
	return STAT_GET(s->normal) + STAT_GET(s->duplicate) +
	       STAT_GET(s->xbzrle_pages) + STAT_GET(s->compress_pages);
}

static uint64_t max_bandwidth(struct mig_run *r)
{
	return mig_options_num(r->vm->options, MIG_PARAM_MAX_BANDWIDTH);
}

/* End of a 100 ms window: bandwidth, threshold, rates (QEMU's rules). */
static void update_window(struct mig_run *r, const struct rate_window *w)
{
	struct mig_stats *s = &r->m->stats;
	double ms = w->ms;
	uint64_t pages = pages_sent(s) - r->window_start_pages;
	uint64_t downtime_limit_ms =
		mig_options_num(r->vm->options, MIG_PARAM_DOWNTIME_LIMIT);

	bandwidth_estimate_window(&r->bw, w->bytes, ms, r->window_starved,
				  max_bandwidth(r));
	r->window_starved = false;
	r->threshold_bytes =
		(uint64_t)(r->bw.bytes_per_ms * (double)downtime_limit_ms);
	STAT_SET(s->mbps, ms > 0 ? (double)w->bytes * 8 / (ms * 1000) : 0);
	STAT_SET(s->pages_per_second,
		 ms > 0 ? (uint64_t)((double)pages * 1000 / ms) : 0);
	r->window_start_pages = pages_sent(s);
}

/* QEMU names the peer "command" for exec: and "socket" otherwise. */
static const char *peer_noun(const struct migration *m)
{
	return m->addr.kind == TRANSPORT_EXEC ? "command" : "socket";
}

/* MIGRATION_PASS {"pass": N} for every dirty sync not announced yet
 * (with the events capability, as QEMU). */
static void announce_passes(struct mig_run *r)
{
	uint64_t count = STAT_GET(r->m->stats.dirty_sync_count);
	if (count <= r->passes_announced)
		return;
	pthread_mutex_lock(&r->vm->lock);
	for (uint64_t n = r->passes_announced + 1; n <= count; n++) {
		if (!mig_options_cap(r->vm->options, MIG_CAP_EVENTS))
			break;
		struct vm_event ev = { .kind = VM_EVENT_MIGRATION_PASS,
				       .pass = n };
		vm_emit_event_locked(r->vm, &ev);
	}
	r->passes_announced = count;
	pthread_mutex_unlock(&r->vm->lock);
}

/* What the limiter and the bandwidth count: the main stream and every
 * multifd channel, in bytes that reached them. */
static uint64_t wire_bytes(const struct mig_run *r)
{
	return r->f->total_bytes + multifd_send_wire_bytes(r->mf);
}

static bool cancelled(struct mig_run *r)
{
	return atomic_load(&r->m->cancel_requested);
}

/*
 * downtime-limit is what the downtime may take, not what it should: while
 * precopy keeps shrinking what is left (the dirty pages after a sync
 * fewer than three quarters of the last sync's, pages and not wire bytes,
 * whose per-page estimate changes between syncs: an idle guest's rest of
 * the bulk pass, a guest that dirties well below the bandwidth), every
 * byte it sends is one the stopped guest does not wait for.  A fitting
 * sync whose dirty set did not shrink so (a workload whose dirty set
 * refills within a pass) or is empty switches over, QEMU's rule; the chain
 * of ones that go on is strictly decreasing, so it ends.  A fit that
 * came by luck (a sync that found the workload descheduled) may be lost
 * by going on: once that happened after the bulk pass (in it the rest
 * cannot be luck), the next fit switches over (docs/convergence.md).
 */
static bool still_shrinking(struct mig_run *r, uint64_t last_dirty,
			    uint64_t pending)
{
	if (pending > r->threshold_bytes) {
		r->fit_lost = r->fit_lost ||
			      (r->went_on && !r->rs.bulk_stage);
		r->went_on = false;
		return false;
	}
	uint64_t dirty = ram_save_pending_bytes(&r->rs);
	r->went_on = pending > 0 && !r->fit_lost &&
		     dirty < last_dirty - last_dirty / 4;
	return r->went_on;
}

/*
 * The switch-over rule: what is still dirty would go within downtime-limit
 * at the bandwidth of the last window, counted in the bytes it will take
 * on the wire (ram_save_pending_wire_bytes), not at full page size as in
 * QEMU 7.2: with XBZRLE or compression that is what stop-and-copy sends.
 * Pending that looks small enough is taken again after a dirty sync: the
 * bitmap empties just before each sync, and an empty bitmap says nothing
 * of what the guest wrote since.  `expected downtime` is published from
 * the same estimate and bandwidth, so it is the figure this decision
 * compares with the limit.
 */
static bool ready_to_switch_over(struct mig_run *r)
{
	uint64_t pending = ram_save_pending_wire_bytes(&r->rs);
	uint64_t last_dirty = r->synced_dirty;
	if (pending <= r->threshold_bytes) {
		/* What the channels still hold goes first, guest running;
		 * the sync then also finds what it wrote meanwhile. */
		if (r->mf && !multifd_send_wait_written(r->mf))
			qemu_file_set_error(r->f, EPIPE);
		ram_save_sync(&r->rs);
		announce_passes(r);
		pending = ram_save_pending_wire_bytes(&r->rs);
		r->synced_dirty = ram_save_pending_bytes(&r->rs);
	}
	/* No bandwidth before the first window closes (or after a window
	 * that sent nothing): the last figure stands, downtime-limit at
	 * first as in QEMU. */
	if (r->bw.bytes_per_ms > 0)
		STAT_SET(r->m->stats.expected_downtime_ms,
			 (uint64_t)((double)pending / r->bw.bytes_per_ms));
	bool shrinking = still_shrinking(r, last_dirty, pending);
	return pending <= r->threshold_bytes && !shrinking;
}

/*
 * Precopy iterations until the rest fits in the downtime limit.  false
 * with *errp set when the migration must fail for a cause of its own (an
 * XBZRLE cache or a compress pool that cannot be rebuilt); a stream error
 * is left in the file.
 */
static bool run_iterations(struct mig_run *r, struct error **errp)
{
	rate_limit_start(&r->rl, max_bandwidth(r), clock_now_ns(),
			 wire_bytes(r));
	r->window_start_pages = pages_sent(&r->m->stats);
	while (!cancelled(r) && !qemu_file_error(r->f)) {
		/* A destination that failed says so on the return path: stop
		 * now rather than stream into a dead peer. */
		if (r->rp_on && rp_reader_failed(&r->rp))
			return true;
		if (ready_to_switch_over(r))
			return true;
		if (!ram_save_apply_options(&r->rs, r->vm->options, errp))
			return false;
		/* max-bandwidth may change at any time, as in QEMU. */
		rate_limit_set(&r->rl, max_bandwidth(r));
		uint64_t budget = rate_limit_budget(&r->rl, wire_bytes(r));
		if (budget) {
			savevm_put_section_part(r->f, QEMU_VM_SECTION_PART,
						SAVEVM_ID_RAM);
			ram_save_iterate(&r->rs, r->f,
					 budget < SECTION_MAX_BYTES
						 ? budget
						 : SECTION_MAX_BYTES);
			savevm_put_footer(r->f, SAVEVM_ID_RAM);
			qemu_file_flush(r->f);
			if (!ram_save_pending_bytes(&r->rs) &&
			    rate_limit_budget(&r->rl, wire_bytes(r)))
				r->window_starved = true;
		}
		int64_t now = clock_now_ns();
		int64_t window_end = rate_limit_window_end_ns(&r->rl);
		if (now < window_end &&
		    !rate_limit_budget(&r->rl, wire_bytes(r))) {
			clock_sleep_ns(window_end - now);
			now = clock_now_ns();
		}
		if (now >= window_end) {
			struct rate_window w;
			rate_limit_next_window(&r->rl, now, wire_bytes(r), &w);
			update_window(r, &w);
		}
	}
	return true;
}

/*
 * Stops the VM and, with pause-before-switchover, waits in pre-switchover
 * for migrate_continue (QEMU: active -> pre-switchover -> device).  Returns
 * false when the migration was cancelled meanwhile.  *was_running tells
 * whether the guest ran before (what globalstate sends, and what a failure
 * restores).
 */
static bool stop_for_switch_over(struct mig_run *r, bool *was_running)
{
	struct vm *vm = r->vm;
	struct migration *m = r->m;
	pthread_mutex_lock(&vm->lock);
	*was_running = vm->runstate == RUNSTATE_RUNNING;
	r->stopped_from = vm->runstate;
	vm_stop_locked(vm, RUNSTATE_FINISH_MIGRATE);
	/* The downtime starts once the guest stopped, when STOP is sent: a
	 * vCPU (workload thread) the host had not scheduled may take tens
	 * of ms to see the stop, and runs until then. */
	r->stopped_ns = clock_now_ns();
	r->clock = vm->clock; /* stopped: its values are the guest's time */
	if (mig_options_cap(vm->options, MIG_CAP_PAUSE_BEFORE_SWITCHOVER) &&
	    !cancelled(r)) {
		m->continue_requested = false;
		set_status_locked(vm, MIG_STATUS_PRE_SWITCHOVER);
		while (!m->continue_requested && !cancelled(r))
			pthread_cond_wait(&vm->changed, &vm->lock);
		if (!cancelled(r))
			set_status_locked(vm, MIG_STATUS_DEVICE);
	}
	bool ok = !cancelled(r);
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

/* The END section, the devices, EOF: everything that is left. */
static void send_rest(struct mig_run *r)
{
	savevm_put_section_part(r->f, QEMU_VM_SECTION_END, SAVEVM_ID_RAM);
	ram_save_complete(&r->rs, r->f);
	announce_passes(r);
	savevm_put_footer(r->f, SAVEVM_ID_RAM);
	savevm_put_devices(r->f, runstate_name(r->stopped_from),
			   r->clock.ticks_offset, r->clock.clock_offset);
	qemu_file_flush(r->f);
}

/* A migration that ended without completing gives back the guest that
 * the switch-over stopped: running again if it ran, else paused (QEMU 7.2
 * would say postmigrate; a paused guest must not stay in finish-migrate,
 * where `cont` refuses). */
static void restore_guest_locked(struct vm *vm, bool vm_stopped,
				 bool was_running)
{
	if (vm_stopped && was_running)
		vm_start_locked(vm);
	else if (vm_stopped)
		vm_stop_locked(vm, RUNSTATE_PAUSED);
}

static void finish(struct mig_run *r, struct error *err, bool vm_stopped,
		   bool was_running)
{
	struct vm *vm = r->vm;
	struct migration *m = r->m;
	/* auto-converge's throttle ends with the migration, however it
	 * ends (QEMU 7.2's migration_iteration_finish). */
	cpu_throttle_stop(&vm->ram.throttle);
	/* Unpublish the file under the lock before closing it, so that a
	 * concurrent migrate_cancel never shuts down a freed stream. */
	pthread_mutex_lock(&vm->lock);
	atomic_store(&m->file, NULL);
	atomic_store(&m->mf, NULL);
	pthread_mutex_unlock(&vm->lock);
	/* A channel's own error is the cause of the main stream's. */
	if (r->mf && !err && !cancelled(r))
		multifd_send_failed(r->mf, &err);
	/* A channel blocked on a peer that stopped reading must not keep
	 * the end waiting. */
	if (r->mf && (err || cancelled(r) || qemu_file_error(r->f)))
		multifd_send_shutdown(r->mf);
	multifd_send_finish(r->mf);
	int io_err = r->f ? qemu_file_close(r->f) : 0;
	if (r->rp_on)
		rp_reader_stop(&r->rp);
	int wait_status = transport_reap(r->child);
	ram_save_release(&r->rs);
	/* exec: a command that failed is the reason, also for the broken
	 * pipe it left behind; an error of ours that came first stays. */
	if (r->child > 0 && !cancelled(r) && !err &&
	    (!io_err || io_err == EPIPE))
		transport_exec_status_ok(m->addr.path, wait_status, &err);

	pthread_mutex_lock(&vm->lock);
	m->total_time_ms = clock_now_ms() - m->start_ms;
	if (cancelled(r)) {
		/* QEMU 7.2: RESUME, then cancelled. */
		restore_guest_locked(vm, vm_stopped, was_running);
		set_status_locked(vm, MIG_STATUS_CANCELLED);
	} else if (err || io_err) {
		if (!err)
			error_setf(&err, "Unable to write to %s: %s",
				   peer_noun(m), strerror(io_err));
		free(m->error_desc);
		m->error_desc = xstrdup(err->msg);
		/* As QEMU, a failure nobody waits for goes to stderr. */
		if (!m->waiter_reports_error)
			fprintf(stderr, "qmig: %s\n", err->msg);
		/* QEMU 7.2: failed, then RESUME. */
		set_status_locked(vm, MIG_STATUS_FAILED);
		restore_guest_locked(vm, vm_stopped, was_running);
	} else {
		/* Completed: the final mbps covers the whole run. */
		struct mig_stats *s = &m->stats;
		int64_t ms = m->total_time_ms - m->setup_time_ms;
		if (ms > 0)
			STAT_SET(s->mbps, (double)STAT_GET(s->transferred) *
						  8 / (double)ms / 1000);
		STAT_SET(s->remaining_bytes, 0);
		vm_stop_locked(vm, RUNSTATE_POSTMIGRATE);
		set_status_locked(vm, MIG_STATUS_COMPLETED);
	}
	pthread_mutex_unlock(&vm->lock);
	error_free(err);
}

/* The return path, as QEMU: OPEN_RETURN_PATH, then PING 1 to see it
 * works, and the reader thread for the destination's answers. */
static bool open_return_path(struct mig_run *r, int fd, struct error **errp)
{
	int type;
	socklen_t type_len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0) {
		error_setf(errp, "the return-path capability needs a socket transport (tcp:, unix:, fd:)");
		return false;
	}
	savevm_put_open_return_path(r->f, 1);
	r->rp_on = rp_reader_start(&r->rp, fd, errp);
	return r->rp_on;
}

/* The channels, connected after the main stream (a QEMU 7.2 destination
 * takes its first connection for the main one). */
static bool start_multifd(struct mig_run *r, struct error **errp)
{
	struct vm *vm = r->vm;
	struct mig_options snap;
	mig_options_snapshot(vm->options, &snap);
	struct multifd_send_config cfg = {
		.channels = (unsigned)snap.num[MIG_PARAM_MULTIFD_CHANNELS],
		.method = (enum multifd_method)
			snap.num[MIG_PARAM_MULTIFD_COMPRESSION],
	};
	cfg.level = (int)snap.num[cfg.method == MULTIFD_ZSTD
					  ? MIG_PARAM_MULTIFD_ZSTD_LEVEL
					  : MIG_PARAM_MULTIFD_ZLIB_LEVEL];
	cfg.zero_copy = snap.caps[MIG_CAP_ZERO_COPY_SEND];
	mig_options_release(&snap);
	r->mf = multifd_send_start(&r->m->addr, &cfg, &vm->ram, &r->m->stats,
				   &vm->guest_running, r->f, errp);
	if (!r->mf)
		return false;
	r->rs.mf = r->mf;
	pthread_mutex_lock(&vm->lock);
	atomic_store(&r->m->mf, r->mf);
	pthread_mutex_unlock(&vm->lock);
	if (cancelled(r))
		multifd_send_shutdown(r->mf);
	return true;
}

/* Connect, the header and the ram START section; then active. */
static bool start_stream(struct mig_run *r, struct error **errp)
{
	struct vm *vm = r->vm;
	struct migration *m = r->m;
	int fd = transport_connect(&m->addr, &m->fds, &r->child, errp);
	if (fd < 0)
		return false;
	r->f = qemu_file_new_fd(fd, true);
	pthread_mutex_lock(&vm->lock);
	atomic_store(&m->file, r->f);
	pthread_mutex_unlock(&vm->lock);
	if (cancelled(r)) /* a cancel raced with the connect */
		qemu_file_shutdown(r->f);

	struct ram_save_config cfg;
	ram_save_config_read(&cfg, vm->options);
	if (!ram_save_init(&r->rs, &vm->ram, &vm->guest_running, &m->stats,
			   &cfg, errp))
		return false;
	if (mig_options_cap(vm->options, MIG_CAP_MULTIFD) &&
	    !start_multifd(r, errp))
		return false;
	/* validate-uuid: the destination checks ours (QEMU sends it only
	 * with -uuid). */
	savevm_put_header(r->f, mig_options_cap(vm->options,
						MIG_CAP_VALIDATE_UUID) &&
					vm->has_uuid
				? vm->uuid
				: NULL);
	if (mig_options_cap(vm->options, MIG_CAP_RETURN_PATH) &&
	    !open_return_path(r, fd, errp))
		return false;
	savevm_put_section_start(r->f, QEMU_VM_SECTION_START, SAVEVM_ID_RAM,
				 "ram", RAM_SECTION_VERSION);
	ram_save_setup(&r->rs, r->f);
	savevm_put_footer(r->f, SAVEVM_ID_RAM);
	qemu_file_flush(r->f);
	announce_passes(r); /* pass 1, just before active, as QEMU */

	pthread_mutex_lock(&vm->lock);
	m->setup_time_ms = clock_now_ms() - m->start_ms;
	if (!cancelled(r))
		set_status_locked(vm, MIG_STATUS_ACTIVE);
	STAT_SET(m->stats.expected_downtime_ms,
		 mig_options_num(vm->options, MIG_PARAM_DOWNTIME_LIMIT));
	pthread_mutex_unlock(&vm->lock);
	return true;
}

/* Stop, send the rest, and wait until the peer took it: the downtime. */
static void switch_over(struct mig_run *r, bool *vm_stopped, bool *was_running,
			struct error **errp)
{
	struct migration *m = r->m;
	*vm_stopped = true;
	if (!stop_for_switch_over(r, was_running))
		return;
	send_rest(r);
	/* The downtime ends when the destination has everything: with the
	 * return path once it confirms it loaded it all, on a socket once
	 * no byte is left unsent or unacknowledged in ours. */
	if (r->rp_on && !qemu_file_error(r->f))
		rp_reader_wait_shut(&r->rp, errp);
	else if (m->addr.kind != TRANSPORT_EXEC && !qemu_file_error(r->f))
		transport_socket_drained(r->f->fd, &m->cancel_requested);
	pthread_mutex_lock(&r->vm->lock);
	/* Rounded, not two truncated ends: a 0.9 ms downtime is 1. */
	m->downtime_ms = (clock_now_ns() - r->stopped_ns + 500000) / 1000000;
	pthread_mutex_unlock(&r->vm->lock);
	/* Without the return path, a destination that reset the stream or a
	 * channel gave up, whatever reached it (transport.h, multifd_send.h).
	 * Asked after the downtime: the close comes after the load. */
	if (!r->rp_on && m->addr.kind != TRANSPORT_EXEC &&
	    !qemu_file_error(r->f) &&
	    (transport_socket_was_reset(r->f->fd) ||
	     (r->mf && multifd_send_reset_by_peer(r->mf))))
		qemu_file_set_error(r->f, ECONNRESET);
	/* A pipe takes a small stream whole whether or not the command
	 * reads it: written is not yet taken. */
	if (m->addr.kind == TRANSPORT_EXEC && !qemu_file_error(r->f) &&
	    !transport_exec_drained(r->f->fd, &m->cancel_requested))
		qemu_file_set_error(r->f, EPIPE);
}

static void *migration_thread(void *opaque)
{
	struct mig_run *r = opaque;
	struct error *err = NULL;
	bool vm_stopped = false;
	bool was_running = false;

	if (!start_stream(r, &err))
		goto out;
	/* A failure of its own (a cache that cannot be resized) is the
	 * migration's error as it is, not a stream error. */
	bool iterated = run_iterations(r, &err);
	/* The destination's own word beats "Unable to write" when it failed. */
	if (iterated && r->rp_on && !cancelled(r) && rp_reader_failed(&r->rp))
		rp_reader_wait_shut(&r->rp, &err);
	if (!err && !cancelled(r) && !qemu_file_error(r->f))
		switch_over(r, &vm_stopped, &was_running, &err);
	/* The destination's own word beats "Unable to write" (which
	 * finish() makes of any other stream error). */
	if (!err && qemu_file_error(r->f) && !cancelled(r) && r->rp_on &&
	    rp_reader_destination_failed(&r->rp))
		error_setf(&err, "%s", RP_DESTINATION_FAILED);
out:
	finish(r, err, vm_stopped, was_running);
	free(r);
	return NULL;
}

bool migration_check_not_running_locked(struct vm *vm, struct error **errp)
{
	if (!mig_status_is_running(vm->outgoing->status))
		return true;
	error_setf(errp, "There's a migration process in progress");
	return false;
}

/* QEMU 7.2's migrate_prepare(): the checks before the URI is looked at. */
static bool migrate_prepare(struct vm *vm, const struct migrate_request *req,
			    struct error **errp)
{
	if (req->resume) {
		/* qmig has no postcopy, so nothing is ever paused. */
		error_setf(errp, "Cannot resume if there is no paused migration");
		return false;
	}
	if (!migration_check_not_running_locked(vm, errp))
		return false;
	if (vm->runstate == RUNSTATE_INMIGRATE) {
		error_setf(errp, "Guest is waiting for an incoming migration");
		return false;
	}
	if (vm->runstate == RUNSTATE_POSTMIGRATE) {
		error_setf(errp,
			   "Can't migrate the vm that was paused due to previous migration");
		return false;
	}
	if (req->blk || req->inc) {
		error_setf(errp,
			   "qmig has no block devices: block migration is not supported");
		return false;
	}
	return true;
}

/* QEMU 7.2 opens multifd channels with the socket address of the last
 * tcp/unix migration (or none); later QEMUs refuse the command in these
 * words, before any migration starts.  A URI that does not parse is left
 * to fail the migration it starts, below. */
static bool multifd_uri_ok(struct vm *vm, const char *uri,
			   struct error **errp)
{
	if (!mig_options_cap(vm->options, MIG_CAP_MULTIFD))
		return true;
	struct transport_addr addr;
	if (!transport_parse(uri, &addr, NULL)) {
		transport_addr_release(&addr);
		return true;
	}
	bool ok = addr.kind == TRANSPORT_TCP || addr.kind == TRANSPORT_UNIX;
	transport_addr_release(&addr);
	if (!ok)
		error_setf(errp,
			   "Migration requires multi-channel URIs (e.g. tcp)");
	return ok;
}

bool migration_start(struct vm *vm, const struct migrate_request *req,
		     struct error **errp)
{
	struct migration *m = vm->outgoing;
	if (!migrate_prepare(vm, req, errp))
		return false;
	if (!multifd_uri_ok(vm, req->uri, errp))
		return false;

	if (m->thread_joinable) {
		/* The previous run has finished (not running); reap it. */
		pthread_join(m->thread, NULL);
		m->thread_joinable = false;
	}
	transport_addr_release(&m->addr);
	m->fds = req->fds ? *req->fds : (struct transport_fd_names){ 0 };
	free(m->error_desc);
	m->error_desc = NULL;
	memset(&m->stats, 0, sizeof(m->stats));
	atomic_store(&m->cancel_requested, false);
	m->waiter_reports_error = false;
	m->start_ms = clock_now_ms();
	m->setup_time_ms = m->total_time_ms = m->downtime_ms = 0;
	set_status_locked(vm, MIG_STATUS_SETUP);
	/*
	 * A URI that does not parse fails the migration it started, as in
	 * QEMU 7.2: `setup` then `failed`, with the error as error-desc,
	 * except for an unknown scheme, which QEMU leaves without one.
	 */
	struct transport_addr addr;
	struct error *uri_err = NULL;
	if (!transport_parse(req->uri, &addr, &uri_err) ||
	    !transport_check_fd_name(&addr, req->fds, &uri_err)) {
		transport_addr_release(&addr);
		if (transport_scheme_known(req->uri))
			m->error_desc = xstrdup(uri_err->msg);
		set_status_locked(vm, MIG_STATUS_FAILED);
		error_propagate(errp, uri_err);
		return false;
	}

	m->addr = addr;

	struct mig_run *r = xcalloc(1, sizeof(*r));
	r->vm = vm;
	r->m = m;
	r->child = -1;
	r->synced_dirty = UINT64_MAX;
	struct error *err = NULL;
	if (!thread_start(&m->thread, migration_thread, r, "migration", &err)) {
		free(r);
		m->error_desc = xstrdup(err->msg);
		error_propagate(errp, err);
		set_status_locked(vm, MIG_STATUS_FAILED);
		return false;
	}
	m->thread_joinable = true;
	return true;
}

void migration_cancel(struct vm *vm)
{
	struct migration *m = vm->outgoing;
	if (!mig_status_is_running(m->status) ||
	    m->status == MIG_STATUS_CANCELLING)
		return;
	atomic_store(&m->cancel_requested, true);
	struct qemu_file *f = atomic_load(&m->file);
	if (f)
		qemu_file_shutdown(f);
	struct multifd_send *mf = atomic_load(&m->mf);
	if (mf)
		multifd_send_shutdown(mf);
	set_status_locked(vm, MIG_STATUS_CANCELLING);
}

bool migration_continue(struct vm *vm, const char *state, struct error **errp)
{
	int want = mig_status_lookup(state);
	if (want < 0) {
		error_setf(errp, "Parameter 'state' does not accept value '%s'",
			   state);
		return false;
	}
	struct migration *m = vm->outgoing;
	if (m->status != (enum mig_status)want) {
		error_setf(errp, "Migration not in expected state: %s",
			   mig_status_name(m->status));
		return false;
	}
	if (m->status == MIG_STATUS_PRE_SWITCHOVER)
		m->continue_requested = true;
	pthread_cond_broadcast(&vm->changed);
	return true;
}

enum mig_status migration_wait_locked(struct vm *vm)
{
	while (mig_status_is_running(vm->outgoing->status))
		pthread_cond_wait(&vm->changed, &vm->lock);
	migration_reap_locked(vm);
	return vm->outgoing->status;
}

void migration_reap_locked(struct vm *vm)
{
	struct migration *m = vm->outgoing;
	/* Once the status has left the running states the thread only
	 * unlocks and returns, so joining under the lock cannot deadlock. */
	if (m->thread_joinable && !mig_status_is_running(m->status)) {
		pthread_join(m->thread, NULL);
		m->thread_joinable = false;
	}
}
