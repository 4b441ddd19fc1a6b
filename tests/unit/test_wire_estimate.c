/*
 * The switch-over's estimate of what is still dirty (issue 15): during the
 * bulk pass a PAGE record a page, after it what the last passes took per
 * page.  A guest that rewrites a byte in each of N pages must be estimated
 * at about XBZRLE's or deflate's cost with those codecs (what lets the seed
 * workload converge at 8M) and at a raw page's without them, while the
 * `remaining` figure stays QEMU's full page size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>

#include "migration/mig_stats.h"
#include "migration/options.h"
#include "migration/options_hmp.h"
#include "migration/qemu_file.h"
#include "migration/ram_save.h"
#include "migration/ram_wire.h"
#include "migration/savevm.h"
#include "migration/wire_estimate.h"
#include "tests/unit/lib/mem_file.h"
#include "tests/unit/lib/test_ram.h"

#define PAGE GUEST_PAGE_SIZE
#define RAW (RAM_RECORD_HEADER_BYTES + RAM_PAGE_SIZE)
#define GUEST_PAGES 1024
#define DIRTIED 256

static void test_mean_and_decay(void **state)
{
	struct wire_estimate e = { 0 };
	assert_int_equal(wire_estimate_bytes(&e, 10), 10 * RAW);
	wire_estimate_end_pass(&e); /* a pass with no sample says nothing */
	assert_int_equal(wire_estimate_bytes(&e, 10), 10 * RAW);
	/* The pass being sent counts before its sync. */
	wire_estimate_sample(&e, 100, 4000);
	assert_int_equal(wire_estimate_bytes(&e, 10), 400);
	wire_estimate_end_pass(&e);
	assert_int_equal(wire_estimate_bytes(&e, 10), 400);
	/* At the next sync the old history halves: (2000 + 800) / (50 + 100)
	 * a page; sections within a pass do not decay each other. */
	wire_estimate_sample(&e, 50, 400);
	wire_estimate_sample(&e, 50, 400);
	wire_estimate_end_pass(&e);
	assert_int_equal(wire_estimate_bytes(&e, 150), 2800);
}

/* What the seed workload did under load: a pass of raw pages, then, in
 * small rate-limited sections, a stretch of pages that were zero when
 * read.  The estimate must stay near a pass's mean, not the stretch's. */
static void test_a_zero_stretch_does_not_rule(void **state)
{
	struct wire_estimate e = { 0 };
	for (int i = 0; i < 20; i++)
		wire_estimate_sample(&e, 200, 200 * RAW);
	wire_estimate_end_pass(&e);
	for (int i = 0; i < 5; i++)
		wire_estimate_sample(&e, 200, 200 * 9);
	/* 4000 raw pages and 1000 zero records: 80 % of a raw page. */
	uint64_t est = wire_estimate_bytes(&e, 4096);
	assert_true(est > 4096ULL * RAW * 3 / 4);
}

static void set_cap(struct mig_options *o, const char *name)
{
	struct error *err = NULL;
	if (!mig_options_set_cap_hmp(o, name, true, &err))
		fail_msg("%s: %s", name, err->msg);
}

/* Bumps one byte in each of the first DIRTIED pages, as the seed
 * workload does, and marks them dirty. */
static void touch(struct guest_ram *ram)
{
	for (uint64_t p = 0; p < DIRTIED; p++) {
		ram->host[p * PAGE + 100]++;
		guest_ram_mark_dirty(ram, p * PAGE + 100, 1);
	}
}

/* Whole passes until nothing is dirty. */
static void pass(struct ram_save *rs, struct qemu_file *f)
{
	do {
		savevm_put_section_part(f, QEMU_VM_SECTION_PART, SAVEVM_ID_RAM);
		ram_save_iterate(rs, f, 1ULL << 40);
		savevm_put_footer(f, SAVEVM_ID_RAM);
	} while (ram_save_pending_bytes(rs));
}

/* The estimate for DIRTIED re-dirtied pages with `cap` (NULL: plain). */
static uint64_t estimate_after_passes(const char *cap)
{
	struct guarded_ram g;
	guarded_ram_init(&g, GUEST_PAGES * PAGE);
	uint64_t seed = 15;
	for (uint64_t p = 0; p < GUEST_PAGES; p++)
		ram_write_page(&g.ram, p, PAGE_KIND_TEXT, &seed);
	struct mig_options o;
	mig_options_init(&o);
	if (cap)
		set_cap(&o, cap);
	struct ram_save_config cfg;
	ram_save_config_read(&cfg, &o);
	struct mig_stats stats;
	memset(&stats, 0, sizeof(stats));
	atomic_bool running;
	atomic_init(&running, true);
	struct ram_save rs;
	struct error *err = NULL;
	if (!ram_save_init(&rs, &g.ram, &running, &stats, &cfg, &err))
		fail_msg("ram_save_init: %s", err->msg);
	struct qemu_file *f = mem_file_writer();
	savevm_put_header(f, NULL);
	ram_save_setup(&rs, f);

	/* The bulk pass: QEMU's full-size rule. */
	assert_int_equal(ram_save_pending_wire_bytes(&rs), GUEST_PAGES * RAW);
	pass(&rs, f);
	for (int i = 0; i < 3; i++) {
		touch(&g.ram);
		ram_save_sync(&rs);
		pass(&rs, f);
	}
	touch(&g.ram);
	ram_save_sync(&rs);
	assert_int_equal(ram_save_pending_bytes(&rs), DIRTIED * PAGE);
	uint64_t est = ram_save_pending_wire_bytes(&rs);

	qemu_file_close(f);
	ram_save_release(&rs);
	mig_options_release(&o);
	guarded_ram_release(&g);
	return est;
}

static void test_plain_costs_raw_pages(void **state)
{
	uint64_t est = estimate_after_passes(NULL);
	/* A page record each, and the sections' EOS markers. */
	assert_true(est >= DIRTIED * RAW);
	assert_true(est <= DIRTIED * RAW + DIRTIED);
}

static void test_xbzrle_costs_deltas(void **state)
{
	uint64_t est = estimate_after_passes("xbzrle");
	/* One changed byte: header, encoding byte, length, a few bytes of
	 * delta; nowhere near a page. */
	assert_true(est >= DIRTIED * RAM_RECORD_HEADER_BYTES);
	assert_true(est <= DIRTIED * 32);
}

static void test_compress_costs_deflated_pages(void **state)
{
	uint64_t est = estimate_after_passes("compress");
	/* Text deflates to well under half a page. */
	assert_true(est >= DIRTIED * RAM_RECORD_HEADER_BYTES);
	assert_true(est <= DIRTIED * RAW / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mean_and_decay),
		cmocka_unit_test(test_a_zero_stretch_does_not_rule),
		cmocka_unit_test(test_plain_costs_raw_pages),
		cmocka_unit_test(test_xbzrle_costs_deltas),
		cmocka_unit_test(test_compress_costs_deflated_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
