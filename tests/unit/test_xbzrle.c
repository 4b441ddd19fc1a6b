/*
 * XBZRLE codec tests: the corrected 2012 example, QEMU 7.2's overflow
 * boundary, seeded random round trips for every variant (identical output
 * required), synthetic and real vectors from the QEMU 7.2 reference (made by
 * tests/unit/gen_xbzrle_vectors.py), and each decoder error.
 *
 * xbzrle_force_variant() (what qmig's test-only QMIG_XBZRLE calls) is
 * tested in-process; tests/process/test_qmig_parameters.py drives the
 * variable through qmig.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "codec/xbzrle.h"
#include "xbzrle_vectors.h"

#define PAGE XBZRLE_PAGE_SIZE
#define CANARY 0xa5
#define SLACK 64 /* canary bytes checked after every encoder output */

struct pages {
	_Alignas(64) uint8_t old[PAGE];
	_Alignas(64) uint8_t new[PAGE];
	_Alignas(64) uint8_t enc[PAGE + SLACK];
	_Alignas(64) uint8_t work[PAGE];
};

static struct pages *pages_new(void)
{
	struct pages *p = aligned_alloc(64, sizeof(*p));

	assert_non_null(p);
	memset(p, 0, sizeof(*p));
	return p;
}

/* ------------------------------------------------------------- helpers */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The page generator of gen_xbzrle_vectors.py (keep the two identical).
 * mode 0: every byte changes with probability a/1000; mode 1: alternating
 * runs, equal 1..a bytes then changed 1..b bytes.
 */
static void make_pages(uint64_t seed, int mode, int a, int b, uint8_t *old,
		       uint8_t *new)
{
	uint64_t st = seed, r;
	int i;

	for (i = 0; i < PAGE; i += 8) {
		r = splitmix64(&st);
		for (int k = 0; k < 8; k++)
			old[i + k] = (uint8_t)(r >> (8 * k));
	}
	memcpy(new, old, PAGE);
	if (mode == 0) {
		for (i = 0; i < PAGE; i++) {
			r = splitmix64(&st);
			if ((int)(r % 1000) < a)
				new[i] = old[i] ^ (uint8_t)(1 + (r >> 32) % 255);
		}
		return;
	}
	i = 0;
	while (i < PAGE) {
		int n;

		r = splitmix64(&st);
		i += 1 + (int)(r % (uint64_t)a);
		r = splitmix64(&st);
		n = 1 + (int)(r % (uint64_t)b);
		for (; n && i < PAGE; n--, i++) {
			r = splitmix64(&st);
			new[i] = old[i] ^ (uint8_t)(1 + (r >> 32) % 255);
		}
	}
}

/*
 * The rule restated with byte loops, as independent of xbzrle.c as a
 * statement of the same rule can be (checks in QEMU 7.2's order).
 */
static int ref_put(uint8_t *p, int v)
{
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	p[0] = (uint8_t)((v & 0x7f) | 0x80);
	p[1] = (uint8_t)(v >> 7);
	return 2;
}

static int ref_encode(const uint8_t *o, const uint8_t *n, uint8_t *dst,
		      int limit)
{
	int i = 0, d = 0;

	if (limit > PAGE)
		limit = PAGE;
	while (i < PAGE) {
		int j = i, k;

		if (d + 2 > limit)
			return XBZRLE_OVERFLOW;
		while (j < PAGE && o[j] == n[j])
			j++;
		if (j == PAGE)
			return d;
		d += ref_put(dst + d, j - i);
		if (d + 2 > limit)
			return XBZRLE_OVERFLOW;
		k = j;
		while (k < PAGE && o[k] != n[k])
			k++;
		d += ref_put(dst + d, k - j);
		if (d + (k - j) > limit)
			return XBZRLE_OVERFLOW;
		memcpy(dst + d, n + j, (size_t)(k - j));
		d += k - j;
		i = k;
	}
	return d;
}

