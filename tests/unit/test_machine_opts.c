/*
 * migration/machine_opts: every option of libvirt 9.0's minimal domain
 * argv (shared/docs/libvirt-emulator.md §2) is taken, what it sets is
 * set, and what qmig cannot be is refused with QEMU 7.2's words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "machine/machine_opts.h"
#include "util/error.h"

static int parse(struct machine_opts *mo, const char *opt, const char *arg,
		 char **msg)
{
	struct error *err = NULL;
	int rc = machine_opts_parse(mo, opt, arg, &err);
	if (msg)
		*msg = err ? strdup(err->msg) : NULL;
	error_free(err);
	return rc;
}

static void expect_error(const char *opt, const char *arg, const char *text)
{
	struct machine_opts mo;
	machine_opts_init(&mo);
	char *msg;
	assert_int_equal(parse(&mo, opt, arg, &msg), -1);
	assert_string_equal(msg, text);
	free(msg);
	machine_opts_release(&mo);
}

static void test_libvirt_domain_argv(void **state)
{
	static const char *const argv[][2] = {
		{ "-name", "guest=qm,debug-threads=on" },
		{ "-object", "secret,id=masterKey0,format=raw,data=c2VjcmV0" },
		{ "-machine", "qmig,usb=off,dump-guest-core=off" },
		{ "-accel", "tcg" },
		{ "-overcommit", "mem-lock=off" },
		{ "-smp", "1,sockets=1,cores=1,threads=1" },
		{ "-uuid", "0f8fad5b-d9cb-469f-a165-70867728950e" },
		{ "-rtc", "base=utc" },
		{ "-no-shutdown", NULL },
		{ "-no-acpi", NULL },
		{ "-no-user-config", NULL },
		{ "-boot", "strict=on" },
		{ "-audiodev", "{\"id\":\"audio1\",\"driver\":\"none\"}" },
		{ "-msg", "timestamp=on" },
	};
	struct machine_opts mo;
	machine_opts_init(&mo);
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++) {
		assert_int_equal(machine_opts_takes_arg(argv[i][0]),
				 argv[i][1] != NULL);
		assert_int_equal(parse(&mo, argv[i][0], argv[i][1], NULL), 1);
	}
	assert_string_equal(mo.name, "qm");
	assert_true(mo.has_uuid);
	char text[37];
	machine_uuid_format(mo.uuid, text);
	assert_string_equal(text, "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_true(mo.no_shutdown);
	assert_true(mo.no_acpi);
	assert_true(mo.msg_timestamp);
	assert_false(mo.mem_lock);
	assert_string_equal(mo.type, "qmig");
	uint64_t ram = 64 << 20;
	assert_true(machine_opts_finish(&mo, true, &ram, NULL));
	assert_int_equal(ram, 64 << 20);
	machine_opts_release(&mo);
}

static void test_not_a_machine_option(void **state)
{
	struct machine_opts mo;
	machine_opts_init(&mo);
	assert_int_equal(parse(&mo, "-incoming", "defer", NULL), 0);
	assert_int_equal(parse(&mo, "-S", NULL, NULL), 0);
	machine_opts_release(&mo);
}

static void test_memory_backend(void **state)
{
	struct machine_opts mo;
	machine_opts_init(&mo);
	assert_int_equal(parse(&mo, "-object",
			       "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":67108864}",
			       NULL), 1);
	assert_int_equal(parse(&mo, "-machine", "none,memory-backend=pc.ram",
			       NULL), 1);
	uint64_t ram = 128 << 20;
	assert_true(machine_opts_finish(&mo, false, &ram, NULL));
	assert_int_equal(ram, 64 << 20);
	struct error *err = NULL;
	ram = 32 << 20;
	assert_false(machine_opts_finish(&mo, true, &ram, &err));
	assert_string_equal(err->msg, "Machine memory size does not match the size of the memory backend");
	error_free(err);
	machine_opts_release(&mo);
}

static void test_refusals(void **state)
{
	expect_error("-smp", "2", "Invalid SMP CPUs 2. The max CPUs supported by machine 'qmig' is 1");
	expect_error("-smp", "cpus=1,threads=2", "Invalid SMP CPUs 2. The max CPUs supported by machine 'qmig' is 1");
	expect_error("-uuid", "0f8fad5b-d9cb-469f-a165-70867728950", "failed to parse UUID string: wrong format");
	expect_error("-uuid", "0f8fad5b+d9cb-469f-a165-70867728950e", "failed to parse UUID string: wrong format");
	expect_error("-machine", "none,acpi=off", "Property 'none-machine.acpi' not found");
	expect_error("-accel", "kvm", "invalid accelerator kvm: qmig runs no vCPU and offers only 'tcg'");
	expect_error("-machine", "qmig,accel=kvm", "invalid accelerator kvm: qmig runs no vCPU and offers only 'tcg'");
	expect_error("-device", "e1000,id=n", "'e1000' is not a valid device model name");
	expect_error("-object", "secret,id=s", "Either 'file' or 'data' must be provided");
	expect_error("-object", "{\"qom-type\":\"secret\"}", "Parameter 'id' is missing");
	expect_error("-audiodev", "id=a", "Parameter 'driver' is missing");
	expect_error("-overcommit", "mem-lock=maybe", "Parameter 'mem-lock' expects 'on' or 'off'");
	expect_error("-boot", "strict=on,fast=on", "Invalid parameter 'fast'");
	expect_error("-msg", "colour=on", "Invalid parameter 'colour'");
	expect_error("-object", "memory-backend-ram,id=m,size=0", "can't create backend with size 0");
	expect_error("-object", "memory-backend-ram,id=m,size=1000", "invalid RAM size '1000' (a multiple of 4k)");
}

static void test_uuid_round_trip(void **state)
{
	uint8_t u[16];
	assert_true(machine_uuid_parse("0F8FAD5B-D9CB-469F-A165-70867728950E", u));
	assert_int_equal(u[0], 0x0f);
	assert_int_equal(u[15], 0x0e);
	char text[37];
	machine_uuid_format(u, text);
	assert_string_equal(text, "0f8fad5b-d9cb-469f-a165-70867728950e");
	memset(u, 0, sizeof(u));
	machine_uuid_format(u, text);
	assert_string_equal(text, "00000000-0000-0000-0000-000000000000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libvirt_domain_argv),
		cmocka_unit_test(test_not_a_machine_option),
		cmocka_unit_test(test_memory_backend),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_uuid_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
