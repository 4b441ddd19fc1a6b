#include "migration/auto_converge.h"

static void throttle_guest_down(struct cpu_throttle *t,
				const struct auto_converge_params *p,
				uint64_t bytes_dirty_period,
				uint64_t bytes_dirty_threshold)
{
	if (!cpu_throttle_active(t)) {
		cpu_throttle_set(t, (int)p->initial);
		return;
	}
	uint64_t now = cpu_throttle_get_percentage(t);
	uint64_t inc = p->increment;
	if (p->tailslow) {
		/* The CPU share at which the guest would dirty exactly the
		 * threshold, if its dirty rate follows its CPU share. */
		uint64_t cpu_now = 100 - now;
		uint64_t cpu_ideal = (uint64_t)((double)cpu_now *
						 ((double)bytes_dirty_threshold /
						  (double)bytes_dirty_period));
		if (cpu_now - cpu_ideal < inc)
			inc = cpu_now - cpu_ideal;
	}
	uint64_t next = now + inc;
	cpu_throttle_set(t, (int)(next < p->max ? next : p->max));
}

void auto_converge_period(struct auto_converge *ac, struct cpu_throttle *t,
			  const struct auto_converge_params *p,
			  uint64_t bytes_dirty_period,
			  uint64_t bytes_xfer_period)
{
	uint64_t bytes_dirty_threshold =
		bytes_xfer_period * p->trigger_threshold / 100;
	if (bytes_dirty_period > bytes_dirty_threshold &&
	    ++ac->dirty_rate_high_cnt >= 2) {
		ac->dirty_rate_high_cnt = 0;
		throttle_guest_down(t, p, bytes_dirty_period,
				    bytes_dirty_threshold);
	}
}