/*
 * Encodes with variant v into p->enc with the given capacity, checks that
 * nothing past min(cap, PAGE) was written, and returns the result.
 */
static int encode_checked(struct pages *p, enum xbzrle_variant v, int cap)
{
	int lim = cap < PAGE ? cap : PAGE, ret, i;

	memset(p->enc, CANARY, sizeof(p->enc));
	ret = xbzrle_encode_with(v, p->old, p->new, p->enc, cap);
	for (i = lim; i < (int)sizeof(p->enc); i++)
		if (p->enc[i] != CANARY)
			fail_msg("variant %s wrote byte %d (limit %d)",
				 xbzrle_variant_name(v), i, lim);
	return ret;
}

/*
 * Encodes p->old/p->new with every available variant and the reference;
 * all must agree.  A positive result must decode back to p->new.  Returns
 * the result.
 */
static int encode_all_agree(struct pages *p, int cap)
{
	uint8_t want[PAGE + 2];
	int ret = ref_encode(p->old, p->new, want, cap);

	for (int v = 0; v < XBZRLE_VARIANT__COUNT; v++) {
		int got;

		if (!xbzrle_variant_available(v))
			continue;
		got = encode_checked(p, v, cap);
		if (got != ret)
			fail_msg("variant %s returned %d, reference %d (cap %d)",
				 xbzrle_variant_name(v), got, ret, cap);
		if (ret > 0 && memcmp(p->enc, want, (size_t)ret))
			fail_msg("variant %s output differs (cap %d)",
				 xbzrle_variant_name(v), cap);
	}
	if (ret > 0) {
		memcpy(p->work, p->old, PAGE);
		assert_int_equal(xbzrle_decode(want, ret, p->work),
				 XBZRLE_DECODE_OK);
		assert_memory_equal(p->work, p->new, PAGE);
	}
	return ret;
}

/* ------------------------------------------------------- spec vectors */

static const uint8_t seed_old_run[21] = {
	0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x68, 0x00, 0x00, 0x6b, 0x00, 0x6d,
};
static const uint8_t seed_new_run[21] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x68, 0x00, 0x00, 0x67, 0x00, 0x69,
};
static const uint8_t seed_encoded[24] = {
	0xe9, 0x07, 0x0f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x03, 0x01, 0x67, 0x01, 0x01, 0x69,
};

static void seed_pages(struct pages *p)
{
	memset(p->old, 0, PAGE);
	memset(p->new, 0, PAGE);
	memcpy(p->old + 1001, seed_old_run, sizeof(seed_old_run));
	memcpy(p->new + 1001, seed_new_run, sizeof(seed_new_run));
}

/* The corrected example of the 2012 review (seeds/004_*.txt). */
static void test_seed_vector(void **state)
{
	struct pages *p = pages_new();

	seed_pages(p);
	assert_int_equal(encode_all_agree(p, PAGE), 24);
	assert_memory_equal(p->enc, seed_encoded, 24);
	assert_int_equal(xbzrle_encode(p->old, p->new, p->enc, PAGE), 24);
	assert_memory_equal(p->enc, seed_encoded, 24);

	memcpy(p->work, p->old, PAGE);
	assert_int_equal(xbzrle_decode(seed_encoded, 24, p->work),
			 XBZRLE_DECODE_OK);
	assert_memory_equal(p->work, p->new, PAGE);

	/*
	 * QEMU's rule: after the 24th byte the encoder still wants 2 free
	 * bytes before it looks at the (unchanged) rest of the page.
	 */
	assert_int_equal(encode_all_agree(p, 26), 24);
	assert_int_equal(encode_all_agree(p, 25), XBZRLE_OVERFLOW);
	assert_int_equal(encode_all_agree(p, 24), XBZRLE_OVERFLOW);
	assert_int_equal(encode_all_agree(p, 1 << 20), 24);
	free(p);
}

