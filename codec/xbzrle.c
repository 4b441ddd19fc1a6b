/*
 * XBZRLE encoder and decoder, byte-compatible with QEMU 7.2
 * (shared/docs/qemu-7.2-stream.md §9).
 *
 * Wire grammar (see also xbzrle.h):
 *
 *   data   := pair*
 *   pair   := zrun nzrun
 *   zrun   := len                  bytes equal in old and new: skipped
 *   nzrun  := len byte{len}        bytes that differ: the new values
 *   len    := ULEB128 in 1 or 2 bytes: v < 0x80 is one byte v; otherwise
 *             (v & 0x7f) | 0x80 followed by v >> 7, which must be < 0x80
 *
 * Only the very first zrun may be 0, an nzrun is never 0, and unchanged
 * bytes after the last nzrun are not encoded.
 *
 * Encoder layout.  Every variant produces the canonical encoding (maximal
 * runs) under QEMU's overflow rule, so the output is a function of the two
 * pages and the limit alone:
 *   - encode_c() walks the pages 8 bytes at a time, finding the end of a
 *     run with a count of trailing zero bits; it is the portable variant
 *     and the reference the others are tested against;
 *   - the SIMD variants first build a 4096-bit "differs" map of the page
 *     (one bit per byte, 64 bytes per compare step), then encode_map()
 *     turns the map into runs with bit scans.  Only the map building is
 *     per-variant, which is what keeps the outputs identical.
 * The variant is chosen once through encode_impl (the only mutable static:
 * set idempotently by whichever thread gets there first).
 */
#include "codec/xbzrle.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define XBZRLE_X86 1
#include <immintrin.h>
#else
#define XBZRLE_X86 0
#endif

enum {
	PAGE = XBZRLE_PAGE_SIZE,
	MAP_WORDS = XBZRLE_PAGE_SIZE / 64,
	/* largest value a 2-byte ULEB128 holds; every run fits */
	LEN_MAX = 0x3fff,
};

_Static_assert(PAGE % 64 == 0 && PAGE <= LEN_MAX,
	       "page size must suit the 64-byte map and 2-byte lengths");

typedef int encode_fn(const uint8_t *old_page, const uint8_t *new_page,
		      uint8_t *dst, int limit);

/* ---------------------------------------------------------------- lengths */

/*
 * Writes v (<= LEN_MAX) as ULEB128 at p and returns 1 or 2.  Callers have
 * checked that 2 bytes fit, so both are always stored: one instruction, and
 * a second byte that is not part of the length is overwritten later or lies
 * past the returned length.
 */
static inline int put_len(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v | 0x80);
	p[1] = (uint8_t)(v >> 7);
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	return 2;
}

/*
 * Reads a length at p (2 readable bytes guaranteed by the caller) into *v;
 * returns the bytes used (1 or 2), or 0 for a 3-byte or longer form.
 */
static inline int get_len(const uint8_t *p, unsigned *v)
{
	if (!(p[0] & 0x80)) {
		*v = p[0];
		return 1;
	}
	if (p[1] & 0x80)
		return 0;
	*v = (p[0] & 0x7fu) | ((unsigned)p[1] << 7);
	return 2;
}

