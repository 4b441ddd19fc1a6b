/*
 * The `ram` section end to end in memory: ram_save writes a whole stream
 * (savevm framing around it), ram_load reads it into a second guest RAM,
 * which must then hold the same bytes.  Plain, zero pages, several passes
 * with pages written in between, XBZRLE (deltas, overflow, cache miss, a
 * page turned zero), compression at each engine's level, both together.
 * Then damage: a destination of another size or without `compress`, a
 * stream cut at every structural byte, and single-field corruptions, each
 * failing with QEMU 7.2's lines (the dest-checks cases they mirror are
 * named), never writing outside the guest's RAM (guard pages).  A walker
 * written from shared/docs/qemu-7.2-stream.md §8 finds the records and
 * counts them independently of both ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration/mig_stats.h"
#include "migration/options.h"
#include "migration/options_hmp.h"
#include "migration/qemu_file.h"
#include "migration/ram_load.h"
#include "migration/ram_save.h"
#include "migration/ram_wire.h"
#include "migration/savevm.h"
#include "tests/unit/lib/mem_file.h"
#include "tests/unit/lib/test_ram.h"
#include "util/xalloc.h"

#define PAGE GUEST_PAGE_SIZE
#define NO_LIMIT (1ULL << 40)

/* ---- the source: a guest RAM and ram_save writing into memory ---- */

struct codec {
	bool xbzrle, compress;
	const char *level;  /* compress-level, NULL: default */
	const char *cache;  /* xbzrle-cache-size, NULL: default */
};

struct source {
	struct guarded_ram g;
	struct mig_options opts;
	struct mig_stats stats;
	atomic_bool running;
	struct ram_save rs;
	struct qemu_file *f;
};

static void set_param(struct mig_options *o, const char *name,
		      const char *value)
{
	struct error *err = NULL;
	if (value && !mig_options_set_param_hmp(o, name, value, false, &err))
		fail_msg("%s %s: %s", name, value, err->msg);
}

static void set_cap(struct mig_options *o, const char *name, bool on)
{
	struct error *err = NULL;
	if (!mig_options_set_cap_hmp(o, name, on, &err))
		fail_msg("%s: %s", name, err->msg);
}

/* RAM of `pages` pages, mixed content; nothing sent yet. */
static void source_init(struct source *s, uint64_t pages,
			const struct codec *c)
{
	memset(s, 0, sizeof(*s));
	guarded_ram_init(&s->g, pages * PAGE);
	ram_fill_mixed(&s->g.ram, 42);
	mig_options_init(&s->opts);
	set_cap(&s->opts, "xbzrle", c->xbzrle);
	set_cap(&s->opts, "compress", c->compress);
	set_param(&s->opts, "compress-level", c->level);
	set_param(&s->opts, "compress-threads", "2");
	set_param(&s->opts, "xbzrle-cache-size", c->cache);
	atomic_init(&s->running, true);
}

/* Header and the START section (block list), as the migration thread. */
static void source_begin(struct source *s)
{
	struct ram_save_config cfg;
	ram_save_config_read(&cfg, &s->opts);
	struct error *err = NULL;
	if (!ram_save_init(&s->rs, &s->g.ram, &s->running, &s->stats, &cfg,
			   &err))
		fail_msg("ram_save_init: %s", err->msg);
	s->f = mem_file_writer();
	savevm_put_header(s->f, NULL);
	savevm_put_section_start(s->f, QEMU_VM_SECTION_START, SAVEVM_ID_RAM,
				 "ram", RAM_SECTION_VERSION);
	ram_save_setup(&s->rs, s->f);
	savevm_put_footer(s->f, SAVEVM_ID_RAM);
}

/* PART sections of at most `budget` bytes until nothing is dirty. */
static void source_pass(struct source *s, uint64_t budget)
{
	do {
		savevm_put_section_part(s->f, QEMU_VM_SECTION_PART,
					SAVEVM_ID_RAM);
		ram_save_iterate(&s->rs, s->f, budget);
		savevm_put_footer(s->f, SAVEVM_ID_RAM);
	} while (ram_save_pending_bytes(&s->rs));
}

/* A dirty sync, then a pass. */
static void source_sync_pass(struct source *s)
{
	ram_save_sync(&s->rs);
	source_pass(s, NO_LIMIT);
}