static void test_no_change(void **state)
{
	struct pages *p = pages_new();

	make_pages(99, 0, 0, 0, p->old, p->new);
	assert_int_equal(encode_all_agree(p, PAGE), XBZRLE_NO_CHANGE);
	assert_int_equal(xbzrle_encode(p->old, p->new, p->enc, PAGE),
			 XBZRLE_NO_CHANGE);
	assert_int_equal(encode_all_agree(p, 2), XBZRLE_NO_CHANGE);
	/* QEMU checks for room before it finds that nothing changed */
	assert_int_equal(encode_all_agree(p, 1), XBZRLE_OVERFLOW);
	assert_int_equal(encode_all_agree(p, 0), XBZRLE_OVERFLOW);

	/* an empty delta is valid and changes nothing */
	memcpy(p->work, p->old, PAGE);
	assert_int_equal(xbzrle_decode(NULL, 0, p->work), XBZRLE_DECODE_OK);
	assert_memory_equal(p->work, p->old, PAGE);
	free(p);
}

/* old = zeros; new = z zeros, nz bytes 0x01, tail zeros */
static int encode_shape(struct pages *p, int z, int nz, int tail, int cap)
{
	assert_int_equal(z + nz + tail, PAGE);
	memset(p->old, 0, PAGE);
	memset(p->new, 0, PAGE);
	memset(p->new + z, 1, (size_t)nz);
	return encode_all_agree(p, cap);
}

/* Exact cases where QEMU 7.2 overflows (checked with qemu_stream.py). */
static void test_overflow_boundary(void **state)
{
	struct pages *p = pages_new();
	uint8_t naive[PAGE + 8];
	int d;

	/* 1 + 2 + 4093 = 4096 bytes, data up to the end: accepted */
	assert_int_equal(encode_shape(p, 3, 4093, 0, PAGE), 4096);
	/* 1 + 2 + 4094 = 4097 bytes: the data does not fit */
	assert_int_equal(encode_shape(p, 2, 4094, 0, PAGE), XBZRLE_OVERFLOW);
	/* 2 + 2 + 4096: a whole changed page */
	assert_int_equal(encode_shape(p, 0, 4096, 0, PAGE), XBZRLE_OVERFLOW);
	/*
	 * The quirk: 4095 and 4096-byte encodings followed only by unchanged
	 * bytes overflow, because 2 more bytes must fit before the final
	 * zero run is examined.
	 */
	assert_int_equal(encode_shape(p, 3, 4092, 1, PAGE), XBZRLE_OVERFLOW);
	assert_int_equal(encode_shape(p, 2, 4093, 1, PAGE), XBZRLE_OVERFLOW);
	/* ...though such an encoding would be valid on the wire */
	encode_shape(p, 3, 4092, 1, PAGE);
	d = 0;
	d += ref_put(naive + d, 3);
	d += ref_put(naive + d, 4092);
	memset(naive + d, 1, 4092);
	d += 4092;
	assert_int_equal(d, 4095);
	memcpy(p->work, p->old, PAGE);
	assert_int_equal(xbzrle_decode(naive, d, p->work), XBZRLE_DECODE_OK);
	assert_memory_equal(p->work, p->new, PAGE);
	/* one byte shorter, 4094: fits */
	assert_int_equal(encode_shape(p, 3, 4091, 2, PAGE), 4094);
	assert_int_equal(encode_shape(p, 4, 4091, 1, PAGE), 4094);
	assert_int_equal(encode_shape(p, 200, 3893, 3, PAGE), 3897);
	/* the same boundary under a smaller limit */
	/* 2 + 1 + 20 = 23 bytes, then unchanged bytes: needs a limit of 25 */
	assert_int_equal(encode_shape(p, 4000, 20, 76, 25), 23);
	assert_int_equal(encode_shape(p, 4000, 20, 76, 24), XBZRLE_OVERFLOW);
	assert_int_equal(encode_shape(p, 4000, 20, 76, 23), XBZRLE_OVERFLOW);
	/* 2 + 1 + 96 = 99 bytes reaching the end of the page: 99 suffice */
	assert_int_equal(encode_shape(p, 4000, 96, 0, 99), 99);
	assert_int_equal(encode_shape(p, 4000, 96, 0, 98), XBZRLE_OVERFLOW);
	free(p);
}

