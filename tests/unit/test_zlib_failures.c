/*
 * zlib and libdeflate failures (tests/unit/lib/inject.c): a compressor or
 * an inflate state that cannot be made fails its pool cleanly (the pools'
 * earlier workers freed: ASan's leak check runs this too) and, inside a
 * migration, the migration, with the source running on and its RAM
 * intact; deflate() failing on a page is not an error at all (the page
 * goes as a stored block, which zlib reads back); a destination without
 * libdeflate inflates with zlib alone; inflate() failing is QEMU's
 * "decompress data failed", nothing written outside the page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/compress_pool.h"
#include "codec/decompress_pool.h"
#include "codec/page_deflate.h"
#include "tests/unit/lib/inject.h"
#include "tests/unit/lib/mig_pair.h"
#include "util/xalloc.h"

#define PAGE 4096
#define RAM_BYTES (8ULL << 20)
#define PEER_URI "fd:" TEST_PEER_FD
#define ZLIB_INIT_FAILED "insufficient memory (-4)"

static void expect_error(struct error *err, const char *msg)
{
	assert_non_null(err);
	if (strcmp(err->msg, msg))
		fail_msg("error \"%s\", expected \"%s\"", err->msg, msg);
	error_free(err);
}

/* What QEMU 7.2's destination does with a payload: one inflate call that
 * must reach the end of the stream, 4096 bytes out. */
static void expect_inflates_to(const uint8_t *data, size_t len,
			       const uint8_t *page)
{
	uint8_t out[PAGE];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit(&zs), Z_OK);
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = PAGE;
	assert_int_equal(inflate(&zs, Z_NO_FLUSH), Z_STREAM_END);
	assert_int_equal(zs.total_out, PAGE);
	inflateEnd(&zs);
	assert_memory_equal(out, page, PAGE);
}

static void test_page_deflate_new(void **state)
{
	struct error *err = NULL;
	inject_fail(INJECT_DEFLATE_INIT, 0, 0, 1);
	assert_null(page_deflate_new(PAGE_DEFLATE_ZLIB, 6, &err));
	inject_clear();
	expect_error(err, "deflateInit failed: " ZLIB_INIT_FAILED);

	err = NULL;
	inject_fail(INJECT_LD_ALLOC_COMPRESSOR, 0, 0, 1);
	assert_null(page_deflate_new(PAGE_DEFLATE_LIBDEFLATE, 6, &err));
	inject_clear();
	expect_error(err, "libdeflate_alloc_compressor(6) failed");
}

/* deflate() failing: the stored form, which zlib reads (the header's
 * "cannot fail"). */
static void test_deflate_error_stores(void **state)
{
	struct error *err = NULL;
	struct page_deflate *pd = page_deflate_new(PAGE_DEFLATE_ZLIB, 6, &err);
	assert_non_null(pd);
	uint8_t page[PAGE], out[PAGE_DEFLATE_MAX_BYTES],
		stored[PAGE_DEFLATE_MAX_BYTES];
	uint64_t seed = 3;
	page_fill(page, PAGE_KIND_TEXT, &seed);
	inject_fail(INJECT_DEFLATE, 0, 0, 0);
	size_t n = page_deflate_compress(pd, page, out);
	assert_int_equal(inject_failures(INJECT_DEFLATE), 1);
	inject_clear();
	assert_int_equal(n, page_deflate_stored(page, stored));
	assert_memory_equal(out, stored, n);
	expect_inflates_to(out, n, page);
	/* and the next page compresses again */
	n = page_deflate_compress(pd, page, out);
	assert_true(n < 4000);
	expect_inflates_to(out, n, page);
	page_deflate_free(pd);
}

/* The third of three workers cannot get its compressor, or the second
 * of three its inflate state: no pool, the others' state freed. */
static void test_pool_init_fails(void **state)
{
	struct error *err = NULL;
	inject_fail(INJECT_DEFLATE_INIT, 0, 2, 1);
	assert_null(compress_pool_new_engine(3, 6, PAGE_DEFLATE_ZLIB, &err));
	assert_int_equal(inject_failures(INJECT_DEFLATE_INIT), 1);
	inject_clear();
	expect_error(err, "deflateInit failed: " ZLIB_INIT_FAILED);

	uint8_t *ram = xcalloc(16, PAGE);
	err = NULL;
	inject_fail(INJECT_INFLATE_INIT, 0, 1, 1);
	assert_null(decompress_pool_new(3, ram, 16 * PAGE, &err));
	assert_int_equal(inject_failures(INJECT_INFLATE_INIT), 1);
	inject_clear();
	expect_error(err, "inflateInit failed: " ZLIB_INIT_FAILED);
	free(ram);
}