/* END (a last sync inside), the devices, EOF; the whole stream. */
static uint8_t *source_end(struct source *s, size_t *len)
{
	s->running = false; /* the switch-over: downtime bytes from here */
	savevm_put_section_part(s->f, QEMU_VM_SECTION_END, SAVEVM_ID_RAM);
	ram_save_complete(&s->rs, s->f);
	savevm_put_footer(s->f, SAVEVM_ID_RAM);
	savevm_put_devices(s->f, "running", 0, 0);
	return mem_file_contents(s->f, len);
}

static void source_release(struct source *s)
{
	qemu_file_close(s->f);
	ram_save_release(&s->rs);
	mig_options_release(&s->opts);
	guarded_ram_release(&s->g);
}

/* ---- the destination ---- */

struct counts {
	uint64_t zero, normal, xbzrle, compressed;
};

/* Loads into g (compress: the destination's capability); the counts are
 * what ram_load saw. */
static int dest_load(struct guarded_ram *g, bool compress,
		     const uint8_t *bytes, size_t len, struct counts *counts,
		     struct error **errp)
{
	struct qemu_file *f = qemu_file_new_mem(bytes, len);
	struct ram_load rl;
	ram_load_init(&rl, &g->ram, compress, 2);
	struct savevm_load_result result;
	int ret = savevm_load(f, &rl, &result, NULL, errp);
	if (counts) {
		counts->zero = rl.zero_pages;
		counts->normal = rl.normal_pages;
		counts->xbzrle = rl.xbzrle_pages;
		counts->compressed = rl.compressed_pages;
	}
	ram_load_release(&rl);
	qemu_file_close(f);
	if (ret < 0) {
		assert_non_null(*errp);
		assert_int_equal((*errp)->code, -ret);
	} else {
		assert_int_equal(ret, 0);
	}
	return ret;
}

static void expect_equal_ram(const struct guest_ram *a,
			     const struct guest_ram *b)
{
	int64_t page = ram_first_difference(a, b);
	if (page >= 0)
		fail_msg("destination page %lld differs", (long long)page);
}

/* Loads into a fresh guarded RAM and compares; returns the counts. */
static struct counts round_trip(struct source *s, const uint8_t *bytes,
				size_t len, bool compress)
{
	struct guarded_ram dst;
	guarded_ram_init(&dst, s->g.ram.size_bytes);
	struct counts c;
	struct error *err = NULL;
	if (dest_load(&dst, compress, bytes, len, &c, &err))
		fail_msg("load failed: %s", err->msg);
	expect_equal_ram(&s->g.ram, &dst.ram);
	guarded_ram_release(&dst);
	return c;
}

/* ---- an independent walker over the stream (stream doc §2, §8) ---- */

struct rec {
	size_t at;          /* the be64 header */
	uint64_t flags;     /* its low 12 bits */
	uint64_t addr;
	size_t data_at;     /* after header and block name */
	size_t data_len;    /* ZERO 1, PAGE 4096, XBZRLE 3+n, COMPRESS 4+n */
	uint8_t section;    /* START, PART or END */
};

struct walk {
	struct rec *r;
	size_t n;
	size_t block_list_at; /* the MEM_SIZE record */
	size_t eof_at;
	struct counts kinds;
	uint64_t ram_bytes;  /* every RAM record, block list and EOS included */
};

