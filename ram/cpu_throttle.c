#include "ram/cpu_throttle.h"

void cpu_throttle_set(struct cpu_throttle *t, int pct)
{
	if (pct > CPU_THROTTLE_PCT_MAX)
		pct = CPU_THROTTLE_PCT_MAX;
	if (pct < CPU_THROTTLE_PCT_MIN)
		pct = CPU_THROTTLE_PCT_MIN;
	atomic_store_explicit(&t->pct, (unsigned)pct, memory_order_relaxed);
}

void cpu_throttle_stop(struct cpu_throttle *t)
{
	atomic_store_explicit(&t->pct, 0, memory_order_relaxed);
}

unsigned cpu_throttle_get_percentage(const struct cpu_throttle *t)
{
	return atomic_load_explicit(&((struct cpu_throttle *)t)->pct,
				    memory_order_relaxed);
}

bool cpu_throttle_active(const struct cpu_throttle *t)
{
	return cpu_throttle_get_percentage(t) != 0;
}

int64_t cpu_throttle_sleep_ns(unsigned pct)
{
	if (!pct)
		return 0;
	double share = (double)pct / 100;
	/* +1 ns: 0.999... of a slice must not round down (QEMU does so). */
	return (int64_t)(share / (1 - share) * CPU_THROTTLE_TIMESLICE_NS + 1);
}
