/*
 * Destination decompression: round trips from every engine, QEMU 7.2's
 * acceptance rules (short output, trailing bytes, each failure), never a
 * write outside the page (guest RAM sits between PROT_NONE guard pages),
 * and per-page ordering under CPU contention.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <zlib.h>

#include "codec/decompress_pool.h"
#include "migration/options.h"
#include "codec/page_deflate.h"
#include "util/xalloc.h"

#define PAGE 4096

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Guest RAM of npages with an inaccessible page on either side. */
struct guarded {
	uint8_t *map;
	size_t map_bytes;
	uint8_t *ram;
	uint64_t ram_size;
};

static void guarded_init(struct guarded *g, unsigned npages, uint8_t fill)
{
	g->ram_size = (uint64_t)npages * PAGE;
	g->map_bytes = g->ram_size + 2 * PAGE;
	g->map = mmap(NULL, g->map_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map, PAGE, PROT_NONE), 0);
	assert_int_equal(mprotect(g->map + PAGE + g->ram_size, PAGE,
				  PROT_NONE), 0);
	g->ram = g->map + PAGE;
	memset(g->ram, fill, g->ram_size);
}

static void guarded_release(struct guarded *g)
{
	munmap(g->map, g->map_bytes);
}

/* A page whose content says which page and which version it is. */
static void version_page(uint8_t *p, uint32_t pfn, uint32_t version,
			 unsigned style)
{
	uint64_t seed = (uint64_t)pfn << 32 | version | 1;
	switch (style % 3) {
	case 0: /* text-like: real inflate work */
		for (int i = 0; i < PAGE; i++)
			p[i] = "abcdefgh ij"[rnd(&seed) % 11];
		break;
	case 1: /* random: stored block */
		for (int i = 0; i < PAGE; i += 8) {
			uint64_t v = rnd(&seed);
			memcpy(p + i, &v, 8);
		}
		break;
	default: /* runs */
		memset(p, (uint8_t)version, PAGE);
		break;
	}
	memcpy(p, &pfn, 4);
	memcpy(p + 4, &version, 4);
	memcpy(p + PAGE - 4, &version, 4);
}

static size_t zlib_level(const uint8_t *page, size_t n, uint8_t *out,
			 size_t cap, int level)
{
	uLongf olen = cap;
	assert_int_equal(compress2(out, &olen, page, n, level), Z_OK);
	return olen;
}

static struct decompress_pool *new_pool(unsigned threads, struct guarded *g)
{
	struct error *err = NULL;
	struct decompress_pool *pool =
		decompress_pool_new(threads, g->ram, g->ram_size, &err);
	assert_null(err);
	assert_non_null(pool);
	return pool;
}

/* ---- round trips ---- */

static void test_round_trip_every_engine(void **state)
{
	enum { NPAGES = 256 };
	static const int levels[] = { 0, 1, 6, 9 };
	uint8_t *want = xmalloc((size_t)NPAGES * PAGE);
	uint8_t out[PAGE_DEFLATE_MAX_BYTES];
	for (unsigned threads = 1; threads <= 4; threads *= 2) {
		for (int e = 0; e < PAGE_DEFLATE__COUNT; e++) {
			for (unsigned l = 0; l < 4; l++) {
				struct page_deflate *pd =
					page_deflate_new(e, levels[l], NULL);
				if (!pd) /* stored: level 0 only */
					continue;
				struct guarded g;
				guarded_init(&g, NPAGES, 0xab);
				struct decompress_pool *pool =
					new_pool(threads, &g);
				for (uint32_t p = 0; p < NPAGES; p++) {
					uint8_t *w = want + (size_t)p * PAGE;
					version_page(w, p, e * 10 + l, p);
					size_t n = page_deflate_compress(pd, w,
									 out);
					assert_true(decompress_pool_submit(
						pool, (uint64_t)p * PAGE, out, n,
						NULL));
				}
				assert_true(decompress_pool_flush(pool, NULL));
				assert_memory_equal(g.ram, want,
						    (size_t)NPAGES * PAGE);
				decompress_pool_free(pool);
				guarded_release(&g);
				page_deflate_free(pd);
			}
		}
	}
	free(want);
}

/* ---- ordering ---- */

struct spinner {
	atomic_bool stop;
	pthread_t tid[2];
};

static void *spin_main(void *arg)
{
	struct spinner *s = arg;
	volatile uint64_t x = 0;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed))
		x++;
	return NULL;
}