static uint64_t be_at(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t walk_block_list(const uint8_t *b, size_t pos, uint64_t total)
{
	while (total) {
		pos += 1 + b[pos];
		total -= be_at(b + pos, 8);
		pos += 8;
	}
	return pos;
}

/* The record at *pos, which moves past it; false once it was EOS. */
static bool walk_one(struct walk *w, const uint8_t *b, size_t *pos,
		     uint8_t section)
{
	uint64_t hdr = be_at(b + *pos, 8);
	struct rec r = { .at = *pos, .flags = hdr & RAM_FLAG_MASK,
			 .addr = hdr & ~RAM_FLAG_MASK, .section = section };
	*pos += 8;
	if (r.flags == RAM_FLAG_MEM_SIZE) {
		w->block_list_at = r.at;
		*pos = walk_block_list(b, *pos, r.addr);
		return true;
	}
	if (r.flags == RAM_FLAG_EOS)
		return false;
	if (!(r.flags & RAM_FLAG_CONTINUE))
		*pos += 1 + b[*pos];
	r.data_at = *pos;
	switch (r.flags & ~(uint64_t)RAM_FLAG_CONTINUE) {
	case RAM_FLAG_ZERO:
		r.data_len = 1;
		w->kinds.zero++;
		break;
	case RAM_FLAG_PAGE:
		r.data_len = PAGE;
		w->kinds.normal++;
		break;
	case RAM_FLAG_XBZRLE:
		r.data_len = 3 + be_at(b + r.data_at + 1, 2);
		w->kinds.xbzrle++;
		break;
	case RAM_FLAG_COMPRESS_PAGE:
		r.data_len = 4 + be_at(b + r.data_at, 4);
		assert_true(r.data_len - 4 <= RAM_COMPRESS_MAX_LEN);
		w->kinds.compressed++;
		break;
	default:
		fail_msg("record at %zu: flags 0x%llx", r.at,
			 (unsigned long long)r.flags);
	}
	w->r = xrealloc(w->r, (w->n + 1) * sizeof(*w->r));
	w->r[w->n++] = r;
	*pos = r.data_at + r.data_len;
	return true;
}

/* walk_one, adding the record's bytes to what the RAM code sent. */
static bool walk_record(struct walk *w, const uint8_t *b, size_t *pos,
			uint8_t section)
{
	size_t at = *pos;
	bool more = walk_one(w, b, pos, section);
	w->ram_bytes += *pos - at;
	return more;
}

/* What follows the headers of every record of kind (QEMU's
 * compressed_size and, with overflows apart, xbzrle_bytes). */
static uint64_t body_bytes(const struct walk *w, uint64_t kind)
{
	uint64_t n = 0;
	for (size_t i = 0; i < w->n; i++)
		if ((w->r[i].flags & ~(uint64_t)RAM_FLAG_CONTINUE) == kind)
			n += w->r[i].data_len;
	return n;
}

/*
 * The saver's byte counters against the walker's: every byte of the RAM
 * records counted once (headers included) but the END section's EOS
 * (QEMU 7.2's ram_save_complete counts none), and the codecs' sizes
 * without their headers, as QEMU 7.2 counts them.
 */
static void expect_byte_counters(const struct source *s, const struct walk *w)
{
	assert_int_equal(STAT_GET(s->stats.transferred), w->ram_bytes - 8);
	assert_int_equal(STAT_GET(s->stats.precopy_bytes) +
				 STAT_GET(s->stats.downtime_bytes),
			 w->ram_bytes - 8);
	assert_int_equal(STAT_GET(s->stats.compressed_size),
			 body_bytes(w, RAM_FLAG_COMPRESS_PAGE));
	assert_int_equal(STAT_GET(s->stats.xbzrle_bytes),
			 body_bytes(w, RAM_FLAG_XBZRLE) +
				 STAT_GET(s->stats.xbzrle_overflow) * PAGE);
}

/* Sizes of the FULL sections after the RAM (stream doc §12). */
#define TIMER_SECTION_BYTES (43 + 5)
#define GLOBALSTATE_SECTION_BYTES (129 + 5)

/* A stream as ram_save and savevm write it: header, configuration, RAM
 * sections, timer, globalstate, EOF, vmdesc. */
static void walk_stream(struct walk *w, const uint8_t *b, size_t len)
{
	memset(w, 0, sizeof(*w));
	size_t pos = 8 + 1 + 4 + be_at(b + 9, 4);
	while (b[pos] != QEMU_VM_SECTION_FULL) {
		uint8_t type = b[pos];
		assert_true(type >= QEMU_VM_SECTION_START &&
			    type <= QEMU_VM_SECTION_END);
		pos += 5; /* type, section id */
		if (type == QEMU_VM_SECTION_START)
			pos += 1 + b[pos] + 8; /* name, instance, version */
		while (walk_record(w, b, &pos, type))
			assert_true(pos < len);
		assert_int_equal(b[pos], QEMU_VM_SECTION_FOOTER);
		pos += 5;
	}
	pos += TIMER_SECTION_BYTES + GLOBALSTATE_SECTION_BYTES;
	assert_int_equal(b[pos], QEMU_VM_EOF);
	w->eof_at = pos;
	assert_int_equal(len - pos, 1 + 1 + 4 + 486);
}

static void walk_release(struct walk *w)
{
	free(w->r);
}

/* The nth record (0-based) whose kind (flags without CONTINUE) is kind. */
static const struct rec *nth_record(const struct walk *w, uint64_t kind,
				    unsigned nth)
{
	for (size_t i = 0; i < w->n; i++)
		if ((w->r[i].flags & ~(uint64_t)RAM_FLAG_CONTINUE) == kind &&
		    nth-- == 0)
			return &w->r[i];
	fail_msg("no record of kind 0x%llx number %u",
		 (unsigned long long)kind, nth);
	return NULL;
}

static void expect_counts(const struct counts *got, const struct counts *want)
{
	if (memcmp(got, want, sizeof(*got)))
		fail_msg("zero/normal/xbzrle/compressed %llu/%llu/%llu/%llu, "
			 "expected %llu/%llu/%llu/%llu",
			 (unsigned long long)got->zero,
			 (unsigned long long)got->normal,
			 (unsigned long long)got->xbzrle,
			 (unsigned long long)got->compressed,
			 (unsigned long long)want->zero,
			 (unsigned long long)want->normal,
			 (unsigned long long)want->xbzrle,
			 (unsigned long long)want->compressed);
}

/* ---- round trips ---- */

/* Bytes of a stream besides its page records: header and configuration
 * 17, START 17 + setup 28 + footer 5, one PART 5 + EOS 8 + footer 5, END
 * the same, the devices, EOF and vmdesc 674. */
#define ONE_PASS_FRAMING_BYTES (17 + 17 + 28 + 5 + 2 * (5 + 8 + 5) + 674)

/* One pass over every page kind: exactly the records the doc describes
 * (block named once, ZERO 9 bytes, PAGE 8 + 4096), counted right, and a
 * destination, pristine or full of other data, ends up equal. */
static void test_plain_round_trip(void **state)
{
	struct source s;
	const struct codec plain = { 0 };
	source_init(&s, 256, &plain);
	source_begin(&s);
	source_pass(&s, NO_LIMIT);
	size_t len;
	uint8_t *bytes = source_end(&s, &len);

	uint64_t zeros = (256 + PAGE_KIND__COUNT - 1) / PAGE_KIND__COUNT;
	struct counts want = { .zero = zeros, .normal = 256 - zeros };
	struct walk w;
	walk_stream(&w, bytes, len);
	expect_counts(&w.kinds, &want);
	uint64_t records = 4 + zeros * 9 + want.normal * (8 + PAGE);
	assert_int_equal(len, ONE_PASS_FRAMING_BYTES + records);
	assert_int_equal(STAT_GET(s.stats.duplicate), zeros);
	assert_int_equal(STAT_GET(s.stats.normal), want.normal);
	/* The RAM code's bytes: setup, records, the iteration's EOS; the
	 * END section's EOS, sent while the guest was stopped, counts
	 * nowhere (QEMU 7.2: downtime-bytes 0 when nothing was left). */
	assert_int_equal(STAT_GET(s.stats.transferred), 28 + records + 8);
	assert_int_equal(STAT_GET(s.stats.downtime_bytes), 0);
	expect_byte_counters(&s, &w);

	struct counts got = round_trip(&s, bytes, len, false);
	expect_counts(&got, &want);
	struct guarded_ram used;
	guarded_ram_init(&used, s.g.ram.size_bytes);
	memset(used.ram.host, 0xa5, used.ram.size_bytes);
	used.ram.pristine = false;
	struct error *err = NULL;
	assert_int_equal(dest_load(&used, false, bytes, len, NULL, &err), 0);
	expect_equal_ram(&s.g.ram, &used.ram);
	guarded_ram_release(&used);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

/* An all-zero guest is ZERO records only. */
static void test_zero_guest(void **state)
{
	struct source s;
	const struct codec plain = { 0 };
	source_init(&s, 1024, &plain);
	memset(s.g.ram.host, 0, s.g.ram.size_bytes);
	source_begin(&s);
	source_pass(&s, NO_LIMIT);
	size_t len;
	uint8_t *bytes = source_end(&s, &len);
	struct counts want = { .zero = 1024 };
	struct walk w;
	walk_stream(&w, bytes, len);
	expect_counts(&w.kinds, &want);
	assert_int_equal(len, ONE_PASS_FRAMING_BYTES + 4 + 1024 * 9);
	struct counts got = round_trip(&s, bytes, len, false);
	expect_counts(&got, &want);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

/* Small sections, pages written between passes and after the last one
 * (the END section's sync takes those): the last version of each page
 * arrives, and the destination's counts are the walker's. */
static void test_passes_small_sections(void **state)
{
	struct source s;
	const struct codec plain = { 0 };
	source_init(&s, 64, &plain);
	source_begin(&s);
	source_pass(&s, 10000);
	uint64_t seed = 7;
	for (uint64_t p = 3; p < 64; p += 6)
		ram_write_page(&s.g.ram, p, (enum page_kind)(p % 5), &seed);
	source_sync_pass(&s);
	ram_write_page(&s.g.ram, 0, PAGE_KIND_RANDOM, &seed);
	ram_write_page(&s.g.ram, 63, PAGE_KIND_ZERO, &seed);
	size_t len;
	uint8_t *bytes = source_end(&s, &len);
	struct walk w;
	walk_stream(&w, bytes, len);
	struct counts got = round_trip(&s, bytes, len, false);
	expect_counts(&got, &w.kinds);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

/* Flips n bytes of a page (letters stay letters) and marks it dirty. */
static void edit_page(struct guest_ram *ram, uint64_t page, unsigned n,
		      unsigned from)
{
	uint8_t *p = ram->host + page * PAGE;
	for (unsigned i = 0; i < n; i++)
		p[(from + i * 397) % PAGE] ^= 0x20;
	guest_ram_mark_dirty(ram, page * PAGE, PAGE);
}

/*
 * XBZRLE (cache larger than the guest): pass 1 sends pages whole and
 * fills the cache (qmig's bulk-fill rule, docs/xbzrle.md); then a small
 * edit is a delta, a rewrite overflows into a PAGE, a page turned zero is
 * a ZERO (and zeros in the cache), a page never cached is a miss (PAGE),
 * an unchanged dirty page sends nothing; deltas against the cached zeros
 * and the missed page's copy follow, and one more in the END section.
 */
static void test_xbzrle_round_trip(void **state)
{
	struct source s;
	const struct codec x = { .xbzrle = true, .cache = "1M" };
	source_init(&s, 64, &x);
	source_begin(&s);
	source_pass(&s, NO_LIMIT);
	uint64_t seed = 9;
	edit_page(&s.g.ram, 2, 10, 0);
	ram_write_page(&s.g.ram, 4, PAGE_KIND_RANDOM, &seed);
	ram_write_page(&s.g.ram, 1, PAGE_KIND_ZERO, &seed);
	ram_write_page(&s.g.ram, 5, PAGE_KIND_TEXT, &seed);
	guest_ram_mark_dirty(&s.g.ram, 3 * PAGE, PAGE);
	source_sync_pass(&s);
	edit_page(&s.g.ram, 5, 10, 1);
	edit_page(&s.g.ram, 1, 10, 2); /* against the cached zeros */
	source_sync_pass(&s);
	edit_page(&s.g.ram, 2, 10, 3);
	size_t len;
	uint8_t *bytes = source_end(&s, &len);

	/* 13 zero and 51 other pages; then ZERO p1, PAGE p4 and p5, XBZRLE
	 * p2; XBZRLE p1, p5; XBZRLE p2. */
	struct counts want = { .zero = 14, .normal = 53, .xbzrle = 4 };
	struct walk w;
	walk_stream(&w, bytes, len);
	expect_counts(&w.kinds, &want);
	struct counts got = round_trip(&s, bytes, len, false);
	expect_counts(&got, &want);
	assert_int_equal(STAT_GET(s.stats.xbzrle_overflow), 1);
	assert_int_equal(STAT_GET(s.stats.xbzrle_cache_miss), 1);
	/* encodes: p2, p3 (no change), p4; p1, p5; p2 */
	assert_int_equal(STAT_GET(s.stats.xbzrle_pages), 6);
	expect_byte_counters(&s, &w);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

/* Compression at levels 0, 1 and 6 (stored, igzip, libdeflate: every
 * engine) in every pass; the first page names the block as a ZERO. */
static void test_compress_round_trips(void **state)
{
	static const char *const levels[] = { "0", "1", "6" };
	for (int i = 0; i < 3; i++) {
		struct source s;
		const struct codec c = { .compress = true, .level = levels[i] };
		source_init(&s, 64, &c);
		source_begin(&s);
		source_pass(&s, NO_LIMIT);
		uint64_t seed = 11;
		for (uint64_t p = 1; p <= 8; p++)
			ram_write_page(&s.g.ram, p, PAGE_KIND_TEXT, &seed);
		source_sync_pass(&s);
		size_t len;
		uint8_t *bytes = source_end(&s, &len);
		struct counts want = { .zero = 13, .compressed = 51 + 8 };
		struct walk w;
		walk_stream(&w, bytes, len);
		expect_counts(&w.kinds, &want);
		struct counts got = round_trip(&s, bytes, len, true);
		expect_counts(&got, &want);
		assert_int_equal(STAT_GET(s.stats.compress_pages), 51 + 8);
		expect_byte_counters(&s, &w);
		walk_release(&w);
		free(bytes);
		source_release(&s);
	}
}

/* compress and xbzrle together: pass 1 compressed (from the cached copy),
 * later passes deltas and a PAGE on overflow. */
static uint8_t *rich_stream(struct source *s, uint64_t pages, size_t *len)
{
	const struct codec both = { .xbzrle = true, .compress = true,
				    .cache = "1M" };
	source_init(s, pages, &both);
	source_begin(s);
	source_pass(s, NO_LIMIT);
	uint64_t seed = 13;
	edit_page(&s->g.ram, 2, 10, 0);
	ram_write_page(&s->g.ram, 4, PAGE_KIND_RANDOM, &seed);
	ram_write_page(&s->g.ram, 1, PAGE_KIND_ZERO, &seed);
	source_sync_pass(s);
	return source_end(s, len);
}

static void test_compress_xbzrle_round_trip(void **state)
{
	struct source s;
	size_t len;
	uint8_t *bytes = rich_stream(&s, 64, &len);
	struct counts want = { .zero = 14, .normal = 1, .xbzrle = 1,
			       .compressed = 51 };
	struct walk w;
	walk_stream(&w, bytes, len);
	expect_counts(&w.kinds, &want);
	struct counts got = round_trip(&s, bytes, len, true);
	expect_counts(&got, &want);
	expect_byte_counters(&s, &w);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

/* ---- damage ---- */

static void expect_failure(struct guarded_ram *dst, bool compress,
			   const uint8_t *bytes, size_t len, int code,
			   const char *msg, const char *what)
{
	struct error *err = NULL;
	int ret = dest_load(dst, compress, bytes, len, NULL, &err);
	if (ret != -code || strcmp(err->msg, msg))
		fail_msg("%s: got %d \"%s\", expected %d \"%s\"", what, ret,
			 err ? err->msg : "", -code, msg);
	error_free(err);
}

/* plain/dest-ram-32M, plain/dest-ram-8M */
static void test_destination_size_differs(void **state)
{
	struct source s;
	const struct codec plain = { 0 };
	source_init(&s, 4096, &plain); /* 16 MiB, as the QEMU cases */
	memset(s.g.ram.host, 0, s.g.ram.size_bytes);
	source_begin(&s);
	source_pass(&s, NO_LIMIT);
	size_t len;
	uint8_t *bytes = source_end(&s, &len);
	static const struct {
		uint64_t bytes;
		const char *msg;
	} dst[] = {
		{ 32 << 20, "Size mismatch: ram: 0x1000000 != 0x2000000: Invalid argument\n"
			    "error while loading state for instance 0x0 of device 'ram'" },
		{ 8 << 20, "Size mismatch: ram: 0x1000000 != 0x800000: Invalid argument\n"
			   "error while loading state for instance 0x0 of device 'ram'" },
	};
	for (int i = 0; i < 2; i++) {
		struct guarded_ram g;
		guarded_ram_init(&g, dst[i].bytes);
		expect_failure(&g, false, bytes, len, EINVAL, dst[i].msg,
			       "size");
		guarded_ram_release(&g);
	}
	free(bytes);
	source_release(&s);
}

/*
 * A stream cut at every byte that is not deep inside a payload (there:
 * first, second, middle and last byte) fails, with its error, and writes
 * nothing outside the RAM.  A cut inside a PAGE's data or before a ZERO's
 * fill byte gives QEMU 7.2's lines (edit/truncated-mid-ram; also checked
 * at such cuts of a qmig stream with QEMU 7.2.22).
 */
static void test_cut_streams(void **state)
{
	struct source s;
	size_t len;
	uint8_t *bytes = rich_stream(&s, 16, &len);
	struct walk w;
	walk_stream(&w, bytes, len);
	struct guarded_ram dst;
	guarded_ram_init(&dst, s.g.ram.size_bytes);
	size_t r = 0, cuts = 0, qemu_lines = 0;
	for (size_t cut = 0; cut <= w.eof_at; cut++) {
		while (r < w.n && cut >= w.r[r].data_at + w.r[r].data_len)
			r++;
		const struct rec *in = r < w.n && cut >= w.r[r].data_at
					       ? &w.r[r] : NULL;
		if (in && cut > in->data_at + 1 &&
		    cut != in->data_at + in->data_len / 2 &&
		    cut != in->data_at + in->data_len - 1)
			continue;
		cuts++;
		uint64_t kind = in ? in->flags & ~(uint64_t)RAM_FLAG_CONTINUE
				   : 0;
		struct error *err = NULL;
		assert_true(dest_load(&dst, true, bytes, cut, NULL, &err) < 0);
		if (kind == RAM_FLAG_PAGE || kind == RAM_FLAG_ZERO) {
			qemu_lines++;
			if (err->code != EIO ||
			    strcmp(err->msg, "error while loading state section id 2(ram)"))
				fail_msg("cut at %zu: %d \"%s\"", cut, err->code,
					 err->msg);
		}
		error_free(err);
	}
	/* every structural byte, four per PAGE, the fill byte of each ZERO */
	assert_int_equal(qemu_lines, 4 * w.kinds.normal + w.kinds.zero);
	assert_true(cuts > 400);
	guarded_ram_release(&dst);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

enum edit_how {
	SET_FLAGS,    /* the header's low 12 bits := value */
	SET_ADDR,     /* the header's offset := value */
	RENAME,       /* the record's block name "ram" := "rom" */
	RENAME_LIST,  /* the block list's name := "rom" */
	SET_LIST_LEN, /* the block list's length := value */
	SET_BYTE,     /* data[off] := value */
	SET_BE16,
	SET_BE32,
};

struct corruption {
	const char *name;  /* the dest-checks case it mirrors */
	uint64_t kind;     /* the record to change: its kind ... */
	unsigned nth;      /* ... and which of them */
	enum edit_how how;
	size_t off;
	uint64_t value;
	const char *msg;   /* printf format: %llx is the record's offset */
	int code;
};

#define SECTION_LINE "\nerror while loading state section id 2(ram)"
#define START_LINE "\nerror while loading state for instance 0x0 of device 'ram'"
#define XBZRLE_AT "\nFailed to decompress XBZRLE page at %llx" SECTION_LINE

static const struct corruption corruptions[] = {
	{ "edit/zero-record-flags-0x202", RAM_FLAG_ZERO, 1, SET_FLAGS, 0,
	  0x222, "Unknown combination of migration flags: 0x222" SECTION_LINE,
	  EINVAL },
	{ "edit/zero-record-flags-0x03(FULL|ZERO)", RAM_FLAG_ZERO, 1,
	  SET_FLAGS, 0, 0x023,
	  "Unknown combination of migration flags: 0x23" SECTION_LINE, EINVAL },
	{ "edit/zero-record-flags-0x0a(ZERO|PAGE)", RAM_FLAG_ZERO, 1,
	  SET_FLAGS, 0, 0x02a,
	  "Unknown combination of migration flags: 0x2a" SECTION_LINE, EINVAL },
	{ "edit/zero-record-flags-0x80(HOOK)", RAM_FLAG_ZERO, 1, SET_FLAGS, 0,
	  0x080, "error while loading state section id 2(ram)", EINVAL },
	{ "edit/page-offset-beyond-ram", RAM_FLAG_ZERO, 1, SET_ADDR, 0,
	  16 * PAGE, "Illegal RAM offset 10000" SECTION_LINE, EINVAL },
	{ "edit/ram-start-end-only (CONTINUE before a named block)",
	  RAM_FLAG_ZERO, 0, SET_FLAGS, 0, RAM_FLAG_ZERO | RAM_FLAG_CONTINUE,
	  "Ack, bad migration stream!\nIllegal RAM offset 0" SECTION_LINE,
	  EINVAL },
	{ "page record naming another block", RAM_FLAG_ZERO, 0, RENAME, 0, 0,
	  "Can't find block rom\nIllegal RAM offset 0" SECTION_LINE, EINVAL },
	{ "edit/block-renamed-rom", 0, 0, RENAME_LIST, 0, 0,
	  "Unknown ramblock \"rom\", cannot accept migration" START_LINE,
	  EINVAL },
	{ "edit/block-length-8M (half)", 0, 0, SET_LIST_LEN, 0, 8 * PAGE,
	  "Size mismatch: ram: 0x8000 != 0x10000: Invalid argument" START_LINE,
	  EINVAL },
	{ "edit/xbzrle-bad-encoding-byte", RAM_FLAG_XBZRLE, 0, SET_BYTE, 0, 2,
	  "Failed to load XBZRLE page - wrong compression!" XBZRLE_AT, EINVAL },
	{ "edit/xbzrle-len-4097", RAM_FLAG_XBZRLE, 0, SET_BE16, 1, 4097,
	  "Failed to load XBZRLE page - len overflow!" XBZRLE_AT, EINVAL },
	{ "edit/xbzrle-uleb3", RAM_FLAG_XBZRLE, 0, SET_BE16, 3, 0x8080,
	  "Failed to load XBZRLE page - decode error!" XBZRLE_AT, EINVAL },
	{ "edit/compressed-len-huge", RAM_FLAG_COMPRESS_PAGE, 0, SET_BE32, 0,
	  0x7fffffff, "Invalid compressed data length: 2147483647" SECTION_LINE,
	  EINVAL },
	{ "edit/compressed-len4111pad", RAM_FLAG_COMPRESS_PAGE, 0, SET_BE32, 0,
	  4111, "Invalid compressed data length: 4111" SECTION_LINE, EINVAL },
	{ "edit/compressed-payload-flipped", RAM_FLAG_COMPRESS_PAGE, 3,
	  SET_BYTE, 4, 0x00, "decompress data failed" SECTION_LINE, EPERM },
};

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void apply(uint8_t *b, const struct walk *w, const struct corruption *c,
		  uint64_t *addr)
{
	size_t list = w->block_list_at + 8;
	if (c->how == RENAME_LIST || c->how == SET_LIST_LEN) {
		if (c->how == RENAME_LIST)
			b[list + 2] = 'o';
		else
			put_be(b + list + 1 + b[list], c->value, 8);
		return;
	}
	const struct rec *r = nth_record(w, c->kind, c->nth);
	uint8_t *hdr = b + r->at, *data = b + r->data_at;
	*addr = r->addr;
	switch (c->how) {
	case SET_FLAGS:
		put_be(hdr, r->addr | c->value, 8);
		break;
	case SET_ADDR:
		put_be(hdr, c->value | r->flags, 8);
		break;
	case RENAME:
		assert_false(r->flags & RAM_FLAG_CONTINUE);
		hdr[8 + 2] = 'o';
		break;
	case SET_BYTE:
		data[c->off] = (uint8_t)c->value;
		break;
	case SET_BE16:
		put_be(data + c->off, c->value, 2);
		break;
	default:
		put_be(data + c->off, c->value, 4);
		break;
	}
}

/* One field changed at a time, each failing with QEMU 7.2's lines. */
static void test_corrupt_fields(void **state)
{
	struct source s;
	size_t len;
	uint8_t *bytes = rich_stream(&s, 16, &len);
	struct walk w;
	walk_stream(&w, bytes, len);
	struct guarded_ram dst;
	guarded_ram_init(&dst, s.g.ram.size_bytes);
	uint8_t *copy = xmalloc(len);
	for (size_t i = 0; i < sizeof(corruptions) / sizeof(*corruptions); i++) {
		const struct corruption *c = &corruptions[i];
		memcpy(copy, bytes, len);
		uint64_t addr = 0;
		apply(copy, &w, c, &addr);
		char msg[512];
		snprintf(msg, sizeof(msg), c->msg, (unsigned long long)addr);
		expect_failure(&dst, true, copy, len, c->code, msg, c->name);
	}
	/* compress/no-caps: the stream as it is, to a destination without
	 * the capability. */
	expect_failure(&dst, false, bytes, len, EINVAL,
		       "Received an unexpected compressed page" SECTION_LINE,
		       "compress/no-caps");
	free(copy);
	guarded_ram_release(&dst);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

/* Seeded random damage (1-4 bytes anywhere before EOF): whatever the
 * outcome, the contract holds and nothing outside the RAM is written. */
static void test_random_damage(void **state)
{
	struct source s;
	size_t len;
	uint8_t *bytes = rich_stream(&s, 16, &len);
	struct walk w;
	walk_stream(&w, bytes, len);
	struct guarded_ram dst;
	guarded_ram_init(&dst, s.g.ram.size_bytes);
	uint8_t *copy = xmalloc(len);
	uint64_t seed = 2024;
	unsigned failed = 0;
	for (int trial = 0; trial < 400; trial++) {
		memcpy(copy, bytes, len);
		int n = 1 + (int)(test_rnd(&seed) % 4);
		for (int i = 0; i < n; i++)
			copy[test_rnd(&seed) % w.eof_at] = (uint8_t)test_rnd(&seed);
		struct error *err = NULL;
		if (dest_load(&dst, true, copy, len, NULL, &err) < 0)
			failed++;
		error_free(err);
	}
	assert_true(failed > 0);
	free(copy);
	guarded_ram_release(&dst);
	walk_release(&w);
	free(bytes);
	source_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_round_trip),
		cmocka_unit_test(test_zero_guest),
		cmocka_unit_test(test_passes_small_sections),
		cmocka_unit_test(test_xbzrle_round_trip),
		cmocka_unit_test(test_compress_round_trips),
		cmocka_unit_test(test_compress_xbzrle_round_trip),
		cmocka_unit_test(test_destination_size_differs),
		cmocka_unit_test(test_cut_streams),
		cmocka_unit_test(test_corrupt_fields),
		cmocka_unit_test(test_random_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
