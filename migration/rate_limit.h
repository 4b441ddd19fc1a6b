/*
 * rate_limit: `max-bandwidth` for the outgoing stream, counted in the bytes
 * that reach the stream, whichever thread produced them.
 *
 * Time is cut into windows of RATE_LIMIT_WINDOW_MS (100 ms, as QEMU's
 * BUFFER_DELAY); a window may send bytes_per_s / 10.  A writer cannot stop
 * exactly at its budget: a page record is indivisible, and records from the
 * compress pool are counted when they leave it, after the page was taken.
 * What a window sends beyond its share is a debt the following windows pay
 * back, so the average over any run of windows stays at the limit (QEMU
 * forgets each window's overshoot).  A window that sends less than its
 * share leaves no credit: no burst after a slow spell.
 *
 * A window's share is counted for the time it really lasted (>= 100 ms),
 * so a window stretched by a slow writer or a busy machine owes nothing
 * for the stretch.
 *
 * Threads: none inside; the migration thread owns it.
 */
#ifndef QMIG_MIGRATION_RATE_LIMIT_H
#define QMIG_MIGRATION_RATE_LIMIT_H

#include <stdint.h>

#define RATE_LIMIT_WINDOW_MS 100
#define RATE_LIMIT_UNLIMITED UINT64_MAX /* budget without a limit */

struct rate_limit {
	uint64_t bytes_per_s;        /* the limit in force; 0: none */
	int64_t window_start_ns;     /* when the current window opened */
	uint64_t window_start_bytes; /* the stream's byte count then */
	uint64_t debt_bytes;         /* sent beyond earlier windows' shares */
};

/* What a closed window measured (for the bandwidth estimate). */
struct rate_window {
	double ms;      /* how long it lasted */
	uint64_t bytes; /* what the stream took in it */
};

/* Opens the first window at now_ns, the stream having taken stream_bytes;
 * bytes_per_s 0 means no limit (QEMU treats 0 so). */
void rate_limit_start(struct rate_limit *rl, uint64_t bytes_per_s,
		      int64_t now_ns, uint64_t stream_bytes);

/*
 * A new max-bandwidth mid-window: it applies at once to what is left of
 * the window; the debt run up under the old limit is dropped (it was owed
 * to a limit no longer asked for).  The same value changes nothing.
 */
void rate_limit_set(struct rate_limit *rl, uint64_t bytes_per_s);

/* Bytes the current window may still send (0 when used up or in debt;
 * RATE_LIMIT_UNLIMITED without a limit). */
uint64_t rate_limit_budget(const struct rate_limit *rl,
			   uint64_t stream_bytes);

/* When the current window ends (its nominal length). */
int64_t rate_limit_window_end_ns(const struct rate_limit *rl);

/*
 * Closes the current window at now_ns (at or after its end), carries what
 * it sent beyond its share into the debt, and opens the next one.  *w gets
 * the closed window's length and bytes.
 */
void rate_limit_next_window(struct rate_limit *rl, int64_t now_ns,
			    uint64_t stream_bytes, struct rate_window *w);

#endif
