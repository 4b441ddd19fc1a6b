/*
 * multifd's bytes (migration/multifd_wire.c) and its per-channel streams
 * (multifd_codec.h): the handshake and header layout QEMU 7.2 reads, each
 * check of a peer's header with its message, and zlib/zstd round trips
 * over several packets of one stream, as a channel sends them, plus the
 * decoder's refusals (short payload, bytes beyond the pages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "migration/multifd_codec.h"
#include "migration/multifd_wire.h"
#include "ram/guest_ram.h"

#define BLOCK (64ULL * RAM_PAGE_SIZE)

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be32_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void test_init_layout(void **state)
{
	(void)state;
	uint8_t b[MULTIFD_INIT_BYTES];
	multifd_init_encode(b, 3);
	assert_int_equal(be32_at(b), 0x11223344);
	assert_int_equal(be32_at(b + 4), 1);
	assert_int_equal(b[24], 3);
	assert_int_equal(multifd_init_parse(b, 4, NULL), 3);

	struct error *err = NULL;
	assert_int_equal(multifd_init_parse(b, 3, &err), -1);
	assert_string_equal(err->msg,
			    "multifd: received channel id 3, but multifd-channels is 3");
	error_free(err);
	err = NULL;
	b[8] = 0xab;
	assert_int_equal(multifd_init_parse(b, 4, &err), -1);
	assert_string_equal(err->msg,
			    "multifd: received uuid 'ab000000-0000-0000-0000-000000000000' and expected uuid '00000000-0000-0000-0000-000000000000' for channel 3");
	error_free(err);
	err = NULL;
	put_be32_at(b, 0x5145564d);
	assert_int_equal(multifd_init_parse(b, 4, &err), -1);
	assert_string_equal(err->msg,
			    "multifd: received packet magic 5145564d expected 11223344");
	error_free(err);
}

static void fill(struct multifd_packet *p, uint32_t pages)
{
	memset(p, 0, sizeof(*p));
	p->flags = MULTIFD_FLAG_NOCOMP;
	p->pages = pages;
	p->next_packet_size = pages * RAM_PAGE_SIZE;
	p->packet_num = 0x123456789aULL;
	for (uint32_t i = 0; i < pages; i++)
		p->offset[i] = (uint64_t)(i * 2 % 64) * RAM_PAGE_SIZE;
}

static void test_header_layout(void **state)
{
	(void)state;
	static uint8_t h[MULTIFD_PACKET_BYTES];
	struct multifd_packet p, q;
	fill(&p, 3);
	multifd_packet_encode(h, &p, GUEST_RAM_BLOCK_NAME);
	assert_int_equal(be32_at(h + 12), 128);     /* pages_alloc */
	assert_int_equal(be32_at(h + 16), 3);       /* normal_pages */
	assert_int_equal(be32_at(h + 20), 3 * 4096);
	assert_string_equal((char *)h + 64, "ram");
	assert_int_equal(be32_at(h + 320 + 8 + 4), 2 * 4096); /* offset[1] */
	assert_true(multifd_packet_parse(h, GUEST_RAM_BLOCK_NAME, BLOCK,
					 MULTIFD_NONE, 0, &q, NULL));
	assert_int_equal(q.pages, 3);
	assert_int_equal(q.packet_num, p.packet_num);
	assert_memory_equal(q.offset, p.offset, 3 * sizeof(p.offset[0]));
}

/* Encodes p, lets tweak damage it, and expects msg from the parser. */
static void expect_refusal(struct multifd_packet *p, enum multifd_method m,
			   void (*tweak)(uint8_t *h), const char *msg)
{
	static uint8_t h[MULTIFD_PACKET_BYTES];
	struct multifd_packet q;
	struct error *err = NULL;
	multifd_packet_encode(h, p, GUEST_RAM_BLOCK_NAME);
	if (tweak)
		tweak(h);
	assert_false(multifd_packet_parse(h, GUEST_RAM_BLOCK_NAME, BLOCK, m, 5,
					  &q, &err));
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
	error_free(err);
}

static void bad_version(uint8_t *h) { put_be32_at(h + 4, 2); }
static void big_alloc(uint8_t *h) { put_be32_at(h + 12, 129); }
static void small_alloc(uint8_t *h) { put_be32_at(h + 12, 2); }
static void other_block(uint8_t *h) { memcpy(h + 64, "pc.ram", 7); }

