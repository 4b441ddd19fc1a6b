/*
 * util/size_parse: QEMU 7.2 qemu_strtosz() results, from the HMP fixtures
 * (shared/fixtures/qemu-7.2/hmp/set-parameters-and-capabilities.json,
 * errors.json) and from QEMU's own rules (util/cutils.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/size_parse.h"

#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define TiB (1024ULL * GiB)
#define PiB (1024ULL * TiB)
#define EiB (1024ULL * PiB)

struct size_case {
	const char *str;
	int ret;         /* 0, -EINVAL or -ERANGE */
	uint64_t value;  /* when ret == 0 */
};

static void check_cases(const struct size_case *c, size_t n,
			int (*fn)(const char *, const char **, uint64_t *))
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0xdeadbeef;
		int ret = fn(c[i].str, NULL, &v);

		if (ret != c[i].ret)
			fail_msg("'%s': returned %d, expected %d", c[i].str,
				 ret, c[i].ret);
		if (c[i].ret == 0 && v != c[i].value)
			fail_msg("'%s': %llu, expected %llu", c[i].str,
				 (unsigned long long)v,
				 (unsigned long long)c[i].value);
		if (c[i].ret != 0 && v != 0xdeadbeef)
			fail_msg("'%s': result changed on error", c[i].str);
	}
}

static void test_bytes(void **state)
{
	static const struct size_case cases[] = {
		/* values the fixtures show for xbzrle-cache-size */
		{ "1048576", 0, 1048576 },
		{ "256m", 0, 256 * MiB },
		{ "256M", 0, 256 * MiB },
		{ "64k", 0, 64 * KiB },
		{ "1g", 0, GiB },
		{ "4096", 0, 4096 },
		{ "65536b", 0, 65536 },
		{ "65536B", 0, 65536 },
		{ "1.5m", 0, 1572864 },
		{ "3m", 0, 3 * MiB },
		/* downtime-limit: a plain number, `1k` is 1024 */
		{ "1k", 0, 1024 },
		{ "0", 0, 0 },
		{ "2000001", 0, 2000001 },
		{ "1t", 0, TiB },
		{ "1P", 0, PiB },
		{ "1e", 0, EiB },
		{ "15e", 0, 15 * EiB },
		{ "18446744073709551615", 0, UINT64_MAX },
		/* invalid: errors.json */
		{ "abc", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "1x", -EINVAL, 0 },
		{ "12kb", -EINVAL, 0 },
		{ "-0", -EINVAL, 0 },
		{ "1.5e3", -EINVAL, 0 },
		{ "1.5E3", -EINVAL, 0 },
		{ "0x1.8", -EINVAL, 0 },
		{ "0x", -EINVAL, 0 },
		{ ".", -EINVAL, 0 },
		/* out of range */
		{ "16e", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "100000000000000000000", -ERANGE, 0 },
		{ "17179869184g", -ERANGE, 0 },
		/* hex, decimal-only fraction, odd corners QEMU accepts */
		{ "0x10", 0, 16 },
		{ "0X1f", 0, 31 },
		{ "0x1k", 0, 1024 },
		{ "010", 0, 10 },
		{ "1.", 0, 1 },
		{ "1.k", 0, 1024 },
		{ "1.0", 0, 1 },
		{ ".5k", -EINVAL, 0 },         /* no integer part */
		{ "0.5k", 0, 512 },
		{ "+5", 0, 5 },
		{ " 5", 0, 5 },
		{ "12.345M", 0, 12944671 },   /* 12.345 MiB rounded */
		{ "1.5e", 0, EiB + EiB / 2 }, /* 'e' is the suffix here */
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), size_parse_bytes);
}

static void test_mib(void **state)
{
	static const struct size_case cases[] = {
		/* max-bandwidth in set-parameters-and-capabilities.json */
		{ "1048576", 0, 1048576 * MiB },
		{ "1g", 0, GiB },
		{ "32", 0, 32 * MiB },
		{ "32m", 0, 32 * MiB },
		{ "512k", 0, 512 * KiB },
		{ "1000b", 0, 1000 },
		{ "1.5", 0, 1572864 },
		{ "0", 0, 0 },
		/* errors.json: each is "Invalid size" */
		{ "abc", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "1x", -EINVAL, 0 },
		{ "100000000000000000000", -ERANGE, 0 },
		{ "17592186044416", -ERANGE, 0 }, /* 2^44 MiB = 2^64 */
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), size_parse_mib);
}

static void test_metric(void **state)
{
	static const struct size_case cases[] = {
		{ "1k", 0, 1000 },
		{ "1.5M", 0, 1500000 },
		{ "2G", 0, 2000000000ULL },
		{ "18e", 0, 18000000000000000000ULL },
		{ "19e", -ERANGE, 0 },
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]),
		    size_parse_metric);
}

static void test_end_pointer(void **state)
{
	const char *end = NULL;
	uint64_t v = 0;
	const char *s = "12kb rest";

	(void)state;
	assert_int_equal(size_parse_bytes(s, &end, &v), 0);
	assert_int_equal(v, 12 * KiB);
	assert_ptr_equal(end, s + 3);

	s = "abc";
	assert_int_equal(size_parse_bytes(s, &end, &v), -EINVAL);
	assert_ptr_equal(end, s);

	/* An invalid fraction puts the end back at the start. */
	s = "1.5";
	assert_int_equal(size_parse_bytes(s, &end, &v), -EINVAL);
	assert_ptr_equal(end, s);

	/* On overflow the end is past what was read. */
	s = "16e";
	assert_int_equal(size_parse_bytes(s, &end, &v), -ERANGE);
	assert_ptr_equal(end, s + 3);

	s = "16x";
	assert_int_equal(size_parse_bytes(s, &end, &v), 0);
	assert_int_equal(v, 16);
	assert_ptr_equal(end, s + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_mib),
		cmocka_unit_test(test_metric),
		cmocka_unit_test(test_end_pointer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
