/*
 * Source compression: every engine's output is read back by zlib's inflate
 * (what QEMU 7.2's destination uses), records come out in submission order,
 * zero pages become ZERO records, and wait=false declines when the pool is
 * full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "codec/compress_pool.h"
#include "util/xalloc.h"

#define PAGE 4096

/* xorshift64*: seeded, so a failure can be replayed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/*
 * Page kinds seen in guest RAM: zero, constant non-zero, text-like, sparse
 * words, random (incompressible), and half random.
 */
static void make_page(uint8_t *p, uint64_t *seed, unsigned kind)
{
	switch (kind % 6) {
	case 0:
		memset(p, 0, PAGE);
		break;
	case 1:
		memset(p, 0x5a, PAGE);
		break;
	case 2:
		for (int i = 0; i < PAGE; i++)
			p[i] = "the quick brown fox "[rnd(seed) % 20];
		break;
	case 3:
		memset(p, 0, PAGE);
		for (int i = 0; i < 64; i++)
			p[rnd(seed) % PAGE] = (uint8_t)rnd(seed);
		break;
	case 4:
		for (int i = 0; i < PAGE; i += 8) {
			uint64_t v = rnd(seed);
			memcpy(p + i, &v, 8);
		}
		break;
	default:
		memset(p, 0x11, PAGE);
		for (int i = 0; i < PAGE / 2; i += 8) {
			uint64_t v = rnd(seed);
			memcpy(p + i, &v, 8);
		}
		break;
	}
}

/* Inflates like QEMU 7.2's destination: one call, must reach the end. */
static void check_zlib_reads(const uint8_t *data, size_t len,
			     const uint8_t *page)
{
	assert_true(len >= 1 && len <= PAGE_DEFLATE_MAX_BYTES);
	uint8_t out[PAGE];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit(&zs), Z_OK);
	zs.next_in = (Bytef *)data;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = PAGE;
	assert_int_equal(inflate(&zs, Z_NO_FLUSH), Z_STREAM_END);
	assert_int_equal(zs.total_out, PAGE);
	inflateEnd(&zs);
	assert_memory_equal(out, page, PAGE);
}

/* What take handed out: one entry per payload, with a copy of its bytes. */
struct sink {
	size_t n, alloc;
	struct rec {
		uint64_t offset;
		bool is_zero;
		size_t len;
		uint8_t *bytes;
	} *r;
};

static void sink_add(struct sink *s, const struct compress_payload *p)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 256;
		s->r = xrealloc(s->r, s->alloc * sizeof(*s->r));
	}
	struct rec *r = &s->r[s->n++];
	r->offset = p->offset;
	r->is_zero = p->is_zero;
	r->len = p->len;
	r->bytes = xmalloc(p->len + 1);
	memcpy(r->bytes, p->data, p->len);
}

static void sink_release(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i].bytes);
	free(s->r);
	memset(s, 0, sizeof(*s));
}

/* Finished payloads into s, as the RAM saver writes them; drain: all. */
static void take_all(struct compress_pool *pool, struct sink *s, bool drain)
{
	struct compress_payload p;
	while (compress_pool_take(pool, drain, &p))
		sink_add(s, &p);
}

/*
 * The RAM saver's submit: when the pool is full, finished payloads out,
 * then with wait one at a time until a buffer frees.  false: busy.
 */
static bool submit_page(struct compress_pool *pool, struct sink *s,
			uint64_t offset, const uint8_t *page, bool wait)
{
	if (compress_pool_submit(pool, offset, page))
		return true;
	take_all(pool, s, false);
	while (!compress_pool_submit(pool, offset, page)) {
		struct compress_payload p;
		if (!wait || !compress_pool_take(pool, true, &p))
			return false;
		sink_add(s, &p);
	}
	return true;
}

/* Checks one payload against the page it stands for. */
static void check_record(const struct rec *r, uint64_t offset,
			 const uint8_t *page)
{
	assert_int_equal(r->offset, offset);
	bool zero = true;
	for (int i = 0; i < PAGE && zero; i++)
		zero = page[i] == 0;
	if (zero) {
		assert_true(r->is_zero);
		assert_int_equal(r->len, 0);
		return;
	}
	assert_false(r->is_zero);
	assert_true(r->len > 0 && r->len <= PAGE_DEFLATE_MAX_BYTES);
	check_zlib_reads(r->bytes, r->len, page);
}

/* ---- page_deflate: each engine, each level, read back by zlib ---- */