/* Synthetic pages with QEMU reference results (xbzrle_vectors.h). */
static void test_synth_vectors(void **state)
{
	struct pages *p = pages_new();
	size_t i;

	for (i = 0; i < sizeof(synth_cases) / sizeof(synth_cases[0]); i++) {
		const struct synth_case *c = &synth_cases[i];
		int got;

		make_pages(c->seed, c->mode, c->a, c->b, p->old, p->new);
		got = encode_all_agree(p, c->limit);
		if (got != c->expect_len)
			fail_msg("case %zu (seed %llu): %d bytes, QEMU %d", i,
				 (unsigned long long)c->seed, got,
				 c->expect_len);
		if (got > 0 &&
		    crc32(0, p->enc, (uInt)got) != c->crc)
			fail_msg("case %zu: output differs from QEMU's", i);
	}
	free(p);
}

/* Many seeds, densities, run shapes and limits; all variants agree. */
static void test_random_round_trips(void **state)
{
	static const int permille[] = { 0,   1,   2,   4,   8,   16,  32,
					64,  128, 256, 400, 500, 600, 750,
					900, 990, 1000 };
	static const int runs[][2] = { { 1, 1 },   { 2, 1 },   { 1, 2 },
				       { 4, 4 },   { 16, 3 },  { 7, 17 },
				       { 64, 8 },  { 100, 40 }, { 500, 200 },
				       { 3000, 5 }, { 5, 3000 } };
	struct pages *p = pages_new();
	uint64_t st = 12345;
	int counts[3] = { 0 };
	size_t k;

	for (int seed = 0; seed < 24; seed++) {
		for (k = 0; k < sizeof(permille) / sizeof(permille[0]); k++) {
			int r, cap;

			make_pages(1000 + (uint64_t)seed, 0, permille[k], 0,
				   p->old, p->new);
			r = encode_all_agree(p, PAGE);
			counts[r < 0 ? 0 : r == 0 ? 1 : 2]++;
			cap = (int)(splitmix64(&st) % (PAGE + 100));
			encode_all_agree(p, cap);
		}
		for (k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
			int cap;

			make_pages(5000 + (uint64_t)seed, 1, runs[k][0],
				   runs[k][1], p->old, p->new);
			encode_all_agree(p, PAGE);
			cap = (int)(splitmix64(&st) % (PAGE + 100));
			encode_all_agree(p, cap);
		}
	}
	/* the sweep must reach all three outcomes */
	assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);

	/* changes at every position near word and 64-byte edges */
	for (int pos = 0; pos < PAGE; pos += (pos % 64 < 2 || pos % 64 > 61) ? 1 : 13) {
		for (int len = 1; len <= 70 && pos + len <= PAGE; len += 3) {
			memset(p->old, 0x11, PAGE);
			memcpy(p->new, p->old, PAGE);
			memset(p->new + pos, 0x22, (size_t)len);
			assert_true(encode_all_agree(p, PAGE) > 0);
		}
	}
	free(p);
}