/*
 * Many compressed records for a few pages, interleaved with the caller's
 * own writes after wait_page() (standing for PAGE/ZERO/XBZRLE records) and
 * raw pages handed to the workers (first touches of PAGE records),
 * with two spinning threads competing for the 2 CPUs: each page must end
 * with the last version given to it, every time.
 */
static void test_order_stress(void **state)
{
	enum { NPAGES = 24, STEPS = 6000 };
	struct spinner spin;
	atomic_init(&spin.stop, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&spin.tid[i], NULL, spin_main,
						&spin), 0);

	uint8_t page[PAGE], out[PAGE + 64];
	for (unsigned threads = 1; threads <= 4; threads *= 2) {
		struct guarded g;
		guarded_init(&g, NPAGES, 0);
		struct decompress_pool *pool = new_pool(threads, &g);
		uint32_t last[NPAGES] = { 0 };
		uint64_t seed = 77 + threads;
		for (uint32_t v = 1; v <= STEPS; v++) {
			uint32_t p = rnd(&seed) % NPAGES;
			uint64_t off = (uint64_t)p * PAGE;
			unsigned what = rnd(&seed) % 8;
			version_page(page, p, v, what);
			if (what < 4) {
				size_t n = zlib_level(page, PAGE, out,
						      sizeof(out), 1);
				assert_true(decompress_pool_submit(pool, off, out,
								   n, NULL));
			} else if (what < 5) {
				/* A raw page whose store a worker takes. */
				assert_true(decompress_pool_submit_page(
					pool, off, page, NULL));
			} else if (what < 7) {
				decompress_pool_wait_page(pool, off);
				memcpy(g.ram + off, page, PAGE);
			} else {
				/* A ZERO record: fill with the version. */
				decompress_pool_wait_page(pool, off);
				version_page(page, p, v, 2);
				memcpy(g.ram + off, page, PAGE);
			}
			last[p] = v;
			if (v % 1500 == 0) /* an EOS now and then */
				assert_true(decompress_pool_flush(pool, NULL));
		}
		assert_true(decompress_pool_flush(pool, NULL));
		for (uint32_t p = 0; p < NPAGES; p++) {
			uint32_t got;
			memcpy(&got, g.ram + (size_t)p * PAGE + 4, 4);
			assert_int_equal(got, last[p]);
			memcpy(&got, g.ram + (size_t)p * PAGE + PAGE - 4, 4);
			assert_int_equal(got, last[p]);
		}
		decompress_pool_free(pool);
		guarded_release(&g);
	}
	atomic_store(&spin.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(spin.tid[i], NULL);
}

/* wait_page on a page with nothing in flight returns at once. */
static void test_wait_page_idle(void **state)
{
	struct guarded g;
	guarded_init(&g, 4, 0);
	struct decompress_pool *pool = new_pool(2, &g);
	for (int i = 0; i < 1000; i++)
		decompress_pool_wait_page(pool, (uint64_t)(i % 4) * PAGE);
	assert_true(decompress_pool_flush(pool, NULL));
	decompress_pool_free(pool);
	guarded_release(&g);
}

/* ---- QEMU 7.2's acceptance rules ---- */

/*
 * Loads one payload into page 1 of 3 (RAM filled with 0xab) and returns
 * whether the flush succeeded; checks pages 0 and 2 are untouched and the
 * error text on failure.
 */
static bool load_one(const uint8_t *data, size_t len)
{
	struct guarded g;
	guarded_init(&g, 3, 0xab);
	struct decompress_pool *pool = new_pool(2, &g);
	struct error *err = NULL;
	assert_true(decompress_pool_submit(pool, PAGE, data, len, &err));
	assert_null(err);
	bool ok = decompress_pool_flush(pool, &err);
	if (!ok) {
		assert_non_null(err);
		assert_string_equal(err->msg, "decompress data failed");
		assert_int_equal(err->code, EPERM);
		error_free(err);
	}
	for (int i = 0; i < PAGE; i++) {
		assert_int_equal(g.ram[i], 0xab);
		assert_int_equal(g.ram[2 * PAGE + i], 0xab);
	}
	decompress_pool_free(pool);
	guarded_release(&g);
	return ok;
}

