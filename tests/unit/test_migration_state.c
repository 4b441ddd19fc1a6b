/*
 * The outgoing state machine driven in-process, as the monitors drive it
 * (tests/unit/lib/mig_pair.h: a struct vm source, a destination thread on
 * a socketpair): `migrate`'s refusals in QEMU 7.2's order, completion,
 * pause-before-switchover, cancel in setup, while active and before the
 * switch-over, a connect that fails, a destination that goes away before
 * and after the stop.  Each checks the events in the order QEMU 7.2 sends
 * them (shared/fixtures/qemu-7.2/qmp/mig-*.log), the run state after, and
 * that the source's RAM is intact or the destination's equal to it.
 * Every wait is on vm->changed or the peer's condvar: nothing sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/migration.h"
#include "tests/unit/lib/mig_pair.h"
#include "util/xalloc.h"

#define RAM_BYTES (8ULL << 20) /* far more than the socket holds */
#define PEER_URI "fd:" TEST_PEER_FD

static void expect_events(struct test_source *s, const char *want)
{
	char got[4096];
	test_source_events(s, got, sizeof(got), true);
	if (strcmp(got, want))
		fail_msg("events \"%s\", expected \"%s\"", got, want);
}

static void expect_runstate(struct test_source *s, enum runstate want)
{
	enum runstate got = test_source_runstate(s);
	if (got != want)
		fail_msg("run state %s, expected %s", runstate_name(got),
			 runstate_name(want));
}

static void expect_error_desc(struct test_source *s, const char *want)
{
	pthread_mutex_lock(&s->vm.lock);
	const char *got = s->vm.outgoing->error_desc;
	bool same = got && !strcmp(got, want);
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", got ? got : "(none)");
	pthread_mutex_unlock(&s->vm.lock);
	if (!same)
		fail_msg("error \"%s\", expected \"%s\"", copy, want);
}

static uint8_t *copy_ram(const struct guest_ram *ram)
{
	uint8_t *copy = xmalloc(ram->size_bytes);
	memcpy(copy, ram->host, ram->size_bytes);
	return copy;
}

/* The guest's RAM is what it was (the migration only read it). */
static void expect_ram_intact(struct test_source *s, uint8_t *before)
{
	assert_memory_equal(s->vm.ram.host, before, s->vm.ram.size_bytes);
	free(before);
}

static void expect_ram_migrated(struct test_source *s, struct test_peer *p)
{
	int64_t page = ram_first_difference(&s->vm.ram, &p->g.ram);
	if (page >= 0)
		fail_msg("destination page %lld differs", (long long)page);
}

static void start_migration(struct test_source *s)
{
	struct error *err = NULL;
	if (!test_source_migrate(s, PEER_URI, &err))
		fail_msg("migrate: %s", err->msg);
}

/* ---- refusals ---- */

static bool no_names(void *opaque, const char *name)
{
	return false;
}

static const struct transport_fd_names no_fd_names = { .has = no_names };

/* A refused `migrate` changes nothing: status, events, run state. */
static void expect_refused(struct test_source *s,
			   const struct migrate_request *req, const char *msg)
{
	struct error *err = NULL;
	pthread_mutex_lock(&s->vm.lock);
	enum mig_status before = s->vm.outgoing->status;
	enum runstate state = s->vm.runstate;
	bool ok = migration_start(&s->vm, req, &err);
	bool unchanged = s->vm.outgoing->status == before &&
			 s->vm.runstate == state;
	pthread_mutex_unlock(&s->vm.lock);
	if (ok)
		fail_msg("'%s' was not refused (expected \"%s\")", req->uri, msg);
	if (strcmp(err->msg, msg))
		fail_msg("'%s': \"%s\", expected \"%s\"", req->uri, err->msg,
			 msg);
	assert_true(unchanged);
	expect_events(s, "");
	error_free(err);
}

/*
 * A URI that does not parse fails the migration it starts, as QEMU 7.2:
 * `setup` then `failed`, the error as error-desc (desc NULL: none, as
 * QEMU leaves an unknown scheme); the run state does not change.
 */
static void expect_uri_failed(struct test_source *s,
			      const struct migrate_request *req,
			      const char *msg, const char *desc)
{
	struct error *err = NULL;
	pthread_mutex_lock(&s->vm.lock);
	enum runstate state = s->vm.runstate;
	bool ok = migration_start(&s->vm, req, &err);
	enum mig_status status = s->vm.outgoing->status;
	const char *got_desc = s->vm.outgoing->error_desc;
	bool desc_ok = desc ? got_desc && !strcmp(got_desc, desc) : !got_desc;
	bool state_ok = s->vm.runstate == state;
	pthread_mutex_unlock(&s->vm.lock);
	if (ok)
		fail_msg("'%s' was not refused (expected \"%s\")", req->uri, msg);
	if (strcmp(err->msg, msg))
		fail_msg("'%s': \"%s\", expected \"%s\"", req->uri, err->msg,
			 msg);
	assert_int_equal(status, MIG_STATUS_FAILED);
	assert_true(desc_ok);
	assert_true(state_ok);
	expect_events(s, "setup failed");
	error_free(err);
}