static void test_engines_zlib_reads(void **state)
{
	uint64_t seed = 42;
	uint8_t page[PAGE], out[PAGE_DEFLATE_MAX_BYTES];
	for (int e = 0; e < PAGE_DEFLATE__COUNT; e++) {
		for (int level = 0; level <= PAGE_DEFLATE_MAX_LEVEL; level++) {
			struct error *err = NULL;
			struct page_deflate *pd = page_deflate_new(e, level,
								   &err);
			if (e == PAGE_DEFLATE_STORED && level != 0) {
				assert_null(pd);
				assert_non_null(err);
				error_free(err);
				continue;
			}
			assert_non_null(pd);
			for (unsigned i = 0; i < 60; i++) {
				make_page(page, &seed, i);
				size_t n = page_deflate_compress(pd, page, out);
				check_zlib_reads(out, n, page);
			}
			page_deflate_free(pd);
		}
	}
}

/* Level 0 is zlib's stored form, byte for byte (QEMU writes zlib's). */
static void test_stored_is_zlib_level0(void **state)
{
	uint64_t seed = 7;
	uint8_t page[PAGE], ours[PAGE_DEFLATE_MAX_BYTES];
	uint8_t theirs[PAGE_DEFLATE_MAX_BYTES + 64];
	for (unsigned i = 0; i < 12; i++) {
		make_page(page, &seed, i);
		uLongf tlen = sizeof(theirs);
		assert_int_equal(compress2(theirs, &tlen, page, PAGE, 0), Z_OK);
		size_t n = page_deflate_stored(page, ours);
		assert_int_equal(n, 4107);
		assert_int_equal(n, tlen);
		assert_memory_equal(ours, theirs, n);
	}
}

/*
 * igzip's output length can move by a byte with the output buffer's
 * alignment: whatever the alignment, zlib must read it.
 */
static void test_engines_any_alignment(void **state)
{
	uint64_t seed = 123;
	uint8_t page[PAGE], out[PAGE_DEFLATE_MAX_BYTES + 8];
	for (int e = PAGE_DEFLATE_ZLIB; e < PAGE_DEFLATE__COUNT; e++) {
		struct page_deflate *pd = page_deflate_new(e, 1, NULL);
		assert_non_null(pd);
		for (unsigned i = 0; i < 48; i++) {
			make_page(page, &seed, i);
			memset(out, (int)(i * 37), sizeof(out));
			size_t n = page_deflate_compress(pd, page, out + i % 8);
			check_zlib_reads(out + i % 8, n, page);
		}
		page_deflate_free(pd);
	}
}

/*
 * The zlib engine writes what QEMU 7.2 writes (compress2() at the same
 * level), so x-compress-engine zlib reproduces QEMU's stream bytes.
 */
static void test_zlib_engine_is_qemus_bytes(void **state)
{
	uint64_t seed = 31;
	uint8_t page[PAGE], ours[PAGE_DEFLATE_MAX_BYTES];
	uint8_t theirs[PAGE_DEFLATE_MAX_BYTES + 64];
	static const int levels[] = { 1, 6, 9 };
	for (unsigned l = 0; l < 3; l++) {
		struct page_deflate *pd =
			page_deflate_new(PAGE_DEFLATE_ZLIB, levels[l], NULL);
		for (unsigned i = 0; i < 30; i++) {
			make_page(page, &seed, i);
			uLongf tlen = sizeof(theirs);
			assert_int_equal(compress2(theirs, &tlen, page, PAGE,
						   levels[l]), Z_OK);
			size_t n = page_deflate_compress(pd, page, ours);
			assert_int_equal(n, tlen);
			assert_memory_equal(ours, theirs, n);
		}
		page_deflate_free(pd);
	}
}

/* Incompressible pages stay within QEMU's limit with every engine. */
static void test_random_pages_fit(void **state)
{
	uint64_t seed = 99;
	uint8_t page[PAGE], out[PAGE_DEFLATE_MAX_BYTES];
	for (int e = PAGE_DEFLATE_ZLIB; e < PAGE_DEFLATE__COUNT; e++) {
		struct page_deflate *pd = page_deflate_new(e, 1, NULL);
		assert_non_null(pd);
		for (int i = 0; i < 50; i++) {
			make_page(page, &seed, 4);
			size_t n = page_deflate_compress(pd, page, out);
			assert_true(n <= PAGE_DEFLATE_MAX_BYTES);
			check_zlib_reads(out, n, page);
		}
		page_deflate_free(pd);
	}
}

static void test_engine_pick(void **state)
{
	assert_int_equal(page_deflate_pick(0), PAGE_DEFLATE_STORED);
	assert_int_equal(page_deflate_pick(1), PAGE_DEFLATE_IGZIP);
	for (int l = 2; l <= 9; l++)
		assert_int_equal(page_deflate_pick(l), PAGE_DEFLATE_LIBDEFLATE);
	struct compress_pool *pool =
		compress_pool_new(1, 1, NULL);
	assert_non_null(pool);
	assert_int_equal(compress_pool_engine(pool), PAGE_DEFLATE_IGZIP);
	compress_pool_free(pool);
	for (int e = 0; e < PAGE_DEFLATE__COUNT; e++)
		assert_int_equal(page_deflate_engine_lookup(
					 page_deflate_engine_name(e)), e);
	assert_int_equal(page_deflate_engine_lookup("auto"), -1);
	assert_int_equal(page_deflate_engine_lookup("ZLIB"), -1);
}