static void test_payload_rules(void **state)
{
	uint8_t page[PAGE], big[PAGE + 100], buf[2 * PAGE];
	version_page(page, 1, 5, 0);
	size_t n = zlib_level(page, PAGE, buf, sizeof(buf), 1);
	assert_true(load_one(buf, n));

	/* Trailing bytes within len are ignored, up to exactly 4110. */
	memset(buf + n, 0xee, sizeof(buf) - n);
	assert_true(load_one(buf, n + 8));
	version_page(page, 1, 6, 1); /* random: 4107-byte stored stream */
	n = zlib_level(page, PAGE, buf, sizeof(buf), 1);
	assert_int_equal(n, 4107);
	memset(buf + n, 0, 3);
	assert_true(load_one(buf, DECOMPRESS_POOL_MAX_PAYLOAD_BYTES));

	/* Corrupt: a flipped bit in the deflate data, a bad Adler-32. */
	version_page(page, 1, 7, 0);
	n = zlib_level(page, PAGE, buf, sizeof(buf), 6);
	buf[n / 2] ^= 0x10;
	assert_false(load_one(buf, n));
	n = zlib_level(page, PAGE, buf, sizeof(buf), 6);
	buf[n - 1] ^= 1;
	assert_false(load_one(buf, n));
	/* Truncated stream. */
	n = zlib_level(page, PAGE, buf, sizeof(buf), 6);
	assert_false(load_one(buf, n - 5));
	/* Empty payload. */
	assert_false(load_one(buf, 0));
	/* Raw deflate without the zlib header. */
	assert_false(load_one(buf + 2, n - 2));
	/* gzip format. */
	{
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 31, 8,
					      Z_DEFAULT_STRATEGY), Z_OK);
		zs.next_in = page;
		zs.avail_in = PAGE;
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
		size_t gz = zs.total_out;
		deflateEnd(&zs);
		assert_false(load_one(buf, gz));
	}
	/* A preset dictionary (FDICT): zlib needs it, so it fails. */
	{
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		assert_int_equal(deflateInit(&zs, 6), Z_OK);
		assert_int_equal(deflateSetDictionary(&zs, page, 64), Z_OK);
		zs.next_in = page;
		zs.avail_in = PAGE;
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
		size_t nd = zs.total_out;
		deflateEnd(&zs);
		assert_false(load_one(buf, nd));
	}
	/* More than 4096 bytes of output: nothing written past the page. */
	memset(big, 0x33, sizeof(big));
	n = zlib_level(big, sizeof(big), buf, sizeof(buf), 1);
	assert_false(load_one(buf, n));
	/* Garbage. */
	uint64_t seed = 1;
	for (int i = 0; i < 200; i++)
		buf[i] = (uint8_t)rnd(&seed);
	assert_false(load_one(buf, 200));
}

/* Short output: accepted, only the beginning of the page changes. */
static void test_short_output_accepted(void **state)
{
	struct guarded g;
	guarded_init(&g, 2, 0xab);
	struct decompress_pool *pool = new_pool(1, &g);
	uint8_t part[100], buf[256];
	memset(part, 0x42, sizeof(part));
	size_t n = zlib_level(part, sizeof(part), buf, sizeof(buf), 1);
	assert_true(decompress_pool_submit(pool, PAGE, buf, n, NULL));
	assert_true(decompress_pool_flush(pool, NULL));
	for (int i = 0; i < PAGE; i++) {
		assert_int_equal(g.ram[i], 0xab);
		assert_int_equal(g.ram[PAGE + i], i < 100 ? 0x42 : 0xab);
	}
	decompress_pool_free(pool);
	guarded_release(&g);
}

/* Lengths and offsets the caller should have refused: refused again. */
static void test_submit_limits(void **state)
{
	struct guarded g;
	guarded_init(&g, 4096, 0);
	struct decompress_pool *pool = new_pool(2, &g);
	uint8_t buf[8192] = { 0 };
	struct error *err = NULL;
	assert_false(decompress_pool_submit(pool, 0, buf, 4111, &err));
	assert_string_equal(err->msg, "Invalid compressed data length: 4111");
	error_free(err);
	err = NULL;
	assert_false(decompress_pool_submit(pool, 0x1000000, buf, 10, &err));
	assert_string_equal(err->msg, "Illegal RAM offset 1000000");
	error_free(err);
	err = NULL;
	assert_false(decompress_pool_submit(pool, UINT64_MAX & ~0xfffULL, buf,
					    10, &err));
	error_free(err);
	/* Nothing was taken: the flush has nothing to fail on. */
	assert_true(decompress_pool_flush(pool, NULL));
	decompress_pool_free(pool);
	guarded_release(&g);

	err = NULL;
	assert_null(decompress_pool_new(0, buf, 4096, &err));
	assert_string_equal(err->msg,
			    "decompress thread count 0 is not in 1..255");
	error_free(err);
	err = NULL;
	assert_null(decompress_pool_new(1, buf, 100, &err));
	error_free(err);
	decompress_pool_free(NULL);
}