/* Everything wrong at once, then one thing less each time. */
static const struct migrate_request all_wrong = {
	.uri = "bogus:", .blk = true, .resume = true, .fds = &no_fd_names,
};
static const struct migrate_request blk_wrong = {
	.uri = "bogus:", .blk = true, .fds = &no_fd_names,
};

#define RESUME_MSG "Cannot resume if there is no paused migration"

static void refusals_of_an_idle_vm(struct test_source *s)
{
	expect_refused(s, &all_wrong, RESUME_MSG);
	expect_refused(s, &blk_wrong,
		       "qmig has no block devices: block migration is not supported");
	const struct migrate_request inc = { .uri = "bogus:", .inc = true };
	expect_refused(s, &inc,
		       "qmig has no block devices: block migration is not supported");
	const struct migrate_request uri = { .uri = "bogus:" };
	expect_uri_failed(s, &uri,
			  "Parameter 'uri' expects a valid migration protocol",
			  NULL);
	const struct migrate_request tcp = { .uri = "tcp:127.0.0.1" };
	expect_uri_failed(s, &tcp, "error parsing address '127.0.0.1'",
			  "error parsing address '127.0.0.1'");
	const struct migrate_request nounix = { .uri = "unix:" };
	expect_uri_failed(s, &nounix, "invalid Unix socket address",
			  "invalid Unix socket address");
	const struct migrate_request fd = { .uri = "fd:nosuch",
					    .fds = &no_fd_names };
	expect_uri_failed(s, &fd,
			  "File descriptor named 'nosuch' has not been found",
			  "File descriptor named 'nosuch' has not been found");
}

/* QEMU 7.2's migrate_prepare() order: resume, a migration in progress,
 * inmigrate, postmigrate; then block migration, the URI, the fd name. */
static void test_refusals_in_order(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	refusals_of_an_idle_vm(&s);

	pthread_mutex_lock(&s.vm.lock);
	s.vm.runstate = RUNSTATE_INMIGRATE; /* as -incoming leaves it */
	pthread_mutex_unlock(&s.vm.lock);
	expect_refused(&s, &all_wrong, RESUME_MSG);
	expect_refused(&s, &blk_wrong, "Guest is waiting for an incoming migration");
	pthread_mutex_lock(&s.vm.lock);
	s.vm.runstate = RUNSTATE_RUNNING;
	pthread_mutex_unlock(&s.vm.lock);

	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	test_source_cap(&s, "pause-before-switchover", true);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_PRE_SWITCHOVER);
	test_source_events(&s, (char[8]){ 0 }, 8, true);
	expect_refused(&s, &all_wrong, RESUME_MSG);
	expect_refused(&s, &blk_wrong, "There's a migration process in progress");
	struct error *err = NULL;
	pthread_mutex_lock(&s.vm.lock);
	assert_true(migration_continue(&s.vm, "pre-switchover", &err));
	pthread_mutex_unlock(&s.vm.lock);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	expect_runstate(&s, RUNSTATE_POSTMIGRATE);

	test_source_events(&s, (char[8]){ 0 }, 8, true);
	expect_refused(&s, &all_wrong, RESUME_MSG);
	expect_refused(&s, &blk_wrong,
		       "Can't migrate the vm that was paused due to previous migration");
	test_peer_release(&p);
	test_source_release(&s);
}

/* ---- runs to the end ---- */

/* mig-plain-completed.log: with nothing writing the guest there are three
 * dirty syncs (setup, the pass that converges, the END section). */
static void test_completed(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	expect_events(&s, "setup pass:1 active pass:2 STOP pass:3 completed");
	expect_runstate(&s, RUNSTATE_POSTMIGRATE);
	expect_ram_migrated(&s, &p);
	assert_string_equal(p.result.runstate, "running");
	assert_true(p.result.has_vmdesc);
	struct mig_stats *st = &s.vm.outgoing->stats;
	assert_int_equal(STAT_GET(st->remaining_bytes), 0);
	assert_int_equal(STAT_GET(st->dirty_sync_count), 3);
	assert_int_equal(STAT_GET(st->normal) + STAT_GET(st->duplicate),
			 RAM_BYTES / GUEST_PAGE_SIZE);
	assert_null(s.vm.outgoing->error_desc);
	test_peer_release(&p);
	test_source_release(&s);
}