/* ------------------------------------------------------- real records */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *read_data_file(const char *name, size_t *len)
{
	const char *dir = getenv("QMIG_SRCDIR");
	char path[4096];
	uint8_t *buf = NULL;
	size_t cap = 0, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/unit/data/%s",
		 dir ? dir : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open '%s' (run from the source tree or set "
			 "QMIG_SRCDIR)", path);
	*len = 0;
	do {
		if (*len == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n);
	fclose(f);
	return buf;
}

/* Records of fixtures/qemu-7.2/xbzrle.stream with the page they apply to. */
static void test_real_records(void **state)
{
	struct pages *p = pages_new();
	size_t len, off = 12;
	uint8_t *data = read_data_file("xbzrle_records.bin", &len);
	uint32_t count, i;

	assert_true(len >= 12 && !memcmp(data, "QXBZREC1", 8));
	count = be32(data + 8);
	assert_true(count >= 8);
	for (i = 0; i < count; i++) {
		uint32_t addr, crc;
		int plen;

		assert_true(off + 10 + PAGE <= len);
		addr = be32(data + off);
		plen = data[off + 4] << 8 | data[off + 5];
		crc = be32(data + off + 6);
		off += 10;
		assert_true(off + PAGE + (size_t)plen <= len);
		memcpy(p->old, data + off, PAGE);
		off += PAGE;

		memcpy(p->new, p->old, PAGE);
		if (xbzrle_decode(data + off, plen, p->new) != XBZRLE_DECODE_OK)
			fail_msg("record at 0x%x does not decode", addr);
		if (crc32(0, p->new, PAGE) != crc)
			fail_msg("record at 0x%x decodes to another page", addr);
		if (encode_all_agree(p, PAGE) != plen ||
		    memcmp(p->enc, data + off, (size_t)plen))
			fail_msg("record at 0x%x re-encodes differently", addr);
		off += (size_t)plen;
	}
	assert_int_equal(off, len);
	free(data);
	free(p);
}

/* ------------------------------------------------------------ decoder */

struct bad_case {
	const char *what;
	uint8_t src[16];
	int len;
	enum xbzrle_decode_result want;
};

static const struct bad_case decode_cases[] = {
	{ "empty", { 0 }, 0, XBZRLE_DECODE_OK },
	{ "first zero run 0", { 0x00, 0x01, 0xaa }, 3, XBZRLE_DECODE_OK },
	{ "2-byte form of 0 first", { 0x80, 0x00, 0x01, 0xaa }, 4,
	  XBZRLE_DECODE_OK },
	{ "2-byte form of 5", { 0x85, 0x00, 0x01, 0xaa }, 4, XBZRLE_DECODE_OK },
	{ "data up to the last byte", { 0xff, 0x1f, 0x01, 0xaa }, 4,
	  XBZRLE_DECODE_OK },
	{ "two pairs", { 0x01, 0x01, 0xaa, 0x02, 0x02, 0xbb, 0xcc }, 7,
	  XBZRLE_DECODE_OK },
	{ "one byte", { 0x05 }, 1, XBZRLE_DECODE_TRUNCATED },
	{ "first byte of a 2-byte length", { 0x81 }, 1,
	  XBZRLE_DECODE_TRUNCATED },
	{ "zero run without data run", { 0x01, 0x01, 0xaa, 0x05 }, 4,
	  XBZRLE_DECODE_TRUNCATED },
	{ "one byte for the data run", { 0x05, 0x03 }, 2,
	  XBZRLE_DECODE_TRUNCATED },
	{ "data past the input", { 0x00, 0x05, 0xaa, 0xaa }, 4,
	  XBZRLE_DECODE_TRUNCATED },
	{ "3-byte zero run", { 0x80, 0x80, 0x01, 0x01, 0xaa }, 5,
	  XBZRLE_DECODE_BAD_ZRUN },
	{ "3-byte form of 1", { 0x81, 0x80, 0x00, 0x01, 0xaa }, 5,
	  XBZRLE_DECODE_BAD_ZRUN },
	{ "later zero run 0", { 0x00, 0x01, 0xaa, 0x00, 0x01, 0xbb }, 6,
	  XBZRLE_DECODE_BAD_ZRUN },
	{ "later zero run 0, 2-byte", { 0x01, 0x01, 0xaa, 0x80, 0x00, 0x01,
	  0xbb }, 7, XBZRLE_DECODE_BAD_ZRUN },
	{ "zero run 4097", { 0x81, 0x20, 0x01, 0xaa }, 4,
	  XBZRLE_DECODE_BAD_ZRUN },
	{ "zero run 16383", { 0xff, 0x7f, 0x01, 0xaa }, 4,
	  XBZRLE_DECODE_BAD_ZRUN },
	{ "zero runs adding up past the page",
	  { 0xff, 0x0f, 0x01, 0xaa, 0x81, 0x10, 0x01, 0xbb }, 8,
	  XBZRLE_DECODE_BAD_ZRUN },
	{ "data run 0", { 0x05, 0x00, 0xaa }, 3, XBZRLE_DECODE_BAD_NZRUN },
	{ "data run 0, 2-byte", { 0x05, 0x80, 0x00, 0xaa }, 4,
	  XBZRLE_DECODE_BAD_NZRUN },
	{ "3-byte data run", { 0x05, 0x80, 0x80, 0x01, 0xaa }, 5,
	  XBZRLE_DECODE_BAD_NZRUN },
	{ "zero run 4096 then data", { 0x80, 0x20, 0x01, 0xaa }, 4,
	  XBZRLE_DECODE_BAD_NZRUN },
	{ "data run past the page", { 0xfa, 0x1f, 0x0a, 1, 2, 3, 4, 5, 6, 7,
	  8, 9, 10 }, 13, XBZRLE_DECODE_BAD_NZRUN },
	{ "data run 4097", { 0x00, 0x81, 0x20, 0xaa }, 4,
	  XBZRLE_DECODE_BAD_NZRUN },
};

static void test_decode_errors(void **state)
{
	/* the page sits between canaries: nothing outside may change */
	uint8_t *buf = malloc(PAGE + 2 * SLACK), *page = buf + SLACK;
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct bad_case *c = &decode_cases[i];
		enum xbzrle_decode_result r;

		memset(buf, CANARY, PAGE + 2 * SLACK);
		memset(page, 0x11, PAGE);
		r = xbzrle_decode(c->src, c->len, page);
		if (r != c->want)
			fail_msg("%s: got %s, want %s", c->what,
				 xbzrle_decode_result_name(r),
				 xbzrle_decode_result_name(c->want));
		for (int k = 0; k < SLACK; k++)
			if (buf[k] != CANARY || page[PAGE + k] != CANARY)
				fail_msg("%s: wrote outside the page", c->what);
	}
	/* what the OK cases did */
	memset(page, 0x11, PAGE);
	assert_int_equal(xbzrle_decode((const uint8_t *)"\xff\x1f\x01\xaa", 4,
				       page), XBZRLE_DECODE_OK);
	assert_int_equal(page[4095], 0xaa);
	assert_int_equal(page[4094], 0x11);
	assert_int_equal(xbzrle_decode((const uint8_t *)"\x01\x01\xaa\x02\x02"
				       "\xbb\xcc", 7, page), XBZRLE_DECODE_OK);
	assert_int_equal(page[0], 0x11);
	assert_int_equal(page[1], 0xaa);
	assert_int_equal(page[2], 0x11);
	assert_int_equal(page[4], 0xbb);
	assert_int_equal(page[5], 0xcc);
	assert_string_equal(xbzrle_decode_result_name(XBZRLE_DECODE_BAD_NZRUN),
			    "bad data run");
	free(buf);
}

