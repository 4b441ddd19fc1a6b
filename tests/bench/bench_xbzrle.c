/*
 * XBZRLE benchmark: encoder throughput per variant, decoder throughput, and
 * two baselines on the same page pairs, for several change patterns, in one
 * run.  Throughput counts page bytes (4096 per page pair) per second.
 *
 *   memcmp    memcmp(old, new, 4096): stops at the first difference, so it
 *             is only a memory-speed bound for unchanged pages
 *   read2     reads both pages completely (vector OR of XOR): the memory
 *             speed bound of any encoder, which must look at every byte
 *   qemu-alg  the algorithm of QEMU 7.2's encoder (bytes up to alignment,
 *             then 8-byte words, data runs found bytewise), written here for
 *             comparison, so its numbers are from this machine
 *   c, sse2, avx2, avx512   qmig's variants (xbzrle_encode_with)
 *   decode    xbzrle_decode of the encoded pages (pages that overflowed or
 *             did not change are skipped but counted as processed)
 *
 * Two working sets per pattern: "cold" (--mib, default 64 MiB of new pages
 * plus as much of old pages, far beyond the caches) and "hot" (256 KiB in
 * all, cache resident).  Each measurement repeats whole passes over the
 * working set for at least --ms milliseconds (default 150) on the monotonic
 * clock (best of 5 trials).  Before timing, every page is encoded by every variant and the
 * outputs compared, and every encoded page decoded and compared with the new
 * page; a mismatch exits with status 1.
 *
 * Usage: bench_xbzrle [--mib N] [--ms N]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codec/xbzrle.h"
#include "util/clock.h"

#define PAGE XBZRLE_PAGE_SIZE

enum pattern {
	PAT_4BYTES,  /* 4 bytes changed per page, 1 KiB apart (seed's load) */
	PAT_20BYTES, /* one 20-byte change at a random offset */
	PAT_HALF,    /* each byte changed with probability 1/2 */
	PAT_NONE,    /* no change */
	PAT_RANDOM,  /* new page unrelated to the old one */
	PAT__COUNT
};

static const char *const pattern_names[PAT__COUNT] = {
	"4 bytes/page", "one 20-byte run", "half the bytes", "no change",
	"all random",
};

struct workset {
	size_t pages;
	uint8_t *old, *new; /* pages * PAGE each */
	uint8_t *enc;       /* pages * PAGE: encoded data of page i at i*PAGE */
	int *enc_len;       /* per page: encoder result */
	uint8_t *work;      /* pages * PAGE: decode target */
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_random(uint8_t *p, size_t len, uint64_t *st)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = splitmix64(st);

		memcpy(p + i, &r, 8);
	}
}

static void *map_or_die(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("bench_xbzrle: mmap");
		exit(2);
	}
	return p;
}

static void workset_init(struct workset *ws, size_t pages)
{
	ws->pages = pages;
	ws->old = map_or_die(pages * PAGE);
	ws->new = map_or_die(pages * PAGE);
	ws->enc = map_or_die(pages * PAGE);
	ws->work = map_or_die(pages * PAGE);
	ws->enc_len = calloc(pages, sizeof(int));
	if (!ws->enc_len)
		exit(2);
}

static void workset_release(struct workset *ws)
{
	munmap(ws->old, ws->pages * PAGE);
	munmap(ws->new, ws->pages * PAGE);
	munmap(ws->enc, ws->pages * PAGE);
	munmap(ws->work, ws->pages * PAGE);
	free(ws->enc_len);
}

static void make_pattern(struct workset *ws, enum pattern pat)
{
	uint64_t st = 42 + (uint64_t)pat;

	fill_random(ws->old, ws->pages * PAGE, &st);
	memcpy(ws->new, ws->old, ws->pages * PAGE);
	for (size_t p = 0; p < ws->pages; p++) {
		uint8_t *o = ws->old + p * PAGE, *n = ws->new + p * PAGE;
		size_t off;

		switch (pat) {
		case PAT_4BYTES:
			for (int k = 0; k < 4; k++)
				n[k * 1024] = o[k * 1024] + 1;
			break;
		case PAT_20BYTES:
			off = splitmix64(&st) % (PAGE - 20);
			for (int k = 0; k < 20; k++)
				n[off + k] = o[off + k] ^ 0x5a;
			break;
		case PAT_HALF:
			for (int k = 0; k < PAGE; k += 64) {
				uint64_t bits = splitmix64(&st);

				for (int b = 0; b < 64; b++)
					if (bits >> b & 1)
						n[k + b] = o[k + b] ^ 0xff;
			}
			break;
		case PAT_NONE:
			break;
		case PAT_RANDOM:
			fill_random(n, PAGE, &st);
			break;
		case PAT__COUNT:
			break;
		}
	}
}