/* mig-hmp-without-d.log: without `events` only STOP is sent. */
static void test_events_off(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	expect_events(&s, "STOP");
	expect_ram_migrated(&s, &p);
	test_peer_release(&p);
	test_source_release(&s);
}

/* mig-pause-before-switchover.log, and migrate_continue's errors. */
static void test_pause_before_switchover(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	test_source_cap(&s, "pause-before-switchover", true);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_PRE_SWITCHOVER);
	expect_runstate(&s, RUNSTATE_FINISH_MIGRATE);

	struct error *err = NULL;
	pthread_mutex_lock(&s.vm.lock);
	assert_false(migration_continue(&s.vm, "active", &err));
	assert_string_equal(err->msg,
			    "Migration not in expected state: pre-switchover");
	error_free(err);
	err = NULL;
	assert_false(migration_continue(&s.vm, "bogus", &err));
	assert_string_equal(err->msg,
			    "Parameter 'state' does not accept value 'bogus'");
	error_free(err);
	err = NULL;
	assert_false(vm_user_cont_locked(&s.vm, &err));
	assert_string_equal(err->msg, "Migration is not finalized yet");
	error_free(err);
	err = NULL;
	assert_true(migration_continue(&s.vm, "pre-switchover", &err));
	pthread_mutex_unlock(&s.vm.lock);

	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	expect_events(&s, "setup pass:1 active pass:2 STOP pre-switchover "
			  "device pass:3 completed");
	expect_ram_migrated(&s, &p);
	test_peer_release(&p);
	test_source_release(&s);
}

/* ---- cancel ---- */

/*
 * mig-setup-state.log: cancelled before the thread got anywhere (the
 * test holds the lock across migrate and migrate_cancel, so the thread
 * cannot even publish its stream): cancelling at once, then the setup
 * pass as QEMU 7.2 announces it, then cancelled.
 */
static void test_cancel_in_setup(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	uint8_t *before = copy_ram(&s.vm.ram);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	struct migrate_request req = { .uri = PEER_URI,
				       .fds = test_peer_fd_names() };
	struct error *err = NULL;
	pthread_mutex_lock(&s.vm.lock);
	assert_true(migration_start(&s.vm, &req, &err));
	assert_int_equal(s.vm.outgoing->status, MIG_STATUS_SETUP);
	migration_cancel(&s.vm);
	assert_int_equal(s.vm.outgoing->status, MIG_STATUS_CANCELLING);
	pthread_mutex_unlock(&s.vm.lock);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_CANCELLED);
	expect_events(&s, "setup cancelling pass:1 cancelled");
	expect_runstate(&s, RUNSTATE_RUNNING);
	expect_ram_intact(&s, before);
	assert_true(test_peer_join(&p) < 0);
	test_peer_release(&p);
	test_source_release(&s);
}

static void cancel(struct test_source *s)
{
	pthread_mutex_lock(&s->vm.lock);
	migration_cancel(&s->vm);
	pthread_mutex_unlock(&s->vm.lock);
}

/* mig-plain-cancelled.log: the destination reads nothing, so the source
 * is blocked in a write when the cancel comes; the guest never stopped. */
static void test_cancel_while_active(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	uint8_t *before = copy_ram(&s.vm.ram);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, true);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_ACTIVE);
	cancel(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_CANCELLED);
	expect_events(&s, "setup pass:1 active cancelling cancelled");
	expect_runstate(&s, RUNSTATE_RUNNING);
	expect_ram_intact(&s, before);
	test_peer_release_hold(&p);
	assert_true(test_peer_join(&p) < 0);
	test_peer_release(&p);
	test_source_release(&s);
}

/* After the switch-over stop: the guest runs again (RESUME before
 * cancelled, as QEMU 7.2's migration_iteration_finish). */
static void test_cancel_before_switchover(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	test_source_cap(&s, "pause-before-switchover", true);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_PRE_SWITCHOVER);
	cancel(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_CANCELLED);
	expect_events(&s, "setup pass:1 active pass:2 STOP pre-switchover "
			  "cancelling RESUME cancelled");
	expect_runstate(&s, RUNSTATE_RUNNING);
	assert_true(test_peer_join(&p) < 0);
	test_peer_release(&p);
	test_source_release(&s);
}

/* A guest the user had stopped is not left in finish-migrate by a cancel
 * (where `cont` would refuse forever): it is paused again, can be
 * continued and migrated. */