struct payloads {
	uint8_t data[32][PAGE_DEFLATE_MAX_BYTES];
	size_t len[32];
	uint64_t offset[32];
	unsigned n;
};

static void keep_payload(struct payloads *p, const struct compress_payload *c)
{
	assert_false(c->is_zero);
	assert_true(p->n < 32 && c->len > 0);
	memcpy(p->data[p->n], c->data, c->len);
	p->len[p->n] = c->len;
	p->offset[p->n++] = c->offset;
}

/* Pages compressed by a pool whose every deflate() fails: all stored,
 * all read back by zlib. */
static void compress_pages(const uint8_t *pages, struct payloads *out,
			   bool deflate_fails)
{
	struct error *err = NULL;
	memset(out, 0, sizeof(*out));
	struct compress_pool *pool =
		compress_pool_new_engine(2, 6, PAGE_DEFLATE_ZLIB, &err);
	assert_non_null(pool);
	if (deflate_fails)
		inject_fail(INJECT_DEFLATE, 0, 0, 0);
	/* 32 pages fit in two workers' buffers: nothing to take first. */
	for (unsigned i = 0; i < 32; i++)
		assert_true(compress_pool_submit(pool, i * PAGE,
						 pages + i * PAGE));
	struct compress_payload c;
	while (compress_pool_take(pool, true, &c))
		keep_payload(out, &c);
	if (deflate_fails)
		assert_int_equal(inject_failures(INJECT_DEFLATE), 32);
	inject_clear();
	compress_pool_free(pool);
	assert_int_equal(out->n, 32);
}

static uint8_t *text_pages(unsigned n)
{
	uint8_t *pages = xmalloc((size_t)n * PAGE);
	uint64_t seed = 17;
	for (unsigned i = 0; i < n; i++)
		page_fill(pages + (size_t)i * PAGE, PAGE_KIND_TEXT, &seed);
	return pages;
}

static void test_pool_deflate_errors(void **state)
{
	uint8_t *pages = text_pages(32);
	struct payloads *out = xmalloc(sizeof(*out));
	compress_pages(pages, out, true);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(out->offset[i], i * PAGE);
		assert_int_equal(out->len[i], 2 + 5 + PAGE + 4);
		expect_inflates_to(out->data[i], out->len[i], pages + i * PAGE);
	}
	free(out);
	free(pages);
}

/* Inflates payloads into ram through a decompress pool. */
static bool decompress(const struct payloads *in, uint8_t *ram,
		       struct error **errp)
{
	struct decompress_pool *pool = decompress_pool_new(2, ram, 32 * PAGE,
							   errp);
	assert_non_null(pool);
	for (unsigned i = 0; i < in->n; i++)
		assert_true(decompress_pool_submit(pool, in->offset[i],
						   in->data[i], in->len[i],
						   errp));
	bool ok = decompress_pool_flush(pool, errp);
	decompress_pool_free(pool);
	return ok;
}

/* Without libdeflate's decompressor the pool inflates with zlib alone;
 * with inflate() failing too, QEMU's error, nothing outside RAM. */
static void test_destination_fallbacks(void **state)
{
	uint8_t *pages = text_pages(32);
	struct payloads *in = xmalloc(sizeof(*in));
	compress_pages(pages, in, false);
	struct guarded_ram g;
	guarded_ram_init(&g, 32 * PAGE);
	struct error *err = NULL;
	inject_fail(INJECT_LD_ALLOC_DECOMPRESSOR, 0, 0, 0);
	assert_true(decompress(in, g.ram.host, &err));
	assert_int_equal(inject_failures(INJECT_LD_ALLOC_DECOMPRESSOR), 2);
	inject_clear();
	assert_memory_equal(g.ram.host, pages, 32 * PAGE);

	inject_fail(INJECT_LD_ZLIB_DECOMPRESS, 0, 0, 0);
	inject_fail(INJECT_INFLATE, 0, 0, 0);
	assert_false(decompress(in, g.ram.host, &err));
	assert_true(inject_failures(INJECT_INFLATE) >= 1);
	inject_clear();
	assert_int_equal(err->code, EPERM);
	expect_error(err, "decompress data failed");
	guarded_ram_release(&g);
	free(in);
	free(pages);
}

/* ---- inside a migration ---- */

static char *error_desc(struct test_source *s)
{
	pthread_mutex_lock(&s->vm.lock);
	char *d = xstrdup(s->vm.outgoing->error_desc ?
				  s->vm.outgoing->error_desc : "(none)");
	pthread_mutex_unlock(&s->vm.lock);
	return d;
}

/* A migration with `compress` at level, into a destination with it. */
/* The level alone picks igzip or libdeflate; the deflateInit and deflate
 * failures need zlib, which x-compress-engine selects. */
static bool zlib_engine;

