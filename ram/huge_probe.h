/*
 * Huge pages for a loader's RAM while they come cheap.  On this VM the
 * balloon gives free 2 MiB blocks back to the host, so a huge page is
 * either warm (a first touch zeroes 2 MiB in ~0.25 ms, 0.5 us a 4 KiB
 * page, four times cheaper than a 4 KiB fault) or cold (~5.6 ms, 11 us a
 * 4 KiB page: the host backs it again).  4 KiB pages cost ~2 us each
 * either way: they come from the small free blocks the balloon leaves.
 * The loader keeps huge pages and times the first store into each 2 MiB
 * region; the first that was slow turns them off for the rest of the RAM.
 *
 * Threads: owned by the loader thread.
 */
#ifndef QMIG_RAM_HUGE_PROBE_H
#define QMIG_RAM_HUGE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "ram/guest_ram.h"

/* A first touch slower than this is a cold huge page (warm: ~0.25 ms). */
#define HUGE_PROBE_COLD_NS 1500000

struct huge_probe {
	uint8_t *host;
	uint64_t size_bytes;
	uint64_t *touched;  /* one bit a 2 MiB region; NULL once off */
	uint64_t cold_ns;   /* the first touch that turned them off, or 0 */
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

#endif