/* ------------------------------------------------------------ engines */

/*
 * QEMU 7.2's encoder algorithm (same runs, same overflow checks), coded
 * here from its description for a same-machine baseline.
 */
static int qemu_alg_encode(const uint8_t *o, const uint8_t *n, uint8_t *dst,
			   int limit)
{
	const uint64_t ones = 0x0101010101010101ull;
	int i = 0, d = 0, zrun = 0, nzrun, start;

	while (i < PAGE) {
		int left;

		if (d + 2 > limit)
			return -1;
		left = (PAGE - i) % 8;
		while (left && o[i] == n[i]) {
			zrun++;
			i++;
			left--;
		}
		if (!left) {
			for (;;) {
				uint64_t a, b;

				if (i >= PAGE)
					break;
				memcpy(&a, o + i, 8);
				memcpy(&b, n + i, 8);
				if (a != b)
					break;
				i += 8;
				zrun += 8;
			}
			while (i < PAGE && o[i] == n[i]) {
				zrun++;
				i++;
			}
		}
		if (zrun == PAGE)
			return 0;
		if (i == PAGE)
			return d;
		d += zrun < 0x80 ? (dst[d] = (uint8_t)zrun, 1) :
			(dst[d] = (uint8_t)(zrun | 0x80),
			 dst[d + 1] = (uint8_t)(zrun >> 7), 2);
		zrun = 0;
		start = i;
		nzrun = 0;
		if (d + 2 > limit)
			return -1;
		left = (PAGE - i) % 8;
		while (left && o[i] != n[i]) {
			i++;
			nzrun++;
			left--;
		}
		if (!left) {
			while (i < PAGE) {
				uint64_t a, b, x;

				memcpy(&a, o + i, 8);
				memcpy(&b, n + i, 8);
				x = a ^ b;
				if ((x - ones) & ~x & (ones << 7)) {
					while (o[i] != n[i]) {
						i++;
						nzrun++;
					}
					break;
				}
				i += 8;
				nzrun += 8;
			}
		}
		d += nzrun < 0x80 ? (dst[d] = (uint8_t)nzrun, 1) :
			(dst[d] = (uint8_t)(nzrun | 0x80),
			 dst[d + 1] = (uint8_t)(nzrun >> 7), 2);
		if (d + nzrun > limit)
			return -1;
		memcpy(dst + d, n + start, (size_t)nzrun);
		d += nzrun;
	}
	return d;
}

enum engine {
	ENG_MEMCMP,
	ENG_READ2,
	ENG_QEMU_ALG,
	ENG_VARIANT0, /* + enum xbzrle_variant */
	ENG_DECODE = ENG_VARIANT0 + XBZRLE_VARIANT__COUNT,
	ENG__COUNT
};

static const char *engine_name(int e)
{
	if (e == ENG_MEMCMP)
		return "memcmp";
	if (e == ENG_READ2)
		return "read2";
	if (e == ENG_QEMU_ALG)
		return "qemu-alg";
	if (e == ENG_DECODE)
		return "decode";
	return xbzrle_variant_name(e - ENG_VARIANT0);
}

static bool engine_available(int e)
{
	if (e >= ENG_VARIANT0 && e < ENG_DECODE)
		return xbzrle_variant_available(e - ENG_VARIANT0);
	return true;
}

