/*
 * migration/ram_save with the options store: the RAM saver reads the
 * options when a migration starts and afterwards reacts to the store's
 * generation (ram_save_apply_options()), acting on the rows' apply bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "codec/compress_pool.h"
#include "migration/options.h"
#include "migration/options_hmp.h"
#include "codec/page_cache.h"
#include "migration/qemu_file.h"
#include "migration/ram_load.h"
#include "migration/ram_save.h"
#include "migration/ram_wire.h"
#include "ram/guest_ram.h"

#define RAM_BYTES (1u << 20)

struct fixture {
	struct guest_ram ram;
	struct mig_options options;
	struct mig_stats stats;
	atomic_bool running;
	struct ram_save rs;
	bool rs_ready;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || guest_ram_init(&fx->ram, RAM_BYTES, NULL) < 0)
		return -1;
	mig_options_init(&fx->options);
	atomic_init(&fx->running, true);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->rs_ready)
		ram_save_release(&fx->rs);
	mig_options_release(&fx->options);
	guest_ram_release(&fx->ram);
	free(fx);
	return 0;
}

/* An HMP line's effect on the store; the line must be accepted. */
static void hmp_set(struct fixture *fx, const char *name, const char *value)
{
	struct error *err = NULL;

	if (!mig_options_set_param_hmp(&fx->options, name, value, false,
				       &err))
		fail_msg("%s %s: %s", name, value, err->msg);
}

static void hmp_cap(struct fixture *fx, const char *name)
{
	assert_true(mig_options_set_cap_hmp(&fx->options, name, true, NULL));
}

/* What migration_thread does when the migration starts. */
static void start(struct fixture *fx)
{
	struct ram_save_config cfg;
	struct error *err = NULL;

	ram_save_config_read(&cfg, &fx->options);
	if (!ram_save_init(&fx->rs, &fx->ram, &fx->running, &fx->stats, &cfg,
			   &err))
		fail_msg("ram_save_init: %s", err->msg);
	fx->rs_ready = true;
}

/* What run_iterations does between sections. */
static void between_sections(struct fixture *fx)
{
	struct error *err = NULL;

	if (!ram_save_apply_options(&fx->rs, &fx->options, &err))
		fail_msg("ram_save_apply_options: %s", err->msg);
}

static void test_generation_read_at_start(void **state)
{
	struct fixture *fx = *state;

	hmp_set(fx, "compress-level", "6");
	start(fx);
	assert_int_equal(fx->rs.cfg.options_generation,
			 mig_options_generation(&fx->options));
	/* nothing committed since: nothing to do */
	between_sections(fx);
	assert_int_equal(fx->rs.cfg.compress_level, 6);
}

static void test_cache_resized(void **state)
{
	struct fixture *fx = *state;

	hmp_cap(fx, "xbzrle");
	hmp_set(fx, "xbzrle-cache-size", "256k");
	start(fx);
	assert_int_equal(page_cache_size_bytes(fx->rs.cache), 256 << 10);
	hmp_set(fx, "xbzrle-cache-size", "1m");
	between_sections(fx);
	assert_int_equal(page_cache_size_bytes(fx->rs.cache), 1 << 20);
	assert_int_equal(fx->rs.cfg.options_generation,
			 mig_options_generation(&fx->options));
}

static void test_pool_rebuilt(void **state)
{
	struct fixture *fx = *state;

	hmp_cap(fx, "compress");
	hmp_set(fx, "compress-threads", "1");
	start(fx);
	/* level 1 is igzip's, 2..9 libdeflate's (page_deflate_pick) */
	assert_int_equal(compress_pool_engine(fx->rs.pool), PAGE_DEFLATE_IGZIP);
	hmp_set(fx, "compress-level", "6");
	between_sections(fx);
	assert_int_equal(compress_pool_engine(fx->rs.pool),
			 PAGE_DEFLATE_LIBDEFLATE);
	assert_int_equal(fx->rs.cfg.compress_level, 6);
	hmp_set(fx, "compress-threads", "2");
	between_sections(fx);
	assert_int_equal(fx->rs.cfg.compress_threads, 2);
	assert_non_null(fx->rs.pool);
}

/* Parameters without apply bits still reach the config. */
static void test_wait_thread_follows(void **state)
{
	struct fixture *fx = *state;

	hmp_cap(fx, "compress");
	start(fx);
	assert_true(fx->rs.cfg.compress_wait_thread);
	hmp_set(fx, "compress-wait-thread", "off");
	hmp_set(fx, "max-bandwidth", "1g");
	between_sections(fx);
	assert_false(fx->rs.cfg.compress_wait_thread);
	assert_int_equal(compress_pool_engine(fx->rs.pool), PAGE_DEFLATE_IGZIP);
}

/* Every page non-zero and different, as the bulk pass will find them. */
static void fill_ram(struct fixture *fx)
{
	for (uint64_t p = 0; p < fx->ram.npages; p++)
		memset(fx->ram.host + p * GUEST_PAGE_SIZE, (int)(p % 251) + 1,
		       GUEST_PAGE_SIZE);
}

