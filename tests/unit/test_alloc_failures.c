/*
 * Allocation failures where qmig is meant to survive them: the big
 * buffers whose size the user picks (the XBZRLE page cache, the compress
 * and decompress pools' page buffers, guest RAM).  Each fails its caller
 * with its message and leaks nothing (ASan's leak check runs this too);
 * inside a migration the migration fails, the source keeps running with
 * its RAM intact and the next migration works.  The failures come from
 * tests/unit/lib/inject.c (ld --wrap, see the Makefile); xalloc's x*
 * functions abort by design and are not injected.
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

#include "codec/compress_pool.h"
#include "codec/decompress_pool.h"
#include "codec/page_cache.h"
#include "migration/ram_save.h"
#include "tests/unit/lib/inject.h"
#include "tests/unit/lib/mig_pair.h"
#include "util/xalloc.h"

#define MiB (1ULL << 20)
#define RAM_BYTES (8 * MiB)
#define PEER_URI "fd:" TEST_PEER_FD

static void expect_error(struct error *err, int code, const char *msg)
{
	assert_non_null(err);
	if (err->code != code || strcmp(err->msg, msg))
		fail_msg("error %d \"%s\", expected %d \"%s\"", err->code,
			 err->msg, code, msg);
	error_free(err);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Each of the cache's three allocations in turn. */
static void test_page_cache_new(void **state)
{
	static const enum inject_fn fns[] = { INJECT_CALLOC, INJECT_MALLOC,
					      INJECT_MMAP };
	for (int i = 0; i < 3; i++) {
		struct error *err = NULL;
		inject_fail(fns[i], 0, 0, 1);
		assert_null(page_cache_new(8 * MiB, &err));
		assert_int_equal(inject_failures(fns[i]), 1);
		inject_clear();
		expect_error(err, ENOMEM,
			     "cannot allocate an XBZRLE cache of 8388608 bytes");
	}
	struct error *err = NULL;
	struct page_cache *c = page_cache_new(8 * MiB, &err);
	assert_non_null(c);
	page_cache_free(c);
}

/* A resize that cannot allocate keeps the old cache, contents included. */
static void test_page_cache_resize(void **state)
{
	struct error *err = NULL;
	struct page_cache *c = page_cache_new(1 * MiB, &err);
	assert_non_null(c);
	uint8_t page[PAGE_CACHE_PAGE_SIZE];
	memset(page, 0x3c, sizeof(page));
	assert_true(page_cache_insert(c, 5 * 4096, page, 1, NULL));
	struct page_cache *before = c;
	inject_fail(INJECT_MMAP, 0, 0, 1);
	assert_false(page_cache_resize(&c, 2 * MiB, &err));
	inject_clear();
	expect_error(err, ENOMEM,
		     "cannot allocate an XBZRLE cache of 2097152 bytes");
	assert_ptr_equal(c, before);
	assert_int_equal(page_cache_size_bytes(c), 1 * MiB);
	uint8_t *cached;
	assert_true(page_cache_lookup(c, 5 * 4096, 2, &cached));
	assert_memory_equal(cached, page, sizeof(page));
	page_cache_free(c);
}

static void test_guest_ram(void **state)
{
	struct guest_ram ram;
	struct error *err = NULL;
	inject_fail(INJECT_MMAP, 0, 0, 1);
	assert_int_equal(guest_ram_init(&ram, 16 * MiB, &err), -1);
	inject_clear();
	expect_error(err, 0, "cannot set up guest memory 'ram': "
			     "Cannot allocate memory");
	struct vm vm;
	err = NULL;
	inject_fail(INJECT_MMAP, 0, 0, 1);
	assert_int_equal(machine_init(&vm, 16 * MiB, &err), -1);
	inject_clear();
	expect_error(err, 0, "cannot set up guest memory 'ram': "
			     "Cannot allocate memory");
}