static void test_header_refusals(void **state)
{
	(void)state;
	struct multifd_packet p;
	fill(&p, 3);
	expect_refusal(&p, MULTIFD_NONE, bad_version,
		       "multifd: received packet version 2 and expected version 1");
	expect_refusal(&p, MULTIFD_NONE, big_alloc,
		       "multifd: received packet with size 129 and expected a size of 128");
	expect_refusal(&p, MULTIFD_NONE, small_alloc,
		       "multifd: received packet with 3 pages and expected maximum pages are 2");
	expect_refusal(&p, MULTIFD_NONE, other_block,
		       "multifd: unknown ram block pc.ram");
	expect_refusal(&p, MULTIFD_ZLIB, NULL,
		       "multifd 5: flags received 0 flags expected 2");
	p.offset[2] = BLOCK;
	expect_refusal(&p, MULTIFD_NONE, NULL,
		       "multifd: offset too long 262144 (max 40000)");
	p.offset[2] = 4095;
	expect_refusal(&p, MULTIFD_NONE, NULL,
		       "multifd: offset 4095 is not page aligned");
	fill(&p, 3);
	p.next_packet_size = 100;
	expect_refusal(&p, MULTIFD_NONE, NULL,
		       "multifd 5: packet of 3 pages has a payload of 100 bytes");
	p.flags = MULTIFD_FLAG_ZSTD;
	p.next_packet_size = MULTIFD_COMPRESSED_MAX + 1;
	expect_refusal(&p, MULTIFD_ZSTD, NULL,
		       "multifd 5: packet of 3 pages has a payload of 1048577 bytes");

	/* a sync packet names no block: nothing else is looked at */
	static uint8_t h[MULTIFD_PACKET_BYTES];
	struct multifd_packet s = { .flags = MULTIFD_FLAG_SYNC }, q;
	multifd_packet_encode(h, &s, GUEST_RAM_BLOCK_NAME);
	assert_true(multifd_packet_parse(h, "other", BLOCK, MULTIFD_ZLIB, 0,
					 &q, NULL));
	assert_int_equal(q.flags, MULTIFD_FLAG_SYNC);
	assert_int_equal(q.pages, 0);
}

/* Three packets through one stream each way; then damaged payloads. */
static void round_trip(enum multifd_method m, int level)
{
	enum { N = MULTIFD_PACKET_PAGES };
	uint8_t *src = malloc((size_t)N * RAM_PAGE_SIZE);
	uint8_t *dst = malloc((size_t)N * RAM_PAGE_SIZE);
	uint8_t *buf = malloc(MULTIFD_COMPRESSED_MAX);
	const uint8_t *in[N];
	uint8_t *out[N];
	struct multifd_codec *c = multifd_codec_new_compress(m, level, 0, NULL);
	struct multifd_codec *d = multifd_codec_new_decompress(m, 0, NULL);
	assert_non_null(c);
	assert_non_null(d);
	for (int i = 0; i < N; i++) {
		in[i] = src + (size_t)i * RAM_PAGE_SIZE;
		out[i] = dst + (size_t)i * RAM_PAGE_SIZE;
	}
	srand(7);
	for (int round = 0; round < 4; round++) {
		unsigned n = round == 1 ? 1 : N;
		for (size_t i = 0; i < (size_t)n * RAM_PAGE_SIZE; i++)
			src[i] = (uint8_t)(i % 977 < 300 ? rand() : round);
		/* Pages A, B, A, B...: matches reach two pages back, where the
		 * compressor's reused page buffer now holds B (a compressor
		 * that kept pointers into its input would decode wrong). */
		if (round == 3)
			for (unsigned k = 2; k < n; k++)
				memcpy(src + (size_t)k * RAM_PAGE_SIZE,
				       src + (size_t)(k - 2) * RAM_PAGE_SIZE,
				       RAM_PAGE_SIZE);
		long len = multifd_codec_compress(c, in, n, buf, NULL);
		assert_true(len > 0 && len <= MULTIFD_COMPRESSED_MAX);
		memset(dst, 0x5a, (size_t)N * RAM_PAGE_SIZE);
		assert_true(multifd_codec_decompress(d, buf, (size_t)len, out,
						     n, NULL));
		assert_memory_equal(src, dst, (size_t)n * RAM_PAGE_SIZE);
	}
	/* too few bytes for the pages, on a fresh decoder */
	long len = multifd_codec_compress(c, in, 2, buf, NULL);
	struct multifd_codec *d2 = multifd_codec_new_decompress(m, 0, NULL);
	struct error *err = NULL;
	assert_false(multifd_codec_decompress(d2, buf, (size_t)len, out, 3,
					      &err));
	assert_non_null(err);
	error_free(err);
	multifd_codec_free(d2);
	/* garbage */
	memset(buf, 0xff, 64);
	d2 = multifd_codec_new_decompress(m, 0, NULL);
	err = NULL;
	assert_false(multifd_codec_decompress(d2, buf, 64, out, 1, &err));
	assert_non_null(err);
	error_free(err);
	multifd_codec_free(d2);
	multifd_codec_free(c);
	multifd_codec_free(d);
	free(src);
	free(dst);
	free(buf);
}

static void test_zlib_stream(void **state)
{
	(void)state;
	round_trip(MULTIFD_ZLIB, 1);
	round_trip(MULTIFD_ZLIB, 9);
}

static void test_zstd_stream(void **state)
{
	(void)state;
	round_trip(MULTIFD_ZSTD, 1);
	round_trip(MULTIFD_ZSTD, 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_layout),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_header_refusals),
		cmocka_unit_test(test_zlib_stream),
		cmocka_unit_test(test_zstd_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