/* A stream into memory the test never reads back. */
static struct qemu_file *sink_file(void)
{
	int fd = memfd_create("ram_save_sink", 0);

	assert_true(fd >= 0);
	return qemu_file_new_fd(fd, true);
}

/*
 * The bulk pass, then `dirtied` pages (never page 0, the one that names
 * the block) written once more and sent in the second pass.
 */
static void two_passes(struct fixture *fx, unsigned dirtied)
{
	struct qemu_file *f = sink_file();

	ram_save_setup(&fx->rs, f);
	ram_save_iterate(&fx->rs, f, UINT64_MAX);
	assert_int_equal(atomic_load(&fx->stats.normal), fx->ram.npages);
	for (unsigned k = 1; k <= dirtied; k++) {
		uint64_t off = (uint64_t)k * 7 * GUEST_PAGE_SIZE;

		fx->ram.host[off + 100] ^= 0x5a;
		guest_ram_mark_dirty(&fx->ram, off, GUEST_PAGE_SIZE);
	}
	ram_save_sync(&fx->rs);
	ram_save_iterate(&fx->rs, f, UINT64_MAX);
	assert_int_equal(qemu_file_close(f), 0);
}

/* qmig's rule: the bulk pass filled the cache, the first re-send of a
 * page is a delta. */
static void test_bulk_fill_on(void **state)
{
	struct fixture *fx = *state;

	fill_ram(fx);
	hmp_cap(fx, "xbzrle");
	start(fx);
	assert_true(fx->rs.bulk_fill);
	two_passes(fx, 10);
	assert_int_equal(atomic_load(&fx->stats.xbzrle_pages), 10);
	assert_int_equal(atomic_load(&fx->stats.xbzrle_cache_miss), 0);
}

/* x-xbzrle-bulk-fill off: QEMU 7.2's rule, a cache miss first. */
static void test_bulk_fill_off(void **state)
{
	struct fixture *fx = *state;

	fill_ram(fx);
	hmp_cap(fx, "xbzrle");
	hmp_set(fx, "x-xbzrle-bulk-fill", "off");
	start(fx);
	assert_false(fx->rs.bulk_fill);
	two_passes(fx, 10);
	assert_int_equal(atomic_load(&fx->stats.xbzrle_pages), 0);
	assert_int_equal(atomic_load(&fx->stats.xbzrle_cache_miss), 10);
}

/* The rule is the one the migration started with. */
static void test_bulk_fill_read_at_start(void **state)
{
	struct fixture *fx = *state;

	hmp_cap(fx, "xbzrle");
	start(fx);
	hmp_set(fx, "x-xbzrle-bulk-fill", "off");
	between_sections(fx);
	assert_true(fx->rs.bulk_fill);
}

/* Compressible, non-zero, different pages. */
static void fill_ram_text(struct fixture *fx)
{
	for (uint64_t p = 0; p < fx->ram.npages; p++) {
		uint8_t *page = fx->ram.host + p * GUEST_PAGE_SIZE;

		for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++)
			page[i] = (uint8_t)('a' + (i * 7 + p) % 13);
	}
}

/* The bulk pass into memory, returned (malloc'ed, *len bytes). */
static uint8_t *bulk_pass_bytes(struct fixture *fx, size_t *len)
{
	int fd = memfd_create("ram_save_stream", 0);
	int keep;
	struct qemu_file *f;
	uint8_t *buf;

	assert_true(fd >= 0);
	keep = dup(fd);
	assert_true(keep >= 0);
	f = qemu_file_new_fd(fd, true);
	ram_save_setup(&fx->rs, f);
	ram_save_iterate(&fx->rs, f, UINT64_MAX);
	assert_int_equal(qemu_file_close(f), 0);
	*len = (size_t)lseek(keep, 0, SEEK_END);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(pread(keep, buf, *len, 0), (ssize_t)*len);
	close(keep);
	return buf;
}

/*
 * Walks the ram section data of setup + one iteration and checks every
 * COMPRESS_PAGE payload against zlib's compress2() at level: the bytes
 * QEMU 7.2 writes.  Returns how many there were.
 */
