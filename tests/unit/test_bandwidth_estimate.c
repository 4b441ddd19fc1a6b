/*
 * migration/bandwidth_estimate: a window that had pages to send sets the
 * figure; one that ran out of dirty pages may raise it and never lowers
 * it, except down to a max-bandwidth lowered meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "migration/bandwidth_estimate.h"

#define M8 (8ULL << 20)          /* max-bandwidth 8M, in bytes/s */
#define WINDOW_8M (M8 / 10)      /* what a 100 ms window sends at 8M */

static void test_busy_windows_set_it(void **state)
{
	(void)state;
	struct bandwidth_estimate b = { 0 };
	bandwidth_estimate_window(&b, WINDOW_8M, 100, false, M8);
	assert_true(b.bytes_per_ms == (double)WINDOW_8M / 100);
	/* a slower link: followed at once */
	bandwidth_estimate_window(&b, WINDOW_8M / 4, 100, false, M8);
	assert_true(b.bytes_per_ms == (double)WINDOW_8M / 400);
	/* a window that sent nothing while pages waited: 0, as QEMU */
	bandwidth_estimate_window(&b, 0, 100, false, M8);
	assert_true(b.bytes_per_ms == 0);
}

/* The seed workload with compress at 8M: the 220 KB a pass dirties go out
 * in a fraction of a window, which then idles. */
static void test_a_starved_window_does_not_lower_it(void **state)
{
	(void)state;
	struct bandwidth_estimate b = { 0 };
	bandwidth_estimate_window(&b, WINDOW_8M, 100, false, M8);
	double link = b.bytes_per_ms;
	bandwidth_estimate_window(&b, 220000, 100, true, M8);
	assert_true(b.bytes_per_ms == link);
	bandwidth_estimate_window(&b, 0, 100, true, M8);
	assert_true(b.bytes_per_ms == link);
	/* but a starved window that sent more raises it */
	bandwidth_estimate_window(&b, 2 * WINDOW_8M, 100, true, 0);
	assert_true(b.bytes_per_ms == 2 * link);
}

/* The first window may be starved too: what it measured is all there is. */
static void test_a_first_starved_window_counts(void **state)
{
	(void)state;
	struct bandwidth_estimate b = { 0 };
	bandwidth_estimate_window(&b, 220000, 100, true, M8);
	assert_true(b.bytes_per_ms == 2200);
}

static void test_a_kept_figure_follows_a_lower_limit(void **state)
{
	(void)state;
	struct bandwidth_estimate b = { 0 };
	bandwidth_estimate_window(&b, WINDOW_8M, 100, false, M8);
	/* max-bandwidth 1M now, and the window ran dry at 50 KB */
	bandwidth_estimate_window(&b, 50000, 100, true, 1 << 20);
	assert_true(b.bytes_per_ms == (double)(1 << 20) / 1000);
	/* at 100 KB: the measure is above the limit's share (the window
	 * paid an overshoot), and it is what stands */
	b.bytes_per_ms = (double)WINDOW_8M / 100;
	bandwidth_estimate_window(&b, 200000, 100, true, 1 << 20);
	assert_true(b.bytes_per_ms == 2000);
	/* without a limit nothing caps it */
	b.bytes_per_ms = 1e6;
	bandwidth_estimate_window(&b, 100, 100, true, 0);
	assert_true(b.bytes_per_ms == 1e6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_windows_set_it),
		cmocka_unit_test(test_a_starved_window_does_not_lower_it),
		cmocka_unit_test(test_a_first_starved_window_counts),
		cmocka_unit_test(test_a_kept_figure_follows_a_lower_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
