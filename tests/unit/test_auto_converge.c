/*
 * auto-converge's rule against QEMU 7.2's (migration/ram.c,
 * softmmu/cpu-throttle.c): the second period above the threshold starts
 * or raises the throttle; initial, increment, tailslow and max as the
 * parameters say; the throttle clamps to 1..99; a writer at N % sleeps
 * N / (100 - N) of a 10 ms slice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "migration/auto_converge.h"
#include "ram/cpu_throttle.h"

#define MB 1000000ULL

static const struct auto_converge_params defaults = {
	.trigger_threshold = 50, .initial = 20, .increment = 10,
	.tailslow = false, .max = 99,
};

static void test_second_high_period_starts(void **state)
{
	struct auto_converge ac = { 0 };
	struct cpu_throttle t = { 0 };
	/* dirtied 60 MB while 100 MB went: above 50 % */
	auto_converge_period(&ac, &t, &defaults, 60 * MB, 100 * MB);
	assert_false(cpu_throttle_active(&t));
	/* at or below the threshold counts nothing, resets nothing */
	auto_converge_period(&ac, &t, &defaults, 50 * MB, 100 * MB);
	assert_false(cpu_throttle_active(&t));
	auto_converge_period(&ac, &t, &defaults, 60 * MB, 100 * MB);
	assert_int_equal(cpu_throttle_get_percentage(&t), 20);
	/* the count starts again: two more periods for the next step */
	auto_converge_period(&ac, &t, &defaults, 60 * MB, 100 * MB);
	assert_int_equal(cpu_throttle_get_percentage(&t), 20);
	auto_converge_period(&ac, &t, &defaults, 60 * MB, 100 * MB);
	assert_int_equal(cpu_throttle_get_percentage(&t), 30);
}

static void test_increment_stops_at_max(void **state)
{
	struct auto_converge_params p = defaults;
	p.initial = 60;
	p.increment = 25;
	p.max = 90;
	struct auto_converge ac = { 0 };
	struct cpu_throttle t = { 0 };
	unsigned want[] = { 60, 85, 90, 90 };
	for (int i = 0; i < 4; i++) {
		auto_converge_period(&ac, &t, &p, 10 * MB, 1 * MB);
		auto_converge_period(&ac, &t, &p, 10 * MB, 1 * MB);
		assert_int_equal(cpu_throttle_get_percentage(&t), want[i]);
	}
}

static void test_tailslow_takes_what_reaches_the_threshold(void **state)
{
	struct auto_converge_params p = defaults;
	p.tailslow = true;
	struct auto_converge ac = { 0 };
	struct cpu_throttle t = { 0 };
	cpu_throttle_set(&t, 50);
	/* threshold 50 MB of 55 dirtied: the guest at 50 % CPU would hit it
	 * at 45 % (50 * 50/55 = 45.45, truncated), so +5, not +10 */
	auto_converge_period(&ac, &t, &p, 55 * MB, 100 * MB);
	auto_converge_period(&ac, &t, &p, 55 * MB, 100 * MB);
	assert_int_equal(cpu_throttle_get_percentage(&t), 55);
	/* far above: the increment caps it */
	auto_converge_period(&ac, &t, &p, 500 * MB, 100 * MB);
	auto_converge_period(&ac, &t, &p, 500 * MB, 100 * MB);
	assert_int_equal(cpu_throttle_get_percentage(&t), 65);
}

static void test_clamp_and_sleep(void **state)
{
	struct cpu_throttle t = { 0 };
	cpu_throttle_set(&t, 0);
	assert_int_equal(cpu_throttle_get_percentage(&t), 1);
	cpu_throttle_set(&t, 150);
	assert_int_equal(cpu_throttle_get_percentage(&t), 99);
	cpu_throttle_stop(&t);
	assert_false(cpu_throttle_active(&t));
	assert_int_equal(cpu_throttle_sleep_ns(0), 0);
	assert_int_equal(cpu_throttle_sleep_ns(50), 10000001);
	assert_int_equal(cpu_throttle_sleep_ns(20), 2500001);
	/* 0.99 / 0.01 is 98.999...: the +1 ns makes it the whole 990 ms */
	assert_int_equal(cpu_throttle_sleep_ns(99), 990000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_high_period_starts),
		cmocka_unit_test(test_increment_stops_at_max),
		cmocka_unit_test(test_tailslow_takes_what_reaches_the_threshold),
		cmocka_unit_test(test_clamp_and_sleep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
