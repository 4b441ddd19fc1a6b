#include "util/clock.h"

#include <errno.h>

void clock_sleep_ns(int64_t ns)
{
	if (ns <= 0)
		return;
	struct timespec ts = { .tv_sec = ns / 1000000000,
			       .tv_nsec = ns % 1000000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
