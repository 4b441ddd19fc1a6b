#include "util/bitmap.h"

void bitmap_fill(uint64_t *map, uint64_t nbits)
{
	uint64_t full = nbits / BITS_PER_WORD;
	for (uint64_t i = 0; i < full; i++)
		map[i] = ~0ULL;
	if (nbits % BITS_PER_WORD)
		map[full] = (1ULL << (nbits % BITS_PER_WORD)) - 1;
}

uint64_t bitmap_count(const uint64_t *map, uint64_t nbits)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < BITMAP_WORDS(nbits); i++)
		n += (uint64_t)__builtin_popcountll(map[i]);
	return n;
}

uint64_t bitmap_find_next(const uint64_t *map, uint64_t nbits, uint64_t start)
{
	if (start >= nbits)
		return nbits;
	uint64_t i = start / BITS_PER_WORD;
	uint64_t word = map[i] & (~0ULL << (start % BITS_PER_WORD));
	uint64_t words = BITMAP_WORDS(nbits);
	while (!word) {
		if (++i >= words)
			return nbits;
		word = map[i];
	}
	uint64_t bit = i * BITS_PER_WORD + (uint64_t)__builtin_ctzll(word);
	return bit < nbits ? bit : nbits;
}

uint64_t atomic_bitmap_fetch_clear_into(_Atomic uint64_t *log, uint64_t *dst,
					uint64_t nbits)
{
	uint64_t added = 0;
	for (uint64_t i = 0; i < BITMAP_WORDS(nbits); i++) {
		/* Cheap relaxed peek first: most words of a big guest are clean. */
		if (!atomic_load_explicit(&log[i], memory_order_relaxed))
			continue;
		uint64_t bits = atomic_exchange_explicit(&log[i], 0,
							 memory_order_acquire);
		added += (uint64_t)__builtin_popcountll(bits & ~dst[i]);
		dst[i] |= bits;
	}
	return added;
}
