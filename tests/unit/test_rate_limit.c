/*
 * migration/rate_limit: window shares, the overshoot carried as a debt,
 * no credit for a window that sent less, stretched windows, limit changes,
 * and the long-run average of a writer that always overshoots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "migration/rate_limit.h"

#define MS 1000000LL
#define LIMIT (8ULL << 20)       /* max-bandwidth 8M */
#define SHARE (LIMIT / 10)       /* one 100 ms window */

static void test_no_limit(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	rate_limit_start(&rl, 0, 0, 0);
	assert_true(rate_limit_budget(&rl, 0) == RATE_LIMIT_UNLIMITED);
	assert_true(rate_limit_budget(&rl, 1ULL << 40) == RATE_LIMIT_UNLIMITED);
	rate_limit_next_window(&rl, 100 * MS, 1ULL << 40, &w);
	assert_true(w.bytes == 1ULL << 40);
	assert_true(rate_limit_budget(&rl, 1ULL << 40) == RATE_LIMIT_UNLIMITED);
}

static void test_share_and_measure(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	rate_limit_start(&rl, LIMIT, 5 * MS, 1000);
	assert_true(rate_limit_window_end_ns(&rl) == 105 * MS);
	assert_true(rate_limit_budget(&rl, 1000) == SHARE);
	assert_true(rate_limit_budget(&rl, 1000 + 100) == SHARE - 100);
	assert_true(rate_limit_budget(&rl, 1000 + SHARE) == 0);
	assert_true(rate_limit_budget(&rl, 1000 + SHARE + 1) == 0);
	rate_limit_next_window(&rl, 130 * MS, 1000 + SHARE, &w);
	assert_true(w.bytes == SHARE);
	assert_true(w.ms > 124.9 && w.ms < 125.1);
	assert_true(rate_limit_window_end_ns(&rl) == 230 * MS);
}

static void test_overshoot_is_carried(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	uint64_t bytes = 0;
	rate_limit_start(&rl, LIMIT, 0, bytes);
	bytes += SHARE + 5000; /* the last record went past the budget */
	rate_limit_next_window(&rl, 100 * MS, bytes, &w);
	assert_true(rate_limit_budget(&rl, bytes) == SHARE - 5000);

	/* More than a whole share: the next window sends nothing ... */
	bytes += SHARE - 5000 + SHARE + SHARE / 2;
	rate_limit_next_window(&rl, 200 * MS, bytes, &w);
	assert_true(rate_limit_budget(&rl, bytes) == 0);
	rate_limit_next_window(&rl, 300 * MS, bytes, &w);
	/* ... and the one after gets what is left of its share. */
	assert_true(rate_limit_budget(&rl, bytes) == SHARE / 2);
}

static void test_no_credit(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	rate_limit_start(&rl, LIMIT, 0, 0);
	rate_limit_next_window(&rl, 100 * MS, SHARE / 4, &w);
	assert_true(rate_limit_budget(&rl, SHARE / 4) == SHARE);
}

static void test_stretched_window_owes_nothing(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	rate_limit_start(&rl, LIMIT, 0, 0);
	/* 3 shares in a window that lasted 300 ms (a slow drain) */
	rate_limit_next_window(&rl, 300 * MS, 3 * SHARE, &w);
	assert_true(rate_limit_budget(&rl, 3 * SHARE) == SHARE);
	/* 4 shares in 300 ms: about one is owed (each bound rounds down) */
	rate_limit_next_window(&rl, 600 * MS, 7 * SHARE, &w);
	assert_true(rate_limit_budget(&rl, 7 * SHARE) ==
		    SHARE - (4 * SHARE - LIMIT * 3 / 10));
}

static void test_limit_change(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	rate_limit_start(&rl, LIMIT, 0, 0);
	rate_limit_next_window(&rl, 100 * MS, SHARE + 1000, &w);
	/* the same value keeps the debt */
	rate_limit_set(&rl, LIMIT);
	assert_true(rate_limit_budget(&rl, SHARE + 1000) == SHARE - 1000);
	/* a new one applies at once and drops it */
	rate_limit_set(&rl, 2 * LIMIT);
	assert_true(rate_limit_budget(&rl, SHARE + 1000) == 2 * LIMIT / 10);
	assert_true(rate_limit_budget(&rl, SHARE + 1000 + 2 * LIMIT / 10) == 0);
	rate_limit_set(&rl, 0);
	assert_true(rate_limit_budget(&rl, 0) == RATE_LIMIT_UNLIMITED);
	/* a limit near 2^64 neither wraps nor owes */
	rate_limit_set(&rl, UINT64_MAX - 1);
	rate_limit_next_window(&rl, 200 * MS, 1ULL << 50, &w);
	assert_true(rate_limit_budget(&rl, 1ULL << 50) ==
		    (UINT64_MAX - 1) / 10);
}

/*
 * A writer that always goes past its budget by up to 60 KB (a drained
 * compress pool): over 10 simulated seconds the average stays at the
 * limit, give or take one overshoot.
 */
static void test_long_run_average(void **state)
{
	(void)state;
	struct rate_limit rl;
	struct rate_window w;
	uint64_t bytes = 0, rng = 14;
	int64_t now = 0;
	rate_limit_start(&rl, LIMIT, now, bytes);
	for (int i = 0; i < 100; i++) {
		uint64_t budget = rate_limit_budget(&rl, bytes);
		if (budget) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			bytes += budget + (rng >> 33) % 60000;
		}
		now += 100 * MS;
		rate_limit_next_window(&rl, now, bytes, &w);
	}
	assert_true(bytes <= LIMIT * 10 + 60000);
	/* and it does not starve either: it used all but the last debt */
	assert_true(bytes + 60000 >= LIMIT * 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_limit),
		cmocka_unit_test(test_share_and_measure),
		cmocka_unit_test(test_overshoot_is_carried),
		cmocka_unit_test(test_no_credit),
		cmocka_unit_test(test_stretched_window_owes_nothing),
		cmocka_unit_test(test_limit_change),
		cmocka_unit_test(test_long_run_average),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