static enum mig_status migrate_compressed(struct test_source *s,
					  const char *level,
					  struct test_peer *p)
{
	test_source_cap(s, "compress", true);
	test_source_param(s, "compress-level", level);
	if (zlib_engine)
		test_source_param(s, "x-compress-engine", "zlib");
	test_peer_start(p, RAM_BYTES, true, false);
	struct error *err = NULL;
	assert_true(test_source_migrate(s, PEER_URI, &err));
	return test_source_wait_end(s);
}

/* The source cannot make a compressor: failed at setup, the guest runs
 * with its RAM as it was; then the same migration works. */
static void expect_setup_failure(const char *level, enum inject_fn fn,
				 const char *msg)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "events", true);
	uint8_t *before = xmalloc(RAM_BYTES);
	memcpy(before, s.vm.ram.host, RAM_BYTES);
	struct test_peer p;
	inject_fail(fn, 0, 0, 1);
	assert_int_equal(migrate_compressed(&s, level, &p), MIG_STATUS_FAILED);
	assert_int_equal(inject_failures(fn), 1);
	inject_clear();
	char *desc = error_desc(&s);
	assert_string_equal(desc, msg);
	free(desc);
	assert_int_equal(test_source_runstate(&s), RUNSTATE_RUNNING);
	assert_memory_equal(s.vm.ram.host, before, RAM_BYTES);
	free(before);
	assert_true(test_peer_join(&p) < 0);
	test_peer_release(&p);
	char events[64];
	test_source_events(&s, events, sizeof(events), true);
	assert_string_equal(events, "setup failed");

	assert_int_equal(migrate_compressed(&s, level, &p),
			 MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	assert_int_equal(ram_first_difference(&s.vm.ram, &p.g.ram), -1);
	test_peer_release(&p);
	test_source_release(&s);
}

static void use_zlib_engine(bool on)
{
	zlib_engine = on;
}

static void test_migration_compressor_fails(void **state)
{
	expect_setup_failure("6", INJECT_LD_ALLOC_COMPRESSOR,
			     "libdeflate_alloc_compressor(6) failed");
	use_zlib_engine(true);
	expect_setup_failure("1", INJECT_DEFLATE_INIT,
			     "deflateInit failed: " ZLIB_INIT_FAILED);
	use_zlib_engine(false);
}

/* Every deflate() failing: the migration completes with stored pages. */
static void test_migration_deflate_errors(void **state)
{
	use_zlib_engine(true);
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	struct test_peer p;
	inject_fail(INJECT_DEFLATE, 0, 0, 0);
	assert_int_equal(migrate_compressed(&s, "1", &p), MIG_STATUS_COMPLETED);
	unsigned failed = inject_failures(INJECT_DEFLATE);
	inject_clear();
	use_zlib_engine(false);
	assert_true(failed > 1000); /* the guest's non-zero pages */
	assert_int_equal(test_peer_join(&p), 0);
	assert_int_equal(ram_first_difference(&s.vm.ram, &p.g.ram), -1);
	struct mig_stats *st = &s.vm.outgoing->stats;
	assert_int_equal(STAT_GET(st->compress_pages), failed);
	/* each a stored block at least (header counting aside) */
	assert_true(STAT_GET(st->compressed_size) >= failed * 4107ULL);
	test_peer_release(&p);
	test_source_release(&s);
}

/* The destination cannot make its inflate state: its load fails with
 * the reason, the source fails on the closed socket and runs on. */
static void test_destination_inflate_init_fails(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	struct test_peer p;
	inject_fail(INJECT_INFLATE_INIT, 0, 0, 1);
	assert_int_equal(migrate_compressed(&s, "1", &p), MIG_STATUS_FAILED);
	assert_int_equal(inject_failures(INJECT_INFLATE_INIT), 1);
	inject_clear();
	assert_int_equal(test_peer_join(&p), -ENOMEM);
	assert_string_equal(p.err->msg,
			    "inflateInit failed: " ZLIB_INIT_FAILED "\n"
			    "error while loading state section id 2(ram)");
	char *desc = error_desc(&s);
	assert_string_equal(desc, "Unable to write to socket: Broken pipe");
	free(desc);
	assert_int_equal(test_source_runstate(&s), RUNSTATE_RUNNING);
	test_peer_release(&p);
	test_source_release(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_deflate_new),
		cmocka_unit_test(test_deflate_error_stores),
		cmocka_unit_test(test_pool_init_fails),
		cmocka_unit_test(test_pool_deflate_errors),
		cmocka_unit_test(test_destination_fallbacks),
		cmocka_unit_test(test_migration_compressor_fails),
		cmocka_unit_test(test_migration_deflate_errors),
		cmocka_unit_test(test_destination_inflate_init_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