static void test_cancel_paused_guest(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	test_source_cap(&s, "pause-before-switchover", true);
	pthread_mutex_lock(&s.vm.lock);
	vm_user_stop_locked(&s.vm);
	pthread_mutex_unlock(&s.vm.lock);
	expect_events(&s, "STOP");
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_PRE_SWITCHOVER);
	cancel(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_CANCELLED);
	expect_events(&s, "setup pass:1 active pass:2 pre-switchover "
			  "cancelling cancelled");
	expect_runstate(&s, RUNSTATE_PAUSED);
	test_peer_release(&p);

	struct error *err = NULL;
	pthread_mutex_lock(&s.vm.lock);
	assert_true(vm_user_cont_locked(&s.vm, &err));
	pthread_mutex_unlock(&s.vm.lock);
	expect_runstate(&s, RUNSTATE_RUNNING);
	test_source_cap(&s, "pause-before-switchover", false);
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	expect_ram_migrated(&s, &p);
	test_peer_release(&p);
	test_source_release(&s);
}

/* ---- failures ---- */

/* The connect fails on the migration thread: failed, the guest never
 * stopped, and the next `migrate` works. */
static void test_failed_connect(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	uint8_t *before = copy_ram(&s.vm.ram);
	char dir[] = "/tmp/qmig-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char uri[64], want[128];
	snprintf(uri, sizeof(uri), "unix:%s/nobody", dir);
	snprintf(want, sizeof(want),
		 "Failed to connect to '%s/nobody': No such file or directory",
		 dir);
	struct error *err = NULL;
	assert_true(test_source_migrate(&s, uri, &err));
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_FAILED);
	expect_error_desc(&s, want);
	expect_events(&s, "setup failed");
	expect_runstate(&s, RUNSTATE_RUNNING);
	rmdir(dir);

	/* fd: names are looked up at connect when no monitor checked them */
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	assert_true(test_source_migrate(&s, "fd:other", &err));
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_FAILED);
	expect_error_desc(&s, "File descriptor named 'other' has not been found");
	expect_events(&s, "setup failed");
	expect_ram_intact(&s, before);

	start_migration(&s);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	expect_ram_migrated(&s, &p);
	test_peer_release(&p);
	test_source_release(&s);
}

/* mig-plain-failed.log: the destination goes away mid-stream. */
static void test_destination_gone(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	uint8_t *before = copy_ram(&s.vm.ram);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, true);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_ACTIVE);
	test_peer_hang_up(&p);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_FAILED);
	expect_error_desc(&s, "Unable to write to socket: Broken pipe");
	expect_events(&s, "setup pass:1 active failed");
	expect_runstate(&s, RUNSTATE_RUNNING);
	expect_ram_intact(&s, before);
	assert_true(test_peer_join(&p) < 0);
	test_peer_release(&p);
	test_source_release(&s);
}

/* The destination goes away while the source is stopped for the
 * switch-over: the guest runs again, announced after `failed` as QEMU
 * 7.2 does (migration_completion fails, then the iteration finish
 * restarts the VM). */
static void test_failure_after_stop(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	test_source_cap(&s, "pause-before-switchover", true);
	uint8_t *before = copy_ram(&s.vm.ram);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, false);
	start_migration(&s);
	test_source_wait_status(&s, MIG_STATUS_PRE_SWITCHOVER);
	test_peer_hang_up(&p);
	assert_true(test_peer_join(&p) < 0);
	struct error *err = NULL;
	pthread_mutex_lock(&s.vm.lock);
	assert_true(migration_continue(&s.vm, "pre-switchover", &err));
	pthread_mutex_unlock(&s.vm.lock);
	assert_int_equal(test_source_wait_end(&s), MIG_STATUS_FAILED);
	expect_error_desc(&s, "Unable to write to socket: Broken pipe");
	expect_events(&s, "setup pass:1 active pass:2 STOP pre-switchover "
			  "device pass:3 failed RESUME");
	expect_runstate(&s, RUNSTATE_RUNNING);
	expect_ram_intact(&s, before);
	test_peer_release(&p);
	test_source_release(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as qmig.c */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals_in_order),
		cmocka_unit_test(test_completed),
		cmocka_unit_test(test_events_off),
		cmocka_unit_test(test_pause_before_switchover),
		cmocka_unit_test(test_cancel_in_setup),
		cmocka_unit_test(test_cancel_while_active),
		cmocka_unit_test(test_cancel_before_switchover),
		cmocka_unit_test(test_cancel_paused_guest),
		cmocka_unit_test(test_failed_connect),
		cmocka_unit_test(test_destination_gone),
		cmocka_unit_test(test_failure_after_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