/*
 * Reads both pages fully; returns something that depends on every byte.
 * AVX2 where the CPU has it, so that the bound is the memory, not the loop.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2")))
static uint64_t read2_avx2(const uint8_t *o, const uint8_t *n)
{
	__m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;

	for (int i = 0; i < PAGE; i += 64) {
		__m256i a0 = _mm256_loadu_si256((const __m256i *)(o + i));
		__m256i b0 = _mm256_loadu_si256((const __m256i *)(n + i));
		__m256i a1 = _mm256_loadu_si256((const __m256i *)(o + i + 32));
		__m256i b1 = _mm256_loadu_si256((const __m256i *)(n + i + 32));

		acc0 = _mm256_or_si256(acc0, _mm256_xor_si256(a0, b0));
		acc1 = _mm256_or_si256(acc1, _mm256_xor_si256(a1, b1));
	}
	return (uint64_t)_mm256_movemask_epi8(
		_mm256_cmpeq_epi8(_mm256_or_si256(acc0, acc1),
				  _mm256_setzero_si256()));
}
#define HAVE_READ2_AVX2 1
#endif

static uint64_t read2(const uint8_t *o, const uint8_t *n)
{
	uint64_t acc = 0;

#ifdef HAVE_READ2_AVX2
	if (__builtin_cpu_supports("avx2"))
		return read2_avx2(o, n);
#endif
	for (int i = 0; i < PAGE; i += 8) {
		uint64_t a, b;

		memcpy(&a, o + i, 8);
		memcpy(&b, n + i, 8);
		acc |= a ^ b;
	}
	return acc;
}

/* One pass over the working set; returns a value to keep the work alive. */
static uint64_t run_pass(struct workset *ws, int e)
{
	uint64_t sink = 0;
	uint8_t dst[PAGE];

	for (size_t p = 0; p < ws->pages; p++) {
		const uint8_t *o = ws->old + p * PAGE, *n = ws->new + p * PAGE;

		switch (e) {
		case ENG_MEMCMP:
			sink += (uint64_t)memcmp(o, n, PAGE);
			break;
		case ENG_READ2:
			sink += read2(o, n);
			break;
		case ENG_QEMU_ALG:
			sink += (uint64_t)qemu_alg_encode(o, n, dst, PAGE);
			break;
		case ENG_DECODE:
			if (ws->enc_len[p] > 0)
				sink += (uint64_t)xbzrle_decode(
					ws->enc + p * PAGE, ws->enc_len[p],
					ws->work + p * PAGE);
			break;
		default:
			sink += (uint64_t)xbzrle_encode_with(
				e - ENG_VARIANT0, o, n, dst, PAGE);
			break;
		}
	}
	return sink;
}

/*
 * Returns GB/s (10^9 page bytes per second): the best of 5 trials that each
 * repeat whole passes for min_ns / 5, so that a slow moment of a shared
 * machine does not decide the number.
 */
static double measure(struct workset *ws, int e, int64_t min_ns)
{
	volatile uint64_t sink = run_pass(ws, e); /* warm-up */
	double best = 0;

	for (int trial = 0; trial < 5; trial++) {
		int64_t t0 = clock_now_ns(), t;
		uint64_t passes = 0;
		double gbs;

		do {
			sink += run_pass(ws, e);
			passes++;
			t = clock_now_ns();
		} while (t - t0 < min_ns / 5);
		gbs = (double)passes * (double)ws->pages * PAGE /
		      (double)(t - t0);
		if (gbs > best)
			best = gbs;
	}
	(void)sink;
	return best;
}