/* The pools' page buffers: the pool is not made, nothing leaks. */
static void test_pool_buffers(void **state)
{
	struct error *err = NULL;
	inject_fail(INJECT_CALLOC, 1 * MiB, 0, 1);
	assert_null(compress_pool_new(8, 1, &err));
	assert_int_equal(inject_failures(INJECT_CALLOC), 1);
	inject_clear();
	assert_int_equal(err->code, ENOMEM);
	assert_true(!strncmp(err->msg, "cannot allocate ", 16));
	assert_true(has_suffix(err->msg,
			       " bytes of compression buffers for 8 threads"));
	error_free(err);

	uint8_t *ram = xcalloc(1, 64 * 4096);
	err = NULL;
	inject_fail(INJECT_CALLOC, 256 << 10, 0, 1);
	assert_null(decompress_pool_new(2, ram, 64 * 4096, &err));
	inject_clear();
	assert_int_equal(err->code, ENOMEM);
	assert_true(has_suffix(err->msg,
			       " bytes of decompression buffers for 2 threads"));
	error_free(err);
	free(ram);
}

/* ram_save_init fails with the cache's error and releases cleanly. */
static void test_ram_save_init(void **state)
{
	struct guest_ram ram;
	struct error *err = NULL;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, &err), 0);
	struct mig_stats stats;
	memset(&stats, 0, sizeof(stats));
	atomic_bool running = true;
	struct ram_save_config cfg = { .xbzrle = true,
				       .xbzrle_cache_bytes = 4 * MiB };
	struct ram_save rs;
	inject_fail(INJECT_MMAP, 0, 0, 1);
	assert_false(ram_save_init(&rs, &ram, &running, &stats, &cfg, &err));
	inject_clear();
	ram_save_release(&rs);
	expect_error(err, ENOMEM,
		     "cannot allocate an XBZRLE cache of 4194304 bytes");
	guest_ram_release(&ram);
}

/* ---- inside a migration ---- */

static uint8_t *copy_ram(const struct guest_ram *ram)
{
	uint8_t *copy = xmalloc(ram->size_bytes);
	memcpy(copy, ram->host, ram->size_bytes);
	return copy;
}

static char *error_desc(struct test_source *s)
{
	pthread_mutex_lock(&s->vm.lock);
	char *d = xstrdup(s->vm.outgoing->error_desc ?
				  s->vm.outgoing->error_desc : "(none)");
	pthread_mutex_unlock(&s->vm.lock);
	return d;
}

/*
 * The migration failed (the injected failure of `fn` happened) with `msg`
 * (exactly, or as a prefix/suffix pair split at '*'), the guest runs, its
 * RAM is what it was; with injection off a second migration completes.
 */
static void expect_failed_then_retry(struct test_source *s, uint8_t *before,
				     enum inject_fn fn, const char *msg)
{
	assert_int_equal(test_source_wait_end(s), MIG_STATUS_FAILED);
	assert_int_equal(inject_failures(fn), 1);
	inject_clear();
	char *desc = error_desc(s);
	const char *star = strchr(msg, '*');
	bool ok = star ? !strncmp(desc, msg, (size_t)(star - msg)) &&
				 has_suffix(desc, star + 1)
		       : !strcmp(desc, msg);
	if (!ok)
		fail_msg("error \"%s\", expected \"%s\"", desc, msg);
	free(desc);
	assert_int_equal(test_source_runstate(s), RUNSTATE_RUNNING);
	assert_memory_equal(s->vm.ram.host, before, s->vm.ram.size_bytes);
	free(before);

	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, true, false);
	struct error *err = NULL;
	assert_true(test_source_migrate(s, PEER_URI, &err));
	assert_int_equal(test_source_wait_end(s), MIG_STATUS_COMPLETED);
	assert_int_equal(test_peer_join(&p), 0);
	assert_int_equal(ram_first_difference(&s->vm.ram, &p.g.ram), -1);
	test_peer_release(&p);
}

/* Setup cannot make the cache or the pool: failed before a byte of RAM
 * was sent (the destination sees an empty stream). */