/* ---------------------------------------------------------------- C variant */

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* First i' >= i with old[i'] != new[i'], or PAGE. */
static inline int skip_equal(const uint8_t *o, const uint8_t *n, int i)
{
	for (; i + 8 <= PAGE; i += 8) {
		uint64_t x = load_le64(o + i) ^ load_le64(n + i);

		if (x)
			return i + __builtin_ctzll(x) / 8;
	}
	while (i < PAGE && o[i] == n[i])
		i++;
	return i;
}

/* First i' >= i with old[i'] == new[i'], or PAGE. */
static inline int skip_differ(const uint8_t *o, const uint8_t *n, int i)
{
	for (; i + 8 <= PAGE; i += 8) {
		uint64_t x = load_le64(o + i) ^ load_le64(n + i);
		/*
		 * High bit of each zero byte of x (an equal byte).  Borrows
		 * can mark bytes above the lowest zero byte, never below it,
		 * so the lowest mark is exact.
		 */
		uint64_t z = (x - ONES) & ~x & HIGHS;

		if (z)
			return i + __builtin_ctzll(z) / 8;
	}
	while (i < PAGE && o[i] != n[i])
		i++;
	return i;
}

/*
 * The rule, step by step, in QEMU 7.2's order of checks: room for 2 bytes
 * before each zero-run length (even if the rest of the page is unchanged),
 * room for 2 bytes before each data-run length, room for the data itself.
 */
static int encode_c(const uint8_t *o, const uint8_t *n, uint8_t *dst,
		    int limit)
{
	int i = 0, d = 0;

	while (i < PAGE) {
		int j, k, len;

		if (d + 2 > limit)
			return XBZRLE_OVERFLOW;
		j = skip_equal(o, n, i);
		if (j == PAGE)
			return d; /* 0 (no change) when i == 0 */
		d += put_len(dst + d, (unsigned)(j - i));
		if (d + 2 > limit)
			return XBZRLE_OVERFLOW;
		k = skip_differ(o, n, j + 1);
		len = k - j;
		d += put_len(dst + d, (unsigned)len);
		if (d + len > limit)
			return XBZRLE_OVERFLOW;
		memcpy(dst + d, n + j, (size_t)len);
		d += len;
		i = k;
	}
	return d;
}

/* ------------------------------------------------------ map-based encoding */

/*
 * A "differs" map of the page: bit b of bits[w] is set when byte 64 * w + b
 * differs.  Two summaries let the run scans jump over whole words: bit w of
 * any_set is set when bits[w] != 0, of any_clear when bits[w] != ~0.
 */
struct diff_map {
	uint64_t bits[MAP_WORDS];
	uint64_t any_set, any_clear;
};

_Static_assert(MAP_WORDS == 64, "the summaries have one bit per map word");

/* The summaries, word by word (the SIMD variants have vector versions). */
static inline void map_summarise(struct diff_map *map)
{
	uint64_t set = 0, clear = 0;
	int w;

	for (w = 0; w < MAP_WORDS; w++) {
		set |= (uint64_t)(map->bits[w] != 0) << w;
		clear |= (uint64_t)(map->bits[w] != ~0ull) << w;
	}
	map->any_set = set;
	map->any_clear = clear;
}

/* Words after w in a summary, as a mask (0 for the last word). */
static inline uint64_t words_after(int w)
{
	return w == MAP_WORDS - 1 ? 0 : ~0ull << (w + 1);
}

/* First byte index >= i (i < PAGE) whose bit is set, or PAGE. */
static inline int map_next_set(const struct diff_map *map, int i)
{
	int w = i >> 6;
	uint64_t m = map->bits[w] & (~0ull << (i & 63)), s;

	if (m)
		return (w << 6) + __builtin_ctzll(m);
	s = map->any_set & words_after(w);
	if (!s)
		return PAGE;
	w = __builtin_ctzll(s);
	return (w << 6) + __builtin_ctzll(map->bits[w]);
}

/* First byte index >= i (i < PAGE) whose bit is clear, or PAGE. */
static inline int map_next_clear(const struct diff_map *map, int i)
{
	int w = i >> 6;
	uint64_t m = ~map->bits[w] & (~0ull << (i & 63)), s;

	if (m)
		return (w << 6) + __builtin_ctzll(m);
	s = map->any_clear & words_after(w);
	if (!s)
		return PAGE;
	w = __builtin_ctzll(s);
	return (w << 6) + __builtin_ctzll(~map->bits[w]);
}

/*
 * encode_c()'s loop over a "differs" map.  Short data runs are copied as
 * one 16-byte move when both buffers have the room, which saves a memcpy
 * call per run on pages with many small changes.
 */
static inline int encode_map(const struct diff_map *map, const uint8_t *n,
			     uint8_t *dst, int limit)
{
	int i = 0, d = 0;

	while (i < PAGE) {
		int j, k, len;

		if (d + 2 > limit)
			return XBZRLE_OVERFLOW;
		j = map_next_set(map, i);
		if (j == PAGE)
			return d;
		d += put_len(dst + d, (unsigned)(j - i));
		if (d + 2 > limit)
			return XBZRLE_OVERFLOW;
		k = j + 1 < PAGE ? map_next_clear(map, j + 1) : PAGE;
		len = k - j;
		d += put_len(dst + d, (unsigned)len);
		if (d + len > limit)
			return XBZRLE_OVERFLOW;
		if (len <= 16 && d + 16 <= limit && j + 16 <= PAGE)
			memcpy(dst + d, n + j, 16);
		else
			memcpy(dst + d, n + j, (size_t)len);
		d += len;
		i = k;
	}
	return d;
}

#if XBZRLE_X86

__attribute__((target("sse2")))
static int encode_sse2(const uint8_t *o, const uint8_t *n, uint8_t *dst,
		       int limit)
{
	struct diff_map map;
	int w;

	for (w = 0; w < MAP_WORDS; w++) {
		const uint8_t *po = o + w * 64, *pn = n + w * 64;
		uint64_t eq = 0;
		int q;

		for (q = 0; q < 4; q++) {
			__m128i a = _mm_loadu_si128((const __m128i *)(po + 16 * q));
			__m128i b = _mm_loadu_si128((const __m128i *)(pn + 16 * q));
			uint64_t m = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, b));

			eq |= m << (16 * q);
		}
		map.bits[w] = ~eq;
	}
	map_summarise(&map);
	return encode_map(&map, n, dst, limit);
}