/* Every cut and every single-byte change of a valid delta stays in bounds. */
static void test_decode_mutations(void **state)
{
	struct pages *p = pages_new();
	uint8_t *buf = malloc(PAGE + 2 * SLACK), *page = buf + SLACK;
	uint8_t src[PAGE];
	int len;

	assert_non_null(buf);
	make_pages(77, 1, 40, 6, p->old, p->new);
	len = xbzrle_encode(p->old, p->new, p->enc, PAGE);
	assert_true(len > 0 && len < 2000);
	memcpy(src, p->enc, (size_t)len);
	for (int cut = 0; cut <= len; cut++) {
		memset(buf, CANARY, PAGE + 2 * SLACK);
		memcpy(page, p->old, PAGE);
		xbzrle_decode(src, cut, page);
	}
	for (int pos = 0; pos < len; pos++) {
		for (int v = 0; v < 256; v += 7) {
			uint8_t save = src[pos];

			src[pos] = (uint8_t)v;
			memset(buf, CANARY, PAGE + 2 * SLACK);
			memcpy(page, p->old, PAGE);
			xbzrle_decode(src, len, page);
			src[pos] = save;
			for (int k = 0; k < SLACK; k++)
				if (buf[k] != CANARY || page[PAGE + k] != CANARY)
					fail_msg("byte %d = %d: wrote outside", pos, v);
		}
	}
	free(buf);
	free(p);
}

