/* Monotonic time, for every duration qmig measures or waits for. */
#ifndef QMIG_UTIL_CLOCK_H
#define QMIG_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_now_ms(void)
{
	return clock_now_ns() / 1000000;
}

/* Sleeps for ns nanoseconds (no-op for ns <= 0); restarts after signals. */
void clock_sleep_ns(int64_t ns);

#endif
