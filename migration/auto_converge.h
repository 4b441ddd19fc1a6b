/*
 * auto-converge, QEMU 7.2's rule (migration/ram.c,
 * migration_trigger_throttle and mig_throttle_guest_down): at the end of
 * every dirty-rate period (the first dirty sync a second or more after the
 * last period ended) the bytes the guest dirtied in it are compared with
 * throttle-trigger-threshold % of the bytes the migration sent in it.  The
 * second time they are above (not necessarily in a row) the throttle
 * starts at cpu-throttle-initial or, running already, rises by
 * cpu-throttle-increment, with cpu-throttle-tailslow by no more than what
 * would bring the dirty rate down to the threshold, and never above
 * max-cpu-throttle.  The throttle is lifted when the migration ends,
 * whatever the end (migration.c).
 *
 * Threads: the migration thread's.
 */
#ifndef QMIG_MIGRATION_AUTO_CONVERGE_H
#define QMIG_MIGRATION_AUTO_CONVERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "ram/cpu_throttle.h"

struct auto_converge_params {
	unsigned trigger_threshold; /* throttle-trigger-threshold, % */
	unsigned initial;           /* cpu-throttle-initial, % */
	unsigned increment;         /* cpu-throttle-increment, % */
	bool tailslow;              /* cpu-throttle-tailslow */
	unsigned max;               /* max-cpu-throttle, % */
};

struct auto_converge {
	unsigned dirty_rate_high_cnt; /* periods above the threshold */
};

/* One period's end: raises t when the guest out-dirtied the wire. */
void auto_converge_period(struct auto_converge *ac, struct cpu_throttle *t,
			  const struct auto_converge_params *p,
			  uint64_t bytes_dirty_period,
			  uint64_t bytes_xfer_period);

#endif