/* Encodes every page with every engine; 0 if all agree and decode back. */
static int verify(struct workset *ws, size_t *overflows, double *mean_len)
{
	uint8_t dst[PAGE];
	uint64_t total = 0;
	size_t used = 0;

	*overflows = 0;
	memcpy(ws->work, ws->old, ws->pages * PAGE);
	for (size_t p = 0; p < ws->pages; p++) {
		const uint8_t *o = ws->old + p * PAGE, *n = ws->new + p * PAGE;
		uint8_t *enc = ws->enc + p * PAGE;
		int len = xbzrle_encode_with(XBZRLE_VARIANT_C, o, n, enc, PAGE);

		ws->enc_len[p] = len;
		if (qemu_alg_encode(o, n, dst, PAGE) != len ||
		    (len > 0 && memcmp(dst, enc, (size_t)len))) {
			fprintf(stderr, "page %zu: qemu-alg differs\n", p);
			return -1;
		}
		for (int v = 1; v < XBZRLE_VARIANT__COUNT; v++) {
			if (!xbzrle_variant_available(v))
				continue;
			if (xbzrle_encode_with(v, o, n, dst, PAGE) != len ||
			    (len > 0 && memcmp(dst, enc, (size_t)len))) {
				fprintf(stderr, "page %zu: %s differs\n", p,
					xbzrle_variant_name(v));
				return -1;
			}
		}
		if (len < 0) {
			(*overflows)++;
			continue;
		}
		if (len > 0) {
			total += (uint64_t)len;
			used++;
			if (xbzrle_decode(enc, len, ws->work + p * PAGE) !=
				    XBZRLE_DECODE_OK ||
			    memcmp(ws->work + p * PAGE, n, PAGE)) {
				fprintf(stderr, "page %zu: round trip failed\n", p);
				return -1;
			}
		}
	}
	*mean_len = used ? (double)total / (double)used : 0;
	return 0;
}

int main(int argc, char **argv)
{
	size_t cold_mib = 64;
	int64_t min_ns = 150 * 1000000ll;
	const struct {
		const char *name;
		size_t pages;
	} sets[2] = { { "cold", 0 }, { "hot", 256 * 1024 / 2 / PAGE } };
	int64_t start = clock_now_ns();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			cold_mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
			min_ns = strtoll(argv[++i], NULL, 10) * 1000000ll;
		else {
			fprintf(stderr, "usage: bench_xbzrle [--mib N] [--ms N]\n");
			return 2;
		}
	}
	if (cold_mib < 1)
		cold_mib = 1;

	printf("XBZRLE benchmark: GB/s of 4 KiB page pairs (10^9 page bytes/s); "
	       "automatic choice: %s\n",
	       xbzrle_variant_name(xbzrle_encode_variant()));
	printf("cold = %zu MiB new + %zu MiB old pages; hot = 128 KiB + 128 KiB; "
	       ">= %lld ms per cell\n\n", cold_mib, cold_mib,
	       (long long)(min_ns / 1000000));
	printf("%-16s %-4s %7s", "pattern", "set", "enc B");
	for (int e = 0; e < ENG__COUNT; e++)
		if (engine_available(e))
			printf(" %8s", engine_name(e));
	printf(" %9s %9s %9s\n", "best/c", "best/qemu", "best/read2");

	for (int pat = 0; pat < PAT__COUNT; pat++) {
		for (int s = 0; s < 2; s++) {
			struct workset ws;
			size_t pages = s ? sets[s].pages : cold_mib * 256, ovf;
			double gbs[ENG__COUNT] = { 0 }, mean, best = 0;
			char enc_col[16];

			workset_init(&ws, pages);
			make_pattern(&ws, pat);
			if (verify(&ws, &ovf, &mean)) {
				fprintf(stderr, "bench_xbzrle: verification "
					"failed for '%s'\n", pattern_names[pat]);
				return 1;
			}
			if (ovf == pages)
				snprintf(enc_col, sizeof(enc_col), "ovf");
			else if (mean == 0)
				snprintf(enc_col, sizeof(enc_col), "0");
			else
				snprintf(enc_col, sizeof(enc_col), "%.0f", mean);
			printf("%-16s %-4s %7s", pattern_names[pat],
			       sets[s].name, enc_col);
			for (int e = 0; e < ENG__COUNT; e++) {
				if (!engine_available(e))
					continue;
				gbs[e] = measure(&ws, e, min_ns);
				printf(" %8.2f", gbs[e]);
				fflush(stdout);
				if (e >= ENG_VARIANT0 && e < ENG_DECODE &&
				    gbs[e] > best)
					best = gbs[e];
			}
			printf(" %8.2fx %8.2fx %8.2fx\n",
			       best / gbs[ENG_VARIANT0],
			       best / gbs[ENG_QEMU_ALG], best / gbs[ENG_READ2]);
			workset_release(&ws);
		}
	}
	printf("\nround trips and cross-variant outputs verified on every page; "
	       "total %.1f s\n", (double)(clock_now_ns() - start) / 1e9);
	return 0;
}