__attribute__((target("avx2")))
static int encode_avx2(const uint8_t *o, const uint8_t *n, uint8_t *dst,
		       int limit)
{
	struct diff_map map;
	uint64_t set = 0, clear = 0;
	int w;

	for (w = 0; w < MAP_WORDS; w++) {
		const uint8_t *po = o + w * 64, *pn = n + w * 64;
		__m256i a0 = _mm256_loadu_si256((const __m256i *)po);
		__m256i b0 = _mm256_loadu_si256((const __m256i *)pn);
		__m256i a1 = _mm256_loadu_si256((const __m256i *)(po + 32));
		__m256i b1 = _mm256_loadu_si256((const __m256i *)(pn + 32));
		uint64_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a0, b0));
		uint64_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a1, b1));

		map.bits[w] = ~(lo | hi << 32);
	}
	for (w = 0; w < MAP_WORDS; w += 4) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(map.bits + w));
		uint64_t zero = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
			_mm256_cmpeq_epi64(v, _mm256_setzero_si256())));
		uint64_t full = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
			_mm256_cmpeq_epi64(v, _mm256_set1_epi64x(-1))));

		set |= (~zero & 0xf) << w;
		clear |= (~full & 0xf) << w;
	}
	map.any_set = set;
	map.any_clear = clear;
	return encode_map(&map, n, dst, limit);
}

__attribute__((target("avx512f,avx512bw")))
static int encode_avx512(const uint8_t *o, const uint8_t *n, uint8_t *dst,
			 int limit)
{
	struct diff_map map;
	uint64_t set = 0, clear = 0;
	int w;

	for (w = 0; w < MAP_WORDS; w++) {
		__m512i a = _mm512_loadu_si512(o + w * 64);
		__m512i b = _mm512_loadu_si512(n + w * 64);

		map.bits[w] = _mm512_cmpneq_epi8_mask(a, b);
	}
	for (w = 0; w < MAP_WORDS; w += 8) {
		__m512i v = _mm512_loadu_si512(map.bits + w);

		set |= (uint64_t)_mm512_test_epi64_mask(v, v) << w;
		clear |= (uint64_t)_mm512_cmpneq_epi64_mask(
				 v, _mm512_set1_epi64(-1)) << w;
	}
	map.any_set = set;
	map.any_clear = clear;
	return encode_map(&map, n, dst, limit);
}

#endif /* XBZRLE_X86 */

/* ------------------------------------------------------------ dispatch */

static const struct {
	const char *name;
	encode_fn *fn;
} variants[XBZRLE_VARIANT__COUNT] = {
	[XBZRLE_VARIANT_C] = { "c", encode_c },
#if XBZRLE_X86
	[XBZRLE_VARIANT_SSE2] = { "sse2", encode_sse2 },
	[XBZRLE_VARIANT_AVX2] = { "avx2", encode_avx2 },
	[XBZRLE_VARIANT_AVX512] = { "avx512", encode_avx512 },
#else
	[XBZRLE_VARIANT_SSE2] = { "sse2", NULL },
	[XBZRLE_VARIANT_AVX2] = { "avx2", NULL },
	[XBZRLE_VARIANT_AVX512] = { "avx512", NULL },
#endif
};

const char *xbzrle_variant_name(enum xbzrle_variant v)
{
	if ((unsigned)v >= XBZRLE_VARIANT__COUNT)
		return "?";
	return variants[v].name;
}

int xbzrle_variant_available(enum xbzrle_variant v)
{
	if ((unsigned)v >= XBZRLE_VARIANT__COUNT || !variants[v].fn)
		return 0;
#if XBZRLE_X86
	__builtin_cpu_init();
	switch (v) {
	case XBZRLE_VARIANT_SSE2:
		return __builtin_cpu_supports("sse2") != 0;
	case XBZRLE_VARIANT_AVX2:
		return __builtin_cpu_supports("avx2") != 0;
	case XBZRLE_VARIANT_AVX512:
		return __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw");
	default:
		break;
	}
#endif
	return 1;
}

int xbzrle_variant_lookup(const char *name)
{
	for (int v = 0; v < XBZRLE_VARIANT__COUNT; v++)
		if (!strcmp(name, variants[v].name))
			return v;
	return -1;
}

static enum xbzrle_variant choose_variant(void)
{
	int v;