static unsigned check_payloads_are_zlibs(struct fixture *fx,
					 const uint8_t *data, size_t len,
					 int level)
{
	struct qemu_file *f = qemu_file_new_mem(data, len);
	char name[256];
	uint8_t payload[RAM_COMPRESS_MAX_LEN], want[RAM_COMPRESS_MAX_LEN + 64];
	unsigned n = 0;

	/* setup: the block list, EOS */
	assert_int_equal(qemu_get_be64(f) & RAM_FLAG_MASK, RAM_FLAG_MEM_SIZE);
	qemu_get_string8(f, name);
	qemu_get_be64(f);
	assert_int_equal(qemu_get_be64(f), RAM_FLAG_EOS);
	for (;;) {
		uint64_t hdr = qemu_get_be64(f);
		uint64_t flags = hdr & RAM_FLAG_MASK, off = hdr & ~RAM_FLAG_MASK;

		assert_int_equal(qemu_file_error(f), 0);
		if (flags & RAM_FLAG_EOS)
			break;
		if (!(flags & RAM_FLAG_CONTINUE))
			qemu_get_string8(f, name);
		if (flags & RAM_FLAG_ZERO) {
			qemu_get_u8(f);
		} else if (flags & RAM_FLAG_PAGE) {
			qemu_skip(f, GUEST_PAGE_SIZE);
		} else {
			uLongf wlen = sizeof(want);
			uint32_t plen = qemu_get_be32(f);

			assert_int_equal(flags & ~RAM_FLAG_CONTINUE,
					 RAM_FLAG_COMPRESS_PAGE);
			assert_true(plen <= sizeof(payload));
			assert_true(qemu_get_buffer(f, payload, plen));
			assert_int_equal(compress2(want, &wlen,
						   fx->ram.host + off,
						   GUEST_PAGE_SIZE, level),
					 Z_OK);
			assert_int_equal(plen, wlen);
			assert_memory_equal(payload, want, plen);
			n++;
		}
	}
	assert_true(qemu_file_at_eof(f));
	qemu_file_close(f);
	return n;
}

/* x-compress-engine zlib: the payloads are QEMU 7.2's bytes. */
static void test_compress_engine_zlib(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	uint8_t *data;

	fill_ram_text(fx);
	hmp_cap(fx, "compress");
	hmp_set(fx, "compress-threads", "2");
	hmp_set(fx, "x-compress-engine", "zlib");
	start(fx);
	assert_int_equal(compress_pool_engine(fx->rs.pool), PAGE_DEFLATE_ZLIB);
	data = bulk_pass_bytes(fx, &len);
	/* every page but the one naming the block */
	assert_int_equal(check_payloads_are_zlibs(fx, data, len, 1),
			 fx->ram.npages - 1);
	free(data);
}

/* Every engine the parameter names exists, and it switches mid-run. */
static void test_compress_engine_names(void **state)
{
	struct fixture *fx = *state;
	const struct mig_param_info *p =
		&mig_param_table[MIG_PARAM_X_COMPRESS_ENGINE];

	assert_string_equal(p->enum_names[p->default_num], "auto");
	hmp_cap(fx, "compress");
	start(fx);
	assert_int_equal(compress_pool_engine(fx->rs.pool), PAGE_DEFLATE_IGZIP);
	for (int i = 0; p->enum_names[i]; i++) {
		if (i == (int)p->default_num)
			continue;
		int e = page_deflate_engine_lookup(p->enum_names[i]);

		assert_true(e > PAGE_DEFLATE_STORED);
		hmp_set(fx, "x-compress-engine", p->enum_names[i]);
		between_sections(fx);
		assert_int_equal(compress_pool_engine(fx->rs.pool), e);
	}
	hmp_set(fx, "x-compress-engine", "auto");
	between_sections(fx);
	assert_int_equal(compress_pool_engine(fx->rs.pool), PAGE_DEFLATE_IGZIP);
}

/*
 * The stream of x-compress-engine ENGINE loaded by a destination with
 * x-decompress-engine DENGINE (what incoming.c hands the loader): the
 * pages arrive.
 */
static void round_trip(struct fixture *fx, const char *engine,
		       enum decompress_engine dengine)
{
	struct guest_ram dst;
	struct ram_load rl;
	struct error *err = NULL;
	size_t len;
	uint8_t *data;
	struct qemu_file *f;

	fill_ram_text(fx);
	hmp_cap(fx, "compress");
	hmp_set(fx, "x-compress-engine", engine);
	start(fx);
	data = bulk_pass_bytes(fx, &len);

	assert_int_equal(guest_ram_init(&dst, RAM_BYTES, NULL), 0);
	ram_load_init(&rl, &dst, true, 2);
	rl.decompress_engine = dengine;
	f = qemu_file_new_mem(data, len);
	for (int section = 0; section < 2; section++)
		if (ram_load_section(&rl, f, &err) < 0)
			fail_msg("section %d: %s", section, err->msg);
	assert_true(qemu_file_at_eof(f));
	assert_non_null(rl.pool);
	assert_int_equal(decompress_pool_engine(rl.pool), dengine);
	ram_load_release(&rl);
	assert_memory_equal(dst.host, fx->ram.host, RAM_BYTES);
	qemu_file_close(f);
	guest_ram_release(&dst);
	free(data);
}

static void test_round_trip_zlib_to_zlib(void **state)
{
	round_trip(*state, "zlib", DECOMPRESS_ZLIB);
}

static void test_round_trip_igzip_to_libdeflate(void **state)
{
	round_trip(*state, "igzip", DECOMPRESS_LIBDEFLATE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_generation_read_at_start),
		T(test_cache_resized),
		T(test_pool_rebuilt),
		T(test_wait_thread_follows),
		T(test_bulk_fill_on),
		T(test_bulk_fill_off),
		T(test_bulk_fill_read_at_start),
		T(test_compress_engine_zlib),
		T(test_compress_engine_names),
		T(test_round_trip_zlib_to_zlib),
		T(test_round_trip_igzip_to_libdeflate),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
