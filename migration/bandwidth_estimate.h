/*
 * The bandwidth the switch-over divides by: what the stream took in the
 * last 100 ms window, as QEMU 7.2 measures it, except in a window the
 * sender spent partly idle because nothing was dirty.
 *
 * Such a window measures the guest, not the link.  Once the dirty set is
 * smaller than what a window can send, QEMU's figure follows the set down,
 * the threshold (bandwidth x downtime-limit) shrinks with it and the rest
 * never fits: the seed workload with compress at 8M had 220 KB pending
 * against thresholds of 77-221 KB for 20 syncs.  A starved window may
 * raise the figure but never lowers it; a window that had pages to send
 * and did not get them out (the link or the limiter set the pace) sets it
 * either way, so a slower link is followed at the next busy window.  A
 * figure kept so is capped by max-bandwidth, which may have been lowered
 * meanwhile.
 *
 * Threads: owned by the migration thread.
 */
#ifndef QMIG_MIGRATION_BANDWIDTH_ESTIMATE_H
#define QMIG_MIGRATION_BANDWIDTH_ESTIMATE_H

#include <stdbool.h>
#include <stdint.h>

struct bandwidth_estimate {
	double bytes_per_ms; /* 0 until a window sent something */
};

/*
 * A closed window that lasted `ms` and in which the stream took `bytes`;
 * `starved`: the sender ran out of dirty pages with budget left in it.
 * limit_bytes_per_s is max-bandwidth (0: none).
 */
void bandwidth_estimate_window(struct bandwidth_estimate *b, uint64_t bytes,
			       double ms, bool starved,
			       uint64_t limit_bytes_per_s);

#endif