/* ---- the pool ---- */

static void round_trip(unsigned threads, int level, int engine,
		       unsigned npages)
{
	uint64_t seed = 1000 + threads * 10 + level;
	uint8_t *pages = xmalloc((size_t)npages * PAGE);
	for (unsigned i = 0; i < npages; i++)
		make_page(pages + (size_t)i * PAGE, &seed, (unsigned)rnd(&seed));
	struct sink sink = { 0 };
	struct error *err = NULL;
	struct compress_pool *pool =
		engine < 0 ? compress_pool_new(threads, level, &err)
			   : compress_pool_new_engine(threads, level, engine,
						      &err);
	assert_null(err);
	assert_non_null(pool);
	for (unsigned i = 0; i < npages; i++) {
		/* Offsets not in address order: the pool must not care. */
		uint64_t off = (uint64_t)((i * 7919u) % npages) * PAGE;
		assert_true(submit_page(pool, &sink, off,
						 pages + (size_t)i * PAGE, true));
		if (i % 5 == 0)
			take_all(pool, &sink, false);
	}
	take_all(pool, &sink, true);
	assert_int_equal(sink.n, npages);
	for (unsigned i = 0; i < npages; i++)
		check_record(&sink.r[i], (uint64_t)((i * 7919u) % npages) * PAGE,
			     pages + (size_t)i * PAGE);
	compress_pool_free(pool);
	sink_release(&sink);
	free(pages);
}

static void test_round_trips(void **state)
{
	static const int levels[] = { 0, 1, 6, 9 };
	static const unsigned threads[] = { 1, 2, 4 };
	for (unsigned l = 0; l < 4; l++)
		for (unsigned t = 0; t < 3; t++)
			round_trip(threads[t], levels[l], -1, 301);
}

static void test_round_trips_each_engine(void **state)
{
	for (int e = PAGE_DEFLATE_ZLIB; e < PAGE_DEFLATE__COUNT; e++)
		round_trip(2, 1, e, 200);
}

/*
 * The same offsets submitted again and again with new contents: the
 * records must leave in the order the contents were taken.
 */
static void test_order_same_page(void **state)
{
	enum { ROUNDS = 3000, OFFSETS = 3 };
	for (unsigned threads = 1; threads <= 4; threads *= 2) {
		struct sink sink = { 0 };
		struct compress_pool *pool =
			compress_pool_new(threads, 1, NULL);
		assert_non_null(pool);
		uint8_t page[PAGE];
		uint64_t seed = 5;
		for (uint32_t i = 0; i < ROUNDS; i++) {
			/* Costly pages now and then, so workers finish out of order. */
			make_page(page, &seed, i % 3 ? 2 : 4);
			memcpy(page, &i, sizeof(i));
			assert_true(submit_page(
				pool, &sink, (uint64_t)(i % OFFSETS) * PAGE, page,
				true));
			if (i % 100 == 0)
				take_all(pool, &sink, i % 1000 == 0);
		}
		take_all(pool, &sink, true);
		assert_int_equal(sink.n, ROUNDS);
		for (uint32_t i = 0; i < ROUNDS; i++) {
			const struct rec *r = &sink.r[i];
			assert_int_equal(r->offset, (uint64_t)(i % OFFSETS) * PAGE);
			uint8_t out[PAGE];
			uLongf olen = PAGE;
			assert_int_equal(uncompress(out, &olen, r->bytes, r->len),
					 Z_OK);
			uint32_t seq;
			memcpy(&seq, out, sizeof(seq));
			assert_int_equal(seq, i);
		}
		compress_pool_free(pool);
		sink_release(&sink);
	}
}

static void test_zero_pages(void **state)
{
	struct sink sink = { 0 };
	struct compress_pool *pool =
		compress_pool_new(2, 1, NULL);
	assert_non_null(pool);
	uint8_t zero[PAGE] = { 0 }, last[PAGE] = { 0 }, first[PAGE] = { 0 };
	last[PAGE - 1] = 1;
	first[0] = 1;
	assert_true(submit_page(pool, &sink, 0x3000, zero, true));
	assert_true(submit_page(pool, &sink, 0x4000, last, true));
	assert_true(submit_page(pool, &sink, 0x5000, first, true));
	assert_true(submit_page(pool, &sink, 0xfffff000, zero, true));
	take_all(pool, &sink, true);
	assert_int_equal(sink.n, 4);
	check_record(&sink.r[0], 0x3000, zero);
	check_record(&sink.r[1], 0x4000, last);
	check_record(&sink.r[2], 0x5000, first);
	check_record(&sink.r[3], 0xfffff000, zero);
	compress_pool_free(pool);
	sink_release(&sink);
}