	for (v = XBZRLE_VARIANT__COUNT - 1; v > XBZRLE_VARIANT_C; v--)
		if (xbzrle_variant_available(v))
			return v;
	return XBZRLE_VARIANT_C;
}

static encode_fn encode_dispatch;

/*
 * Starts as encode_dispatch, which replaces itself here with the chosen
 * encoder and calls it; xbzrle_force_variant() stores one directly.  The
 * automatic choice only replaces encode_dispatch (compare and swap), so it
 * never undoes a forced variant; threads racing on the first call agree.
 * Relaxed atomics keep all of that free of data races.
 */
static encode_fn *encode_impl = encode_dispatch;

static encode_fn *chosen_fn(void)
{
	encode_fn *fn = __atomic_load_n(&encode_impl, __ATOMIC_RELAXED);

	if (fn == encode_dispatch) {
		encode_fn *best = variants[choose_variant()].fn;

		fn = encode_dispatch;
		if (__atomic_compare_exchange_n(&encode_impl, &fn, best, false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			fn = best;
	}
	return fn;
}

static int encode_dispatch(const uint8_t *o, const uint8_t *n, uint8_t *dst,
			   int limit)
{
	return chosen_fn()(o, n, dst, limit);
}

bool xbzrle_force_variant(enum xbzrle_variant v)
{
	if (!xbzrle_variant_available(v))
		return false;
	__atomic_store_n(&encode_impl, variants[v].fn, __ATOMIC_RELAXED);
	return true;
}

enum xbzrle_variant xbzrle_encode_variant(void)
{
	encode_fn *fn = chosen_fn();
	int v;

	for (v = 0; v < XBZRLE_VARIANT__COUNT; v++)
		if (variants[v].fn == fn)
			return v;
	abort(); /* unreachable: chosen_fn() returns a table entry */
}

static int encode_limit(const uint8_t *old_page, const uint8_t *new_page,
			uint8_t *dst, int dst_cap)
{
	assert(old_page && new_page && dst_cap >= 0);
	assert(dst || dst_cap == 0);
	assert(((uintptr_t)old_page | (uintptr_t)new_page) % 8 == 0);
	return dst_cap < PAGE ? dst_cap : PAGE;
}

int xbzrle_encode(const uint8_t *old_page, const uint8_t *new_page,
		  uint8_t *dst, int dst_cap)
{
	int limit = encode_limit(old_page, new_page, dst, dst_cap);

	return __atomic_load_n(&encode_impl, __ATOMIC_RELAXED)(old_page,
							      new_page, dst,
							      limit);
}

int xbzrle_encode_with(enum xbzrle_variant v, const uint8_t *old_page,
		       const uint8_t *new_page, uint8_t *dst, int dst_cap)
{
	int limit = encode_limit(old_page, new_page, dst, dst_cap);

	assert(xbzrle_variant_available(v));
	return variants[v].fn(old_page, new_page, dst, limit);
}

/* ---------------------------------------------------------------- decoder */

enum xbzrle_decode_result xbzrle_decode(const uint8_t *src, int src_len,
					uint8_t *page)
{
	int i = 0, d = 0;

	assert(src_len >= 0 && (src || src_len == 0) && page);
	while (i < src_len) {
		unsigned v;
		int used;

		/* zero run: QEMU wants 2 bytes left before any length */
		if (src_len - i < 2)
			return XBZRLE_DECODE_TRUNCATED;
		used = get_len(src + i, &v);
		if (!used || (v == 0 && i > 0))
			return XBZRLE_DECODE_BAD_ZRUN;
		i += used;
		if (v > (unsigned)(PAGE - d))
			return XBZRLE_DECODE_BAD_ZRUN;
		d += (int)v;

		/* data run */
		if (src_len - i < 2)
			return XBZRLE_DECODE_TRUNCATED;
		used = get_len(src + i, &v);
		if (!used || v == 0)
			return XBZRLE_DECODE_BAD_NZRUN;
		i += used;
		if (v > (unsigned)(PAGE - d))
			return XBZRLE_DECODE_BAD_NZRUN;
		if (v > (unsigned)(src_len - i))
			return XBZRLE_DECODE_TRUNCATED;
		memcpy(page + d, src + i, v);
		d += (int)v;
		i += (int)v;
	}
	return XBZRLE_DECODE_OK;
}

const char *xbzrle_decode_result_name(enum xbzrle_decode_result r)
{
	switch (r) {
	case XBZRLE_DECODE_OK:
		return "ok";
	case XBZRLE_DECODE_BAD_ZRUN:
		return "bad zero run";
	case XBZRLE_DECODE_BAD_NZRUN:
		return "bad data run";
	case XBZRLE_DECODE_TRUNCATED:
		return "truncated";
	}
	return "?";
}
