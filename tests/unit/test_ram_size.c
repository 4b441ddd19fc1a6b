/*
 * ram_size_parse(): -m as QEMU 7.2 reads it.  Every answer here is one a
 * real QEMU 7.2 -M none gave (tests/process/test_qemu_fidelity.py asks
 * QEMU itself for these and more).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ram/ram_size.h"

static void expect_size(const char *arg, uint64_t want)
{
	uint64_t got = 0;
	struct error *err = NULL;
	if (ram_size_parse(arg, &got, &err) < 0)
		fail_msg("-m %s: %s", arg, err->msg);
	if (got != want)
		fail_msg("-m %s: %llu, want %llu", arg, (unsigned long long)got,
			 (unsigned long long)want);
}

static void expect_refusal(const char *arg, const char *want)
{
	uint64_t got = 12345;
	struct error *err = NULL;
	assert_int_equal(ram_size_parse(arg, &got, &err), -1);
	assert_int_equal(got, 12345);
	assert_string_equal(err->msg, want);
	error_free(err);
}

static void test_rounding_and_units(void **state)
{
	expect_size("4k", 8192);
	expect_size("12k", 16384);
	expect_size("5k", 8192);
	expect_size("2049k", 2105344);
	expect_size("1b", 8192);
	expect_size("0.5M", 524288);
	expect_size("16", 16 << 20);
	expect_size("8191", 8191ULL << 20);
	expect_size("size=64M,slots=2,maxmem=1G", 64 << 20);
	expect_size("128M,maxmem=256M", 128 << 20);
	expect_size("16M,size=32M", 32 << 20);
}

static void test_refusals(void **state)
{
	expect_refusal("0.5",
		       "-m 0.5: Parameter 'size' expects a non-negative number below 2^64\n"
		       "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		       "and exabytes, respectively.");
	expect_refusal("16E", "-m 16E: Value '16E' is out of range for parameter 'size'");
	expect_refusal("16M,foo=1", "-m 16M,foo=1: Invalid parameter 'foo'");
	expect_refusal("64M,slots=2", "slots specified but no max-size");
	expect_refusal("64M,maxmem=32M",
		       "invalid value of maxmem: maximum memory size (0x2000000) must be at least the initial memory size (0x4000000)");
	expect_refusal("0", "-m 0: qmig needs some RAM: a machine without a RAM block is not supported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounding_and_units),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
