/*
 * The guest's CPU throttle, as QEMU 7.2's softmmu/cpu-throttle.c: a share
 * of every time slice that the guest's writers (qmig's "vCPUs", the
 * workload threads) spend asleep.  At N % a writer that ran for a
 * 10 ms slice sleeps N / (100 - N) of it, so it runs (100 - N) % of the
 * time and writes that share of what it would.  0 is off; a set value is
 * clamped to 1..99 as QEMU clamps it.
 *
 * Threads: set by the migration thread, read by the writers and the
 * monitors; one atomic.
 */
#ifndef QMIG_RAM_CPU_THROTTLE_H
#define QMIG_RAM_CPU_THROTTLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CPU_THROTTLE_PCT_MIN 1
#define CPU_THROTTLE_PCT_MAX 99
#define CPU_THROTTLE_TIMESLICE_NS 10000000LL

struct cpu_throttle {
	atomic_uint pct; /* 0: off */
};

void cpu_throttle_set(struct cpu_throttle *t, int pct);
void cpu_throttle_stop(struct cpu_throttle *t);
unsigned cpu_throttle_get_percentage(const struct cpu_throttle *t);
bool cpu_throttle_active(const struct cpu_throttle *t);

/* How long a writer sleeps after a time slice at pct (0 for 0). */
int64_t cpu_throttle_sleep_ns(unsigned pct);

#endif
