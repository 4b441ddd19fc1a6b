/*
 * Where the multifd source puts its next packet of pages, and what the
 * packets its channels hold count for in a limited window
 * (migration/multifd_sched.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "migration/multifd_sched.h"

#define QUEUE (2 * MULTIFD_SCHED_AHEAD + 2)
#define AHEAD MULTIFD_SCHED_AHEAD

/* Idle channels take packets in turn, from `next` on. */
static void test_round_robin_when_idle(void **state)
{
	struct multifd_sched_load l[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	assert_int_equal(multifd_sched_pick(l, 3, 0, QUEUE), 0);
	assert_int_equal(multifd_sched_pick(l, 3, 1, QUEUE), 1);
	assert_int_equal(multifd_sched_pick(l, 3, 2, QUEUE), 2);
	/* next wraps: from 2 on, 2 then 0 */
	l[2] = (struct multifd_sched_load){ 1, 1 };
	assert_int_equal(multifd_sched_pick(l, 3, 2, QUEUE), 0);
}

/* A busy channel gets another packet (QEMU 7.2 would wait for an idle
 * one), but the least loaded comes first, whatever `next` says. */
static void test_busy_channels_queue_ahead(void **state)
{
	struct multifd_sched_load l[2] = { { 1, 1 }, { 1, 1 } };
	assert_int_equal(multifd_sched_pick(l, 2, 1, QUEUE), 1);
	l[1] = (struct multifd_sched_load){ 3, 3 };
	assert_int_equal(multifd_sched_pick(l, 2, 1, QUEUE), 0);
	l[0] = (struct multifd_sched_load){ 5, 5 };
	assert_int_equal(multifd_sched_pick(l, 2, 0, QUEUE), 1);
}

/* MULTIFD_SCHED_AHEAD packets of pages and no more: then none is picked
 * and the migration thread waits. */
static void test_full_channels_are_skipped(void **state)
{
	struct multifd_sched_load l[2] = { { AHEAD, AHEAD },
					   { AHEAD - 1, AHEAD - 1 } };
	assert_int_equal(multifd_sched_pick(l, 2, 0, QUEUE), 1);
	l[1].page_jobs = AHEAD;
	l[1].jobs = AHEAD;
	assert_int_equal(multifd_sched_pick(l, 2, 0, QUEUE), 2);
	assert_int_equal(multifd_sched_pick(l, 1, 0, QUEUE), 1);
}

/* SYNC packets take queue room too: a channel whose queue is full of
 * them is skipped even with few packets of pages. */
static void test_sync_packets_fill_the_queue(void **state)
{
	struct multifd_sched_load l[2] = { { 0, QUEUE }, { 2, 3 } };
	assert_int_equal(multifd_sched_pick(l, 2, 0, QUEUE), 1);
	l[1].jobs = QUEUE;
	assert_int_equal(multifd_sched_pick(l, 2, 0, QUEUE), 2);
}

static void test_pending_at_raw_size_first(void **state)
{
	assert_int_equal(multifd_sched_pending_wire(524288, 0, 0), 524288);
	assert_int_equal(multifd_sched_pending_wire(0, 1000, 10), 0);
}

/* After packets went out, the queued ones count at their ratio, rounded
 * up: pages compressed to a quarter count a quarter. */
static void test_pending_at_the_written_ratio(void **state)
{
	assert_int_equal(multifd_sched_pending_wire(4000, 1000, 250), 1000);
	assert_int_equal(multifd_sched_pending_wire(10, 3, 1), 4);
	/* incompressible pages with their headers: a little over raw */
	assert_int_equal(multifd_sched_pending_wire(524288, 524288, 525632),
			 525632);
	/* a long migration: no 64-bit overflow in the product */
	uint64_t tib = 1ULL << 40;
	assert_int_equal(multifd_sched_pending_wire(1ULL << 24, 16 * tib,
						    4 * tib),
			 1ULL << 22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin_when_idle),
		cmocka_unit_test(test_busy_channels_queue_ahead),
		cmocka_unit_test(test_full_channels_are_skipped),
		cmocka_unit_test(test_sync_packets_fill_the_queue),
		cmocka_unit_test(test_pending_at_raw_size_first),
		cmocka_unit_test(test_pending_at_the_written_ratio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
