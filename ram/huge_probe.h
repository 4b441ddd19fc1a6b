/*
 * Huge pages for a loader's RAM while they come cheap.  On this VM the
 * balloon gives free 2 MiB blocks back to the host, so a huge page is
 * either warm (a first touch zeroes 2 MiB in ~0.25 ms, 0.5 us a 4 KiB
 * page, four times cheaper than a 4 KiB fault) or cold (~5.6 ms, 11 us a
 * 4 KiB page: the host backs it again).  4 KiB pages cost ~2 us each
 * either way: they come from the small free blocks the balloon leaves.
 * The loader keeps huge pages and times (in the thread's CPU time) the
 * first store into each 2 MiB region.  They go off for the rest of the
 * RAM at a touch over HUGE_PROBE_COLD_NS (cold: and a pool with cold
 * blocks among warm ones costs 6-25 ms a cold region, seen), or once the
 * running mean of the touches costs more than the pages stored so far
 * per touched region would in 4 KiB faults (HUGE_PROBE_SMALL_NS each):
 * the 1 GiB idle image stores ~474 pages in each region it touches, the
 * unthrottled idle guest ~154, so a lukewarm 1 ms touch pays for the
 * first and not the second (warm touches: 0.33-0.59 ms wall in a traced
 * idle-guest run).  CPU time, not wall time: on a busy 2-core machine a
 * warm touch is now and then preempted (seen: 1.8 ms wall), and one such
 * touch turned huge pages off for the idle guest, whose 4 KiB faults then
 * cost 0.35 s against ~0.2 s.
 *
 * Threads: touch and off from any thread (the loader, multifd channels);
 * init and release on one, with no touch running.  The caller serialises
 * the stores into one page (the probe's zero byte is one of them).
 */
#ifndef QMIG_RAM_HUGE_PROBE_H
#define QMIG_RAM_HUGE_PROBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ram/guest_ram.h"

/* A touch slower than this is cold whatever the stores (warm: ~0.25 ms,
 * cold ~5.6 ms and more). */
#define HUGE_PROBE_COLD_NS 1500000
/* A 4 KiB first-touch fault here: 4.4 us (perf of the unthrottled idle
 * guest's destination with huge pages off: 348 ms for 78.6k faults). */
#define HUGE_PROBE_SMALL_NS 4000

struct huge_probe {
	uint8_t *host;
	uint64_t size_bytes;
	_Atomic uint64_t *touched;  /* one bit a 2 MiB region */
	atomic_bool on;
	_Atomic uint64_t stores;    /* pages stored while on */
	_Atomic uint64_t touches;   /* regions timed */
	_Atomic uint64_t mean_ns;   /* their running mean */
	_Atomic uint64_t cold_ns;   /* the touch that turned them off, or 0 */
};

/* Keeps the RAM's huge pages and starts timing first touches. */
void huge_probe_init(struct huge_probe *hp, struct guest_ram *ram);
/* 4 KiB pages from now on (pages already faulted in stay as they are). */
void huge_probe_off(struct huge_probe *hp);
void huge_probe_release(struct huge_probe *hp);

/*
 * Call before a whole page at `offset` is written: if it is the first in
 * its 2 MiB region, it is faulted in here (a zero byte stored where the
 * page will be overwritten) and timed.
 */
void huge_probe_touch(struct huge_probe *hp, uint64_t offset);

/* What touch does with the time a first touch took (after counting the
 * store): true when that turned huge pages off. */
bool huge_probe_record(struct huge_probe *hp, uint64_t took_ns);

#endif