/* ----------------------------------------------------------- variants */

static void test_variants(void **state)
{
	enum xbzrle_variant chosen = xbzrle_encode_variant();

	assert_true(xbzrle_variant_available(XBZRLE_VARIANT_C));
	assert_true(xbzrle_variant_available(chosen));
	assert_false(xbzrle_variant_available(XBZRLE_VARIANT__COUNT));
	assert_string_equal(xbzrle_variant_name(XBZRLE_VARIANT_C), "c");
	assert_string_equal(xbzrle_variant_name(XBZRLE_VARIANT_AVX512),
			    "avx512");
	assert_string_equal(xbzrle_variant_name(XBZRLE_VARIANT__COUNT), "?");
	/* the automatic choice is the best available */
	for (int v = chosen + 1; v < XBZRLE_VARIANT__COUNT; v++)
		assert_false(xbzrle_variant_available(v));
	print_message("# variants available:");
	for (int v = 0; v < XBZRLE_VARIANT__COUNT; v++)
		if (xbzrle_variant_available(v))
			print_message(" %s", xbzrle_variant_name(v));
	print_message("; chosen: %s\n", xbzrle_variant_name(chosen));
}

/*
 * xbzrle_force_variant(): each variant this CPU runs takes over (same
 * bytes), the others are refused and change nothing; then the best again.
 */
static void test_force_variant(void **state)
{
	enum xbzrle_variant best = xbzrle_encode_variant();
	struct pages *p = pages_new();
	int want;

	make_pages(0x1234, 0, 20, 0, p->old, p->new);
	want = xbzrle_encode_with(XBZRLE_VARIANT_C, p->old, p->new, p->enc,
				  PAGE);
	assert_true(want > 0);
	for (int v = 0; v < XBZRLE_VARIANT__COUNT; v++) {
		enum xbzrle_variant before = xbzrle_encode_variant();

		assert_int_equal(xbzrle_variant_lookup(xbzrle_variant_name(v)),
				 v);
		if (!xbzrle_variant_available(v)) {
			assert_false(xbzrle_force_variant(v));
			assert_int_equal(xbzrle_encode_variant(), before);
			continue;
		}
		assert_true(xbzrle_force_variant(v));
		assert_int_equal(xbzrle_encode_variant(), v);
		assert_int_equal(xbzrle_encode(p->old, p->new, p->enc, PAGE),
				 want);
	}
	assert_int_equal(xbzrle_variant_lookup("bogus"), -1);
	assert_int_equal(xbzrle_variant_lookup("AVX2"), -1);
	assert_true(xbzrle_force_variant(best));
	assert_int_equal(xbzrle_encode_variant(), best);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_vector),
		cmocka_unit_test(test_no_change),
		cmocka_unit_test(test_overflow_boundary),
		cmocka_unit_test(test_synth_vectors),
		cmocka_unit_test(test_random_round_trips),
		cmocka_unit_test(test_real_records),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_mutations),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_force_variant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