static void test_migration_setup_fails(void **state)
{
	for (int i = 0; i < 2; i++) {
		struct test_source s;
		test_source_init(&s, RAM_BYTES);
		test_source_cap(&s, "events", true);
		test_source_cap(&s, i == 0 ? "xbzrle" : "compress", true);
		test_source_param(&s, "xbzrle-cache-size", "8M");
		uint8_t *before = copy_ram(&s.vm.ram);
		struct test_peer p;
		test_peer_start(&p, RAM_BYTES, true, false);
		if (i == 0)
			inject_fail(INJECT_MMAP, 8 * MiB, 0, 1);
		else
			inject_fail(INJECT_CALLOC, 4 * MiB, 0, 1);
		struct error *err = NULL;
		assert_true(test_source_migrate(&s, PEER_URI, &err));
		if (i == 0)
			expect_failed_then_retry(&s, before, INJECT_MMAP,
						 "cannot allocate an XBZRLE cache of 8388608 bytes");
		else
			expect_failed_then_retry(&s, before, INJECT_CALLOC,
						 "cannot allocate * bytes of compression buffers for 8 threads");
		assert_true(test_peer_join(&p) < 0);
		test_peer_release(&p);
		char events[256];
		test_source_events(&s, events, sizeof(events), true);
		assert_true(!strncmp(events, "setup failed setup ", 19));
		test_source_release(&s);
	}
}

/*
 * xbzrle-cache-size raised during the migration to a size that cannot be
 * had: the resize between sections fails the migration (the guest ran on).
 * The destination holds the stream back until the new size is set, and
 * max-bandwidth makes sure sections follow after that.
 */
static void test_migration_cache_resize_fails(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "xbzrle", true);
	test_source_param(&s, "xbzrle-cache-size", "8M");
	test_source_param(&s, "max-bandwidth", "32M");
	test_source_param(&s, "downtime-limit", "1");
	uint8_t *before = copy_ram(&s.vm.ram);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, false, true);
	struct error *err = NULL;
	assert_true(test_source_migrate(&s, PEER_URI, &err));
	test_source_wait_status(&s, MIG_STATUS_ACTIVE);
	/* armed first: whenever the thread sees the new size, it fails */
	inject_fail(INJECT_MMAP, 16 * MiB, 0, 1);
	test_source_param(&s, "xbzrle-cache-size", "16M");
	test_peer_release_hold(&p);
	expect_failed_then_retry(&s, before, INJECT_MMAP,
				 "cannot allocate an XBZRLE cache of 16777216 bytes");
	assert_true(test_peer_join(&p) < 0);
	test_peer_release(&p);
	test_source_release(&s);
}

/* The destination cannot make its decompress pool: its load fails with
 * the reason, the source fails on the closed socket and runs on. */
static void test_destination_pool_fails(void **state)
{
	struct test_source s;
	test_source_init(&s, RAM_BYTES);
	test_source_cap(&s, "compress", true);
	uint8_t *before = copy_ram(&s.vm.ram);
	struct test_peer p;
	test_peer_start(&p, RAM_BYTES, true, false);
	/* the source's pool is the first big calloc, the peer's the next */
	inject_fail(INJECT_CALLOC, 512 << 10, 1, 1);
	struct error *err = NULL;
	assert_true(test_source_migrate(&s, PEER_URI, &err));
	assert_int_equal(test_peer_join(&p), -ENOMEM);
	assert_true(has_suffix(p.err->msg,
			       " bytes of decompression buffers for 2 threads\n"
			       "error while loading state section id 2(ram)"));
	expect_failed_then_retry(&s, before, INJECT_CALLOC,
				 "Unable to write to socket: Broken pipe");
	test_peer_release(&p);
	test_source_release(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_cache_new),
		cmocka_unit_test(test_page_cache_resize),
		cmocka_unit_test(test_guest_ram),
		cmocka_unit_test(test_pool_buffers),
		cmocka_unit_test(test_ram_save_init),
		cmocka_unit_test(test_migration_setup_fails),
		cmocka_unit_test(test_migration_cache_resize_fails),
		cmocka_unit_test(test_destination_pool_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
