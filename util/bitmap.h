/*
 * Bitmaps of pages.  Two flavours share the layout (64 pages a word):
 * plain ones owned by one thread (the migration bitmap), and atomic ones
 * that writers on other threads set while one reader fetches and clears
 * them (the dirty log, like KVM's).
 */
#ifndef QMIG_UTIL_BITMAP_H
#define QMIG_UTIL_BITMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BITS_PER_WORD 64
#define BITMAP_WORDS(nbits) (((nbits) + BITS_PER_WORD - 1) / BITS_PER_WORD)

static inline void bitmap_set_bit(uint64_t *map, uint64_t bit)
{
	map[bit / BITS_PER_WORD] |= 1ULL << (bit % BITS_PER_WORD);
}

static inline void bitmap_clear_bit(uint64_t *map, uint64_t bit)
{
	map[bit / BITS_PER_WORD] &= ~(1ULL << (bit % BITS_PER_WORD));
}

static inline bool bitmap_test_bit(const uint64_t *map, uint64_t bit)
{
	return map[bit / BITS_PER_WORD] >> (bit % BITS_PER_WORD) & 1;
}

/* Sets bits [0, nbits); bits past nbits in the last word stay clear. */
void bitmap_fill(uint64_t *map, uint64_t nbits);
uint64_t bitmap_count(const uint64_t *map, uint64_t nbits);
/* First set bit >= start, or nbits when there is none. */
uint64_t bitmap_find_next(const uint64_t *map, uint64_t nbits, uint64_t start);

static inline void atomic_bitmap_set_bit(_Atomic uint64_t *map, uint64_t bit)
{
	/* Release: the data written before marking is visible to whoever
	 * fetches this bit. */
	atomic_fetch_or_explicit(&map[bit / BITS_PER_WORD],
				 1ULL << (bit % BITS_PER_WORD),
				 memory_order_release);
}

/* Relaxed: for bits that threads set and clear in a shared word while
 * what orders the pages themselves is a lock or a sync point elsewhere
 * (the destination's known-zero map, ram_load.h). */
static inline bool atomic_bitmap_test_bit(_Atomic uint64_t *map, uint64_t bit)
{
	return atomic_load_explicit(&map[bit / BITS_PER_WORD],
				    memory_order_relaxed) >>
		       (bit % BITS_PER_WORD) &
	       1;
}

static inline void atomic_bitmap_set_bit_relaxed(_Atomic uint64_t *map,
						 uint64_t bit)
{
	atomic_fetch_or_explicit(&map[bit / BITS_PER_WORD],
				 1ULL << (bit % BITS_PER_WORD),
				 memory_order_relaxed);
}

static inline void atomic_bitmap_clear_bit_relaxed(_Atomic uint64_t *map,
						   uint64_t bit)
{
	atomic_fetch_and_explicit(&map[bit / BITS_PER_WORD],
				  ~(1ULL << (bit % BITS_PER_WORD)),
				  memory_order_relaxed);
}

/*
 * ORs every word of `log` into `dst` and clears it atomically, word by
 * word.  Returns how many bits were newly set in dst.
 */
uint64_t atomic_bitmap_fetch_clear_into(_Atomic uint64_t *log, uint64_t *dst,
					uint64_t nbits);

#endif