/* A failure is sticky, later good pages do not clear it. */
static void test_failure_sticky(void **state)
{
	struct guarded g;
	guarded_init(&g, 64, 0);
	struct decompress_pool *pool = new_pool(2, &g);
	uint8_t page[PAGE], buf[PAGE + 64];
	version_page(page, 0, 1, 0);
	size_t n = zlib_level(page, PAGE, buf, sizeof(buf), 1);
	assert_true(decompress_pool_submit(pool, 0, buf, 3, NULL));
	for (int i = 1; i < 64; i++)
		assert_true(decompress_pool_submit(pool, (uint64_t)i * PAGE, buf,
						   n, NULL));
	struct error *err = NULL;
	assert_false(decompress_pool_flush(pool, &err));
	error_free(err);
	err = NULL;
	assert_false(decompress_pool_flush(pool, &err));
	error_free(err);
	decompress_pool_free(pool);
	guarded_release(&g);
}

/* Freed with work in flight: no hang, no leak. */
static void test_free_in_flight(void **state)
{
	struct guarded g;
	guarded_init(&g, 256, 0);
	struct decompress_pool *pool = new_pool(2, &g);
	uint8_t page[PAGE], buf[PAGE + 64];
	for (uint32_t i = 0; i < 256; i++) {
		version_page(page, i, 1, 0);
		size_t n = zlib_level(page, PAGE, buf, sizeof(buf), 1);
		assert_true(decompress_pool_submit(pool, (uint64_t)i * PAGE, buf,
						   n, NULL));
	}
	decompress_pool_free(pool);
	guarded_release(&g);
}

/* Both inflaters give the pages back; the pool says which it uses. */
static void test_engines(void **state)
{
	enum { NPAGES = 64 };
	uint8_t *want = xmalloc((size_t)NPAGES * PAGE);
	uint8_t out[PAGE_DEFLATE_MAX_BYTES];
	struct page_deflate *pd = page_deflate_new(PAGE_DEFLATE_ZLIB, 6, NULL);

	for (int e = 0; e < DECOMPRESS__COUNT; e++) {
		struct guarded g;
		struct decompress_pool *pool;

		guarded_init(&g, NPAGES, 0xab);
		pool = decompress_pool_new_engine(2, g.ram, g.ram_size, e, NULL);
		assert_non_null(pool);
		assert_int_equal(decompress_pool_engine(pool), e);
		for (uint32_t p = 0; p < NPAGES; p++) {
			uint8_t *w = want + (size_t)p * PAGE;

			version_page(w, p, (uint32_t)e, p);
			size_t n = page_deflate_compress(pd, w, out);
			assert_true(decompress_pool_submit(
				pool, (uint64_t)p * PAGE, out, n, NULL));
		}
		assert_true(decompress_pool_flush(pool, NULL));
		assert_memory_equal(g.ram, want, (size_t)NPAGES * PAGE);
		decompress_pool_free(pool);
		guarded_release(&g);
	}
	page_deflate_free(pd);
	free(want);
}

/* x-decompress-engine's names are the pool's, its default libdeflate. */
static void test_engine_names(void **state)
{
	const struct mig_param_info *p =
		&mig_param_table[MIG_PARAM_X_DECOMPRESS_ENGINE];
	int n = 0;

	for (; p->enum_names[n]; n++)
		assert_int_equal(decompress_engine_lookup(p->enum_names[n]),
				 n);
	assert_int_equal(n, DECOMPRESS__COUNT);
	assert_int_equal(p->default_num, DECOMPRESS_LIBDEFLATE);
	assert_string_equal(decompress_engine_name(DECOMPRESS_ZLIB), "zlib");
	assert_int_equal(decompress_engine_lookup("igzip"), -1);
	/* the default pool is libdeflate's */
	struct guarded g;
	guarded_init(&g, 1, 0);
	struct decompress_pool *pool = new_pool(1, &g);
	assert_int_equal(decompress_pool_engine(pool), DECOMPRESS_LIBDEFLATE);
	decompress_pool_free(pool);
	guarded_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_engine),
		cmocka_unit_test(test_order_stress),
		cmocka_unit_test(test_wait_page_idle),
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_short_output_accepted),
		cmocka_unit_test(test_submit_limits),
		cmocka_unit_test(test_failure_sticky),
		cmocka_unit_test(test_free_in_flight),
		cmocka_unit_test(test_engines),
		cmocka_unit_test(test_engine_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
