/*
 * util/keyval: QEMU option strings as libvirt writes them
 * ("qmig,usb=off,dump-guest-core=off", "1,sockets=1", "strict=on").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/keyval.h"

static void expect(struct keyval *kv, const char *key, const char *val)
{
	char *k, *v;
	assert_true(keyval_next(kv, &k, &v));
	if (key)
		assert_string_equal(k, key);
	else
		assert_null(k);
	if (val)
		assert_string_equal(v, val);
	else
		assert_null(v);
}

static void test_implied_first_value(void **state)
{
	struct keyval kv;
	keyval_init(&kv, "qmig,usb=off,mem-merge,accel=kvm:tcg");
	expect(&kv, NULL, "qmig");
	expect(&kv, "usb", "off");
	expect(&kv, "mem-merge", NULL);
	expect(&kv, "accel", "kvm:tcg");
	char *k, *v;
	assert_false(keyval_next(&kv, &k, &v));
	keyval_release(&kv);
}

static void test_keys_only(void **state)
{
	struct keyval kv;
	keyval_init(&kv, "strict=on");
	expect(&kv, "strict", "on");
	char *k, *v;
	assert_false(keyval_next(&kv, &k, &v));
	keyval_release(&kv);
	/* an empty value and an empty item stay what they are */
	keyval_init(&kv, "a=,");
	expect(&kv, "a", "");
	expect(&kv, "", NULL);
	keyval_release(&kv);
}

static void test_onoff(void **state)
{
	bool b = false;
	assert_true(keyval_onoff("x", NULL, &b, NULL));
	assert_true(b);
	assert_true(keyval_onoff("x", "off", &b, NULL));
	assert_false(b);
	assert_true(keyval_onoff("x", "yes", &b, NULL));
	assert_true(b);
	struct error *err = NULL;
	assert_false(keyval_onoff("usb", "maybe", &b, &err));
	assert_string_equal(err->msg, "Parameter 'usb' expects 'on' or 'off'");
	error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_implied_first_value),
		cmocka_unit_test(test_keys_only),
		cmocka_unit_test(test_onoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
