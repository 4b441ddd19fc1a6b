#include "migration/rate_limit.h"

#define WINDOW_NS (RATE_LIMIT_WINDOW_MS * 1000000LL)
#define NS_PER_S 1000000000ULL

void rate_limit_start(struct rate_limit *rl, uint64_t bytes_per_s,
		      int64_t now_ns, uint64_t stream_bytes)
{
	rl->bytes_per_s = bytes_per_s;
	rl->window_start_ns = now_ns;
	rl->window_start_bytes = stream_bytes;
	rl->debt_bytes = 0;
}

void rate_limit_set(struct rate_limit *rl, uint64_t bytes_per_s)
{
	if (bytes_per_s == rl->bytes_per_s)
		return;
	rl->bytes_per_s = bytes_per_s;
	rl->debt_bytes = 0;
}

/* The share of a window of the nominal length. */
static uint64_t window_share(const struct rate_limit *rl)
{
	return rl->bytes_per_s / (1000 / RATE_LIMIT_WINDOW_MS);
}

uint64_t rate_limit_budget(const struct rate_limit *rl, uint64_t stream_bytes)
{
	if (!rl->bytes_per_s)
		return RATE_LIMIT_UNLIMITED;
	uint64_t share = window_share(rl);
	uint64_t used = stream_bytes - rl->window_start_bytes;
	/* Each test alone, so that no sum can wrap. */
	if (rl->debt_bytes >= share || used >= share - rl->debt_bytes)
		return 0;
	return share - rl->debt_bytes - used;
}

int64_t rate_limit_window_end_ns(const struct rate_limit *rl)
{
	return rl->window_start_ns + WINDOW_NS;
}

void rate_limit_next_window(struct rate_limit *rl, int64_t now_ns,
			    uint64_t stream_bytes, struct rate_window *w)
{
	int64_t elapsed_ns = now_ns - rl->window_start_ns;
	uint64_t sent = stream_bytes - rl->window_start_bytes;
	w->ms = (double)elapsed_ns / 1e6;
	w->bytes = sent;

	if (!rl->bytes_per_s) {
		rl->debt_bytes = 0;
	} else {
		/* At least a nominal window: the budget gave that much. */
		if (elapsed_ns < WINDOW_NS)
			elapsed_ns = WINDOW_NS;
		/* 128 bits: bytes_per_s may be near 2^64.  Rounded down as
		 * the budget's share, so a window that sent exactly its
		 * budget owes nothing. */
		unsigned __int128 allowed = (unsigned __int128)rl->bytes_per_s *
					    (uint64_t)elapsed_ns / NS_PER_S;
		unsigned __int128 owed =
			(unsigned __int128)rl->debt_bytes + sent;
		rl->debt_bytes = owed > allowed ? (uint64_t)(owed - allowed) : 0;
	}
	rl->window_start_ns = now_ns;
	rl->window_start_bytes = stream_bytes;
}