/* In flight: every page taken and not yet emitted (the saver's budget
 * counts them), whatever the pool has emitted on the way. */
static void test_inflight_pages(void **state)
{
	struct sink sink = { 0 };
	struct compress_pool *pool =
		compress_pool_new(2, 1, NULL);
	assert_non_null(pool);
	uint8_t page[PAGE];
	assert_int_equal(compress_pool_inflight_pages(pool), 0);
	for (unsigned i = 0; i < 100; i++) {
		memset(page, (int)i + 1, sizeof(page));
		assert_true(submit_page(pool, &sink, (uint64_t)i * PAGE, page,
						 true));
		assert_int_equal(compress_pool_inflight_pages(pool) + sink.n,
				 i + 1);
	}
	take_all(pool, &sink, false);
	assert_int_equal(compress_pool_inflight_pages(pool) + sink.n, 100);
	take_all(pool, &sink, true);
	assert_int_equal(compress_pool_inflight_pages(pool), 0);
	assert_int_equal(sink.n, 100);
	compress_pool_free(pool);
	sink_release(&sink);
}

/*
 * wait=false: with one slow worker a fast submitter fills the pool; the
 * declined pages are not taken, every taken page comes out once, in order.
 */
static void test_busy_no_wait(void **state)
{
	enum { N = 20000 };
	struct sink sink = { 0 };
	struct compress_pool *pool =
		compress_pool_new(1, 9, NULL);
	assert_non_null(pool);
	/*
	 * Pages made beforehand, so submitting costs a memcpy against
	 * ~100 us of level-9 work on text: the pool fills whatever the load.
	 */
	uint8_t made[4][PAGE], page[PAGE];
	uint64_t seed = 3;
	for (int k = 0; k < 4; k++)
		make_page(made[k], &seed, 2);
	bool *taken = xcalloc(N, sizeof(*taken));
	unsigned busy = 0;
	for (uint32_t i = 0; i < N && busy < 200; i++) {
		memcpy(page, made[i % 4], PAGE);
		memcpy(page, &i, sizeof(i));
		taken[i] = submit_page(pool, &sink, (uint64_t)i * PAGE, page,
						false);
		busy += !taken[i];
		take_all(pool, &sink, false);
	}
	take_all(pool, &sink, true);
	assert_true(busy > 0);
	size_t k = 0;
	for (uint32_t i = 0; i < N; i++) {
		if (!taken[i])
			continue;
		assert_true(k < sink.n);
		assert_int_equal(sink.r[k].offset, (uint64_t)i * PAGE);
		k++;
	}
	assert_int_equal(k, sink.n);
	compress_pool_free(pool);
	sink_release(&sink);
	free(taken);
}

/* Freed with work queued and unemitted: no hang, no leak (ASan). */
static void test_free_undrained(void **state)
{
	struct sink sink = { 0 };
	struct compress_pool *pool =
		compress_pool_new(2, 6, NULL);
	uint8_t page[PAGE];
	uint64_t seed = 11;
	for (int i = 0; i < 100; i++) {
		make_page(page, &seed, 2);
		submit_page(pool, &sink, (uint64_t)i * PAGE, page, true);
	}
	compress_pool_free(pool);
	sink_release(&sink);
	compress_pool_free(NULL);
}

static void test_bad_arguments(void **state)
{
	struct error *err = NULL;
	assert_null(compress_pool_new(0, 1, &err));
	assert_string_equal(err->msg, "compress thread count 0 is not in 1..255");
	error_free(err);
	err = NULL;
	assert_null(compress_pool_new(256, 1, &err));
	error_free(err);
	err = NULL;
	assert_null(compress_pool_new(1, 10, &err));
	assert_string_equal(err->msg, "compression level 10 is not in 0..9");
	error_free(err);
	err = NULL;
	assert_null(compress_pool_new(1, -1, &err));
	error_free(err);
	err = NULL;
	assert_null(compress_pool_new_engine(1, 1, PAGE_DEFLATE_STORED,
					     &err));
	assert_non_null(err);
	error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engines_zlib_reads),
		cmocka_unit_test(test_stored_is_zlib_level0),
		cmocka_unit_test(test_engines_any_alignment),
		cmocka_unit_test(test_zlib_engine_is_qemus_bytes),
		cmocka_unit_test(test_random_pages_fit),
		cmocka_unit_test(test_engine_pick),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_round_trips_each_engine),
		cmocka_unit_test(test_order_same_page),
		cmocka_unit_test(test_zero_pages),
		cmocka_unit_test(test_inflight_pages),
		cmocka_unit_test(test_busy_no_wait),
		cmocka_unit_test(test_free_undrained),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
