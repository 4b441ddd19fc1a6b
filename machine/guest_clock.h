/*
 * The guest's time, as QEMU 7.2 keeps it in timers_state and sends it in
 * the timer section: a tick counter (the host's TSC while the guest runs)
 * and a virtual clock in ns that run only while the VM runs
 * (cpu_enable_ticks / cpu_disable_ticks).  While stopped each offset is
 * the value itself; while running, value = offset + host now.  A source
 * stopped for the switch-over sends the values; a destination loads them
 * before it first runs, so that guest time goes on across migrations.
 * The caller holds vm->lock.
 */
#ifndef QMIG_MACHINE_GUEST_CLOCK_H
#define QMIG_MACHINE_GUEST_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct guest_clock {
	int64_t ticks_offset; /* QEMU's cpu_ticks_offset */
	int64_t clock_offset; /* QEMU's cpu_clock_offset (ns) */
	bool enabled;         /* the VM runs */
};

/* Both start at 0, stopped (QEMU's state before the VM first runs). */
void guest_clock_init(struct guest_clock *c);
void guest_clock_enable(struct guest_clock *c);
void guest_clock_disable(struct guest_clock *c);
/* The virtual clock now (ns of guest running time). */
int64_t guest_clock_ns(const struct guest_clock *c);
/* A timer section's values, into a stopped clock. */
void guest_clock_load(struct guest_clock *c, int64_t ticks, int64_t clock_ns);

#endif
