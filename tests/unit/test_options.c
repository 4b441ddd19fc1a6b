/*
 * migration/options: the capability and parameter store against QEMU 7.2.
 *
 * The expected texts are copied from shared/fixtures/qemu-7.2/hmp/
 * (info-fresh.json, set-parameters-and-capabilities.json, errors.json):
 * every migrate_set_parameter / migrate_set_capability / info line there
 * whose answer comes from this store, replayed in order on a fresh store.
 * Where qmig deliberately differs (capabilities it does not implement) the
 * row says so and gives QEMU's answer.  Rows the monitor's own argument
 * parser answers (missing arguments, a state other than on/off) are left
 * to the monitor's tests.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migration/options.h"
#include "migration/options_hmp.h"
#include "util/strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* query-migrate-parameters members in QEMU 7.2 */
#define QEMU_PARAM_COUNT 26

/* info-fresh.json: `info migrate_capabilities` on a fresh VM */
static const char fresh_caps[] =
	"xbzrle: off\n"
	"rdma-pin-all: off\n"
	"auto-converge: off\n"
	"zero-blocks: off\n"
	"compress: off\n"
	"events: off\n"
	"postcopy-ram: off\n"
	"x-colo: off\n"
	"release-ram: off\n"
	"block: off\n"
	"return-path: off\n"
	"pause-before-switchover: off\n"
	"multifd: off\n"
	"dirty-bitmaps: off\n"
	"postcopy-blocktime: off\n"
	"late-block-activate: off\n"
	"x-ignore-shared: off\n"
	"validate-uuid: off\n"
	"background-snapshot: off\n"
	"zero-copy-send: off\n"
	"postcopy-preempt: off\n";

/* the same after `migrate_set_capability auto-converge on` */
static const char auto_converge_caps[] =
	"xbzrle: off\n"
	"rdma-pin-all: off\n"
	"auto-converge: on\n"
	"zero-blocks: off\n"
	"compress: off\n"
	"events: off\n"
	"postcopy-ram: off\n"
	"x-colo: off\n"
	"release-ram: off\n"
	"block: off\n"
	"return-path: off\n"
	"pause-before-switchover: off\n"
	"multifd: off\n"
	"dirty-bitmaps: off\n"
	"postcopy-blocktime: off\n"
	"late-block-activate: off\n"
	"x-ignore-shared: off\n"
	"validate-uuid: off\n"
	"background-snapshot: off\n"
	"zero-copy-send: off\n"
	"postcopy-preempt: off\n";

/* info-fresh.json: `info migrate_parameters` on a fresh VM */
static const char fresh_params[] =
	"announce-initial: 50 ms\n"
	"announce-max: 550 ms\n"
	"announce-rounds: 5\n"
	"announce-step: 100 ms\n"
	"compress-level: 1\n"
	"compress-threads: 8\n"
	"compress-wait-thread: on\n"
	"decompress-threads: 2\n"
	"throttle-trigger-threshold: 50\n"
	"cpu-throttle-initial: 20\n"
	"cpu-throttle-increment: 10\n"
	"cpu-throttle-tailslow: off\n"
	"max-cpu-throttle: 99\n"
	"tls-creds: ''\n"
	"tls-hostname: ''\n"
	"max-bandwidth: 134217728 bytes/second\n"
	"downtime-limit: 300 ms\n"
	"x-checkpoint-delay: 20000 ms\n"
	"block-incremental: off\n"
	"multifd-channels: 2\n"
	"multifd-compression: none\n"
	"xbzrle-cache-size: 67108864 bytes\n"
	"max-postcopy-bandwidth: 0\n"
	"tls-authz: ''\n";

/*
 * One monitor exchange: cmd as typed, out as QEMU printed it.  cmd
 * "#shows" means: `info migrate_parameters` now contains the line out.
 */
struct step {
	const char *cmd;
	const char *out;
};

/* set-parameters-and-capabilities.json, in order */
static const struct step set_steps[] = {
	{ "info migrate_parameters",
	  fresh_params },
	{ "migrate_set_parameter compress-level 9",
	  "" },
	{ "migrate_set_parameter compress-threads 4",
	  "" },
	{ "migrate_set_parameter decompress-threads 1",
	  "" },
	{ "migrate_set_parameter compress-wait-thread off",
	  "" },
	{ "migrate_set_parameter xbzrle-cache-size 1048576",
	  "" },
	{ "migrate_set_parameter max-bandwidth 1048576",
	  "" },
	{ "migrate_set_parameter downtime-limit 500",
	  "" },
	{ "info migrate_parameters",
	  "announce-initial: 50 ms\n"
		"announce-max: 550 ms\n"
		"announce-rounds: 5\n"
		"announce-step: 100 ms\n"
		"compress-level: 9\n"
		"compress-threads: 4\n"
		"compress-wait-thread: off\n"
		"decompress-threads: 1\n"
		"throttle-trigger-threshold: 50\n"
		"cpu-throttle-initial: 20\n"
		"cpu-throttle-increment: 10\n"
		"cpu-throttle-tailslow: off\n"
		"max-cpu-throttle: 99\n"
		"tls-creds: ''\n"
		"tls-hostname: ''\n"
		"max-bandwidth: 1099511627776 bytes/second\n"
		"downtime-limit: 500 ms\n"
		"x-checkpoint-delay: 20000 ms\n"
		"block-incremental: off\n"
		"multifd-channels: 2\n"
		"multifd-compression: none\n"
		"xbzrle-cache-size: 1048576 bytes\n"
		"max-postcopy-bandwidth: 0\n"
		"tls-authz: ''\n" },
	{ "migrate_set_parameter xbzrle-cache-size 256m",
	  "" },
	{ "#shows", "xbzrle-cache-size: 268435456 bytes" },
	{ "migrate_set_parameter xbzrle-cache-size 256M",
	  "" },
	{ "#shows", "xbzrle-cache-size: 268435456 bytes" },
	{ "migrate_set_parameter xbzrle-cache-size 64k",
	  "" },
	{ "#shows", "xbzrle-cache-size: 65536 bytes" },
	{ "migrate_set_parameter xbzrle-cache-size 1g",
	  "" },
	{ "#shows", "xbzrle-cache-size: 1073741824 bytes" },
	{ "migrate_set_parameter xbzrle-cache-size 4096",
	  "" },
	{ "#shows", "xbzrle-cache-size: 4096 bytes" },
	{ "migrate_set_parameter xbzrle-cache-size 65536b",
	  "" },
	{ "#shows", "xbzrle-cache-size: 65536 bytes" },
	{ "migrate_set_parameter max-bandwidth 1g",
	  "" },
	{ "#shows", "max-bandwidth: 1073741824 bytes/second" },
	{ "migrate_set_parameter max-bandwidth 32",
	  "" },
	{ "#shows", "max-bandwidth: 33554432 bytes/second" },
	{ "migrate_set_parameter max-bandwidth 32m",
	  "" },
	{ "#shows", "max-bandwidth: 33554432 bytes/second" },
	{ "migrate_set_parameter max-bandwidth 512k",
	  "" },
	{ "#shows", "max-bandwidth: 524288 bytes/second" },
	{ "migrate_set_parameter max-bandwidth 1000b",
	  "" },
	{ "#shows", "max-bandwidth: 1000 bytes/second" },
	{ "migrate_set_parameter max-bandwidth 1.5",
	  "" },
	{ "#shows", "max-bandwidth: 1572864 bytes/second" },
	{ "migrate_set_parameter max-bandwidth 0",
	  "" },
	{ "#shows", "max-bandwidth: 0 bytes/second" },
	{ "migrate_set_parameter downtime-limit 1k",
	  "" },
	{ "#shows", "downtime-limit: 1024 ms" },
	{ "migrate_set_parameter downtime-limit 2000",
	  "" },
	{ "#shows", "downtime-limit: 2000 ms" },
	{ "migrate_set_parameter downtime-limit 0",
	  "" },
	{ "#shows", "downtime-limit: 0 ms" },
	{ "migrate_set_parameter compress-wait-thread on",
	  "" },
	{ "#shows", "compress-wait-thread: on" },
	{ "migrate_set_parameter compress-level 0",
	  "" },
	{ "#shows", "compress-level: 0" },
	{ "migrate_set_parameter compress-threads 255",
	  "" },
	{ "#shows", "compress-threads: 255" },
	{ "migrate_set_parameter decompress-threads 255",
	  "" },
	{ "#shows", "decompress-threads: 255" },
	{ "migrate_set_parameter compress-level 0x5",
	  "" },
	{ "#shows", "compress-level: 5" },
	{ "migrate_set_parameter compress-level 07",
	  "" },
	{ "#shows", "compress-level: 7" },
	{ "info migrate_capabilities",
	  fresh_caps },
	{ "migrate_set_capability xbzrle on",
	  "" },
	{ "migrate_set_capability compress on",
	  "" },
	{ "migrate_set_capability events on",
	  "" },
	{ "migrate_set_capability xbzrle off",
	  "" },
	{ "migrate_set_capability xbzrle on",
	  "" },
	{ "info migrate_capabilities",
	  "xbzrle: on\n"
		"rdma-pin-all: off\n"
		"auto-converge: off\n"
		"zero-blocks: off\n"
		"compress: on\n"
		"events: on\n"
		"postcopy-ram: off\n"
		"x-colo: off\n"
		"release-ram: off\n"
		"block: off\n"
		"return-path: off\n"
		"pause-before-switchover: off\n"
		"multifd: off\n"
		"dirty-bitmaps: off\n"
		"postcopy-blocktime: off\n"
		"late-block-activate: off\n"
		"x-ignore-shared: off\n"
		"validate-uuid: off\n"
		"background-snapshot: off\n"
		"zero-copy-send: off\n"
		"postcopy-preempt: off\n" },
	{ "migrate_set_capability multifd on",
	  "Error: Multifd is not compatible with compress\n" },
	{ "migrate_set_capability compress off",
	  "" },
	{ "migrate_set_capability multifd on",
	  "" },
	{ "migrate_set_capability compress on",
	  "Error: Multifd is not compatible with compress\n" },
	{ "migrate_set_capability multifd off",
	  "" },
	{ "migrate_set_capability compress on",
	  "" },
	{ "migrate_set_capability postcopy-preempt on",
	  "Error: Postcopy preempt requires postcopy-ram\n" },
	{ "migrate_set_capability zero-copy-send on",
	  "Error: Zero copy only available for non-compressed non-TLS multifd migration\n" },
	/* qmig: block is not implemented (QEMU 7.2: "") */
	{ "migrate_set_capability block on",
	  "Error: Capability 'block' is not supported by qmig\n" },
	/* qmig: x-colo is not implemented (QEMU 7.2: "") */
	{ "migrate_set_capability x-colo on",
	  "Error: Capability 'x-colo' is not supported by qmig\n" },
	/* qmig: x-colo and block stayed off (QEMU 7.2 shows them on) */
	{ "info migrate_capabilities",
	  "xbzrle: on\n"
		"rdma-pin-all: off\n"
		"auto-converge: off\n"
		"zero-blocks: off\n"
		"compress: on\n"
		"events: on\n"
		"postcopy-ram: off\n"
		"x-colo: off\n"
		"release-ram: off\n"
		"block: off\n"
		"return-path: off\n"
		"pause-before-switchover: off\n"
		"multifd: off\n"
		"dirty-bitmaps: off\n"
		"postcopy-blocktime: off\n"
		"late-block-activate: off\n"
		"x-ignore-shared: off\n"
		"validate-uuid: off\n"
		"background-snapshot: off\n"
		"zero-copy-send: off\n"
		"postcopy-preempt: off\n" },
};

/* errors.json, in order (only what the store answers) */
static const struct step error_steps[] = {
	{ "migrate_set_capability foo on",
	  "Error: invalid parameter value: foo\n" },
	/* migrate_set_capability xbzrle maybe: the monitor argument parser refuses the state */
	{ "migrate_set_capability XBZRLE on",
	  "Error: invalid parameter value: XBZRLE\n" },
	/* migrate_set_capability xbzrle ON: the monitor argument parser refuses the state */
	/* migrate_set_capability xbzrle 1: the monitor argument parser refuses the state */
	/* migrate_set_capability xbzrle true: the monitor argument parser refuses the state */
	{ "migrate_set_capability auto_converge on",
	  "Error: invalid parameter value: auto_converge\n" },
	{ "migrate_set_capability auto-converge on",
	  "" },
	{ "migrate_set_parameter foo 1",
	  "Error: invalid parameter value: foo\n" },
	{ "migrate_set_parameter compress_level 5",
	  "Error: invalid parameter value: compress_level\n" },
	{ "migrate_set_parameter COMPRESS-LEVEL 5",
	  "Error: invalid parameter value: COMPRESS-LEVEL\n" },
	{ "migrate_set_parameter xbzrle_cache_size 1m",
	  "Error: invalid parameter value: xbzrle_cache_size\n" },
	{ "migrate_set_parameter block-bitmap-mapping x",
	  "Error: The block-bitmap-mapping parameter can only be set through QMP\n" },
	{ "migrate_set_parameter compress-level 10",
	  "Error: Parameter 'compress_level' expects a value between 0 and 9\n" },
	{ "migrate_set_parameter compress-level -1",
	  "Error: Parameter 'compress-level' expects uint8_t\n" },
	{ "migrate_set_parameter compress-level 256",
	  "Error: Parameter 'compress-level' expects uint8_t\n" },
	{ "migrate_set_parameter compress-level abc",
	  "Error: Parameter 'compress-level' expects uint64\n" },
	{ "migrate_set_parameter compress-level 1.5",
	  "Error: Parameter 'compress-level' expects uint64\n" },
	{ "migrate_set_parameter compress-level ''",
	  "Error: Parameter 'compress-level' expects uint64\n" },
	{ "migrate_set_parameter compress-level 5x",
	  "Error: Parameter 'compress-level' expects uint64\n" },
	{ "migrate_set_parameter compress-threads 0",
	  "Error: Parameter 'compress_threads' expects a value between 1 and 255\n" },
	{ "migrate_set_parameter compress-threads 256",
	  "Error: Parameter 'compress-threads' expects uint8_t\n" },
	{ "migrate_set_parameter compress-threads -1",
	  "Error: Parameter 'compress-threads' expects uint8_t\n" },
	{ "migrate_set_parameter decompress-threads 0",
	  "Error: Parameter 'decompress_threads' expects a value between 1 and 255\n" },
	{ "migrate_set_parameter decompress-threads x",
	  "Error: Parameter 'decompress-threads' expects uint64\n" },
	{ "migrate_set_parameter compress-wait-thread maybe",
	  "Error: Parameter 'compress-wait-thread' expects 'on' or 'off'\n" },
	{ "migrate_set_parameter compress-wait-thread 1",
	  "Error: Parameter 'compress-wait-thread' expects 'on' or 'off'\n" },
	{ "migrate_set_parameter compress-wait-thread yes",
	  "" },
	{ "migrate_set_parameter xbzrle-cache-size 1000",
	  "Error: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size\n" },
	{ "migrate_set_parameter xbzrle-cache-size 2048",
	  "Error: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size\n" },
	{ "migrate_set_parameter xbzrle-cache-size 0",
	  "Error: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size\n" },
	{ "migrate_set_parameter xbzrle-cache-size abc",
	  "Error: Parameter 'xbzrle-cache-size' expects a non-negative number below 2^64\n"
		"Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		"and exabytes, respectively.\n" },
	{ "migrate_set_parameter xbzrle-cache-size -1",
	  "Error: Parameter 'xbzrle-cache-size' expects a non-negative number below 2^64\n"
		"Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		"and exabytes, respectively.\n" },
	{ "migrate_set_parameter xbzrle-cache-size 1.5m",
	  "Error: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size\n" },
	{ "migrate_set_parameter xbzrle-cache-size 3m",
	  "Error: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size\n" },
	{ "migrate_set_parameter xbzrle-cache-size 16e",
	  "Error: Value '16e' is out of range for parameter 'xbzrle-cache-size'\n" },
	{ "migrate_set_parameter max-bandwidth abc",
	  "Error: Invalid size abc\n" },
	{ "migrate_set_parameter max-bandwidth -1",
	  "Error: Invalid size -1\n" },
	{ "migrate_set_parameter max-bandwidth 1x",
	  "Error: Invalid size 1x\n" },
	{ "migrate_set_parameter max-bandwidth 100000000000000000000",
	  "Error: Invalid size 100000000000000000000\n" },
	{ "migrate_set_parameter max-bandwidth 9000000t",
	  "Error: Invalid size 9000000t\n" },
	{ "migrate_set_parameter downtime-limit abc",
	  "Error: Parameter 'downtime-limit' expects a non-negative number below 2^64\n"
		"Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		"and exabytes, respectively.\n" },
	{ "migrate_set_parameter downtime-limit 2000001",
	  "Error: Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms\n" },
	{ "migrate_set_parameter downtime-limit -1",
	  "Error: Parameter 'downtime-limit' expects a non-negative number below 2^64\n"
		"Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		"and exabytes, respectively.\n" },
	{ "migrate_set_parameter downtime-limit 1.5",
	  "Error: Parameter 'downtime-limit' expects a non-negative number below 2^64\n"
		"Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		"and exabytes, respectively.\n" },
	{ "info migrate_parameters",
	  fresh_params },
	{ "info migrate_capabilities",
	  auto_converge_caps },
};

/* ---- helpers ---- */

static int setup_store(void **state)
{
	struct mig_options *o = malloc(sizeof(*o));

	if (!o)
		return -1;
	mig_options_init(o);
	*state = o;
	return 0;
}

static int teardown_store(void **state)
{
	struct mig_options *o = *state;

	mig_options_release(o);
	free(o);
	return 0;
}

/* What the monitor prints for a command error: "Error: <msg>\n". */
static void add_error(struct strbuf *out, struct error *err)
{
	if (err)
		strbuf_addf(out, "Error: %s\n", err->msg);
	error_free(err);
}

/* The monitor's part of a line, reduced to what these rows need. */
static void run_cmd(struct mig_options *o, const char *line,
		    struct strbuf *out)
{
	char *copy = strdup(line);
	char *save = NULL;
	char *cmd, *name, *value;
	struct error *err = NULL;

	assert_non_null(copy);
	cmd = strtok_r(copy, " ", &save);
	name = strtok_r(NULL, " ", &save);
	value = strtok_r(NULL, " ", &save);
	if (value && !strcmp(value, "''"))
		value = "";

	if (!strcmp(line, "info migrate_parameters")) {
		mig_options_format_params(o, out);
	} else if (!strcmp(line, "info migrate_capabilities")) {
		mig_options_format_caps(o, out);
	} else if (!strcmp(cmd, "migrate_set_parameter")) {
		assert_non_null(value);
		if (!mig_options_set_param_hmp(o, name, value, false, &err))
			add_error(out, err);
		else
			assert_null(err);
	} else if (!strcmp(cmd, "migrate_set_capability")) {
		assert_non_null(value);
		assert_true(!strcmp(value, "on") || !strcmp(value, "off"));
		if (!mig_options_set_cap_hmp(o, name, !strcmp(value, "on"),
					     &err))
			add_error(out, err);
		else
			assert_null(err);
	} else {
		fail_msg("unexpected command '%s'", line);
	}
	free(copy);
}

static void replay(const struct step *steps, size_t n)
{
	struct mig_options o;
	struct strbuf out;

	mig_options_init(&o);
	strbuf_init(&out);
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&out);
		if (!strcmp(steps[i].cmd, "#shows")) {
			char *want;

			mig_options_format_params(&o, &out);
			assert_non_null(want = malloc(strlen(steps[i].out) + 3));
			want[0] = '\n';
			memcpy(want + 1, steps[i].out, strlen(steps[i].out));
			want[strlen(steps[i].out) + 1] = '\n';
			want[strlen(steps[i].out) + 2] = '\0';
			/* out starts with announce-initial, never a match */
			if (!strstr(out.buf, want))
				fail_msg("step %zu: no line '%s' in:\n%s", i,
					 steps[i].out, out.buf);
			free(want);
			continue;
		}
		run_cmd(&o, steps[i].cmd, &out);
		if (strcmp(out.buf, steps[i].out))
			fail_msg("step %zu '%s':\n got: '%s'\nwant: '%s'", i,
				 steps[i].cmd, out.buf, steps[i].out);
	}
	strbuf_release(&out);
	mig_options_release(&o);
}

/* Applies one HMP set; returns the error text (caller frees) or NULL. */
static char *set_param(struct mig_options *o, const char *name,
		       const char *value)
{
	struct error *err = NULL;
	char *msg = NULL;

	if (!mig_options_set_param_hmp(o, name, value, false, &err)) {
		assert_non_null(err);
		msg = strdup(err->msg);
		error_free(err);
	} else {
		assert_null(err);
	}
	return msg;
}

static char *cap_error(struct mig_options *o,
		       const struct mig_cap_update *u)
{
	struct error *err = NULL;
	char *msg = NULL;

	if (!mig_options_apply_caps(o, u, &err)) {
		assert_non_null(err);
		msg = strdup(err->msg);
		error_free(err);
	}
	return msg;
}

static void expect_cap_error(struct mig_options *o,
			     const struct mig_cap_update *u, const char *want)
{
	struct strbuf before, after;
	uint64_t gen = mig_options_generation(o);
	char *msg;

	strbuf_init(&before);
	strbuf_init(&after);
	mig_options_format_caps(o, &before);
	msg = cap_error(o, u);
	if (!msg)
		fail_msg("accepted, expected '%s'", want);
	assert_string_equal(msg, want);
	free(msg);
	mig_options_format_caps(o, &after);
	assert_string_equal(before.buf, after.buf);
	assert_int_equal(mig_options_generation(o), gen);
	strbuf_release(&before);
	strbuf_release(&after);
}

/* ---- cases, one row each, replayed in order on one fresh store ---- */

/*
 * `migrate_set_parameter name value` on the store the rows before left:
 * refused with error (nothing changes), or accepted, and then the
 * parameter holds num (numbers, bools 0/1, enum indexes) or, when shows
 * is set, `info migrate_parameters` has the line shows.
 */
struct set_case {
	const char *name, *value;
	const char *error;  /* NULL: accepted */
	uint64_t num;       /* accepted, shows NULL: the value stored */
	const char *shows;  /* accepted: this line is in info */
};

#define REFUSED(name, value, error) { name, value, error, 0, NULL }
#define STORES(name, value, num) { name, value, NULL, num, NULL }
#define SHOWS(name, value, line) { name, value, NULL, 0, line }

/* QEMU 7.2's migrate_params_check() texts and HMP syntax beyond the
 * fixtures, and qmig's own parameters; a new parameter adds its rows. */
static const struct set_case set_cases[] = {
	REFUSED("throttle-trigger-threshold", "0",
		"Parameter 'throttle_trigger_threshold' expects an integer in the "
		"range of 1 to 100"),
	REFUSED("throttle-trigger-threshold", "101",
		"Parameter 'throttle_trigger_threshold' expects an integer in the "
		"range of 1 to 100"),
	STORES("throttle-trigger-threshold", "100", 100),
	REFUSED("cpu-throttle-initial", "0",
		"Parameter 'cpu_throttle_initial' expects an integer in the range "
		"of 1 to 99"),
	REFUSED("cpu-throttle-initial", "100",
		"Parameter 'cpu_throttle_initial' expects an integer in the range "
		"of 1 to 99"),
	REFUSED("cpu-throttle-increment", "0",
		"Parameter 'cpu_throttle_increment' expects an integer in the range "
		"of 1 to 99"),
	REFUSED("max-cpu-throttle", "100",
		"Parameter 'max_cpu_throttle' expects an integer in the range of "
		"cpu_throttle_initial to 99"),
	/* below cpu-throttle-initial (20) */
	REFUSED("max-cpu-throttle", "19",
		"Parameter 'max_cpu_throttle' expects an integer in the range of "
		"cpu_throttle_initial to 99"),
	STORES("max-cpu-throttle", "20", 20),
	/* the merged copy is checked: raising initial above max fails */
	REFUSED("cpu-throttle-initial", "21",
		"Parameter 'max_cpu_throttle' expects an integer in the range of "
		"cpu_throttle_initial to 99"),
	REFUSED("multifd-channels", "0",
		"Parameter 'multifd_channels' expects a value between 1 and 255"),
	REFUSED("multifd-zlib-level", "10",
		"Parameter 'multifd_zlib_level' expects a value between 0 and 9"),
	REFUSED("multifd-zstd-level", "21",
		"Parameter 'multifd_zstd_level' expects a value between 0 and 20"),
	STORES("multifd-zstd-level", "20", 20),
	REFUSED("announce-initial", "100001",
		"Parameter 'announce_initial' expects a value between 0 and 100000"),
	REFUSED("announce-max", "100001",
		"Parameter 'announce_max' expects a value between 0 and 100000"),
	REFUSED("announce-rounds", "1001",
		"Parameter 'announce_rounds' expects a value between 0 and 1000"),
	REFUSED("announce-step", "0",
		"Parameter 'announce_step' expects a value between 0 and 10000"),
	REFUSED("announce-step", "10001",
		"Parameter 'announce_step' expects a value between 0 and 10000"),
	/* announce-* are sizes in HMP */
	STORES("announce-initial", "1k", 1024),
	REFUSED("x-checkpoint-delay", "4294967296",
		"Parameter 'x-checkpoint-delay' expects uint32_t"),
	STORES("x-checkpoint-delay", "4294967295", 4294967295u),
	REFUSED("multifd-compression", "lz4",
		"Parameter 'multifd-compression' does not accept value 'lz4'"),
	STORES("multifd-compression", "zstd", 2),
	STORES("max-postcopy-bandwidth", "1g", 1ULL << 30),
	/* above INT64_MAX: HMP's own limit for these two */
	REFUSED("xbzrle-cache-size", "8e", "Invalid size 8e"),
	REFUSED("max-bandwidth", "8e", "Invalid size 8e"),
	STORES("max-bandwidth", "7e", 7ULL << 60),
	REFUSED("downtime-limit", "16e",
		"Value '16e' is out of range for parameter 'downtime-limit'"),
	STORES("downtime-limit", "2000000", 2000000),

	/* HMP's booleans: QEMU's four spellings each way, nothing else */
	STORES("cpu-throttle-tailslow", "on", 1),
	STORES("cpu-throttle-tailslow", "off", 0),
	STORES("cpu-throttle-tailslow", "yes", 1),
	STORES("cpu-throttle-tailslow", "no", 0),
	STORES("cpu-throttle-tailslow", "true", 1),
	STORES("cpu-throttle-tailslow", "false", 0),
	STORES("cpu-throttle-tailslow", "y", 1),
	STORES("cpu-throttle-tailslow", "n", 0),
	REFUSED("block-incremental", "ON",
		"Parameter 'block-incremental' expects 'on' or 'off'"),
	REFUSED("block-incremental", "1",
		"Parameter 'block-incremental' expects 'on' or 'off'"),
	REFUSED("block-incremental", "0",
		"Parameter 'block-incremental' expects 'on' or 'off'"),
	REFUSED("block-incremental", "",
		"Parameter 'block-incremental' expects 'on' or 'off'"),
	REFUSED("block-incremental", "of",
		"Parameter 'block-incremental' expects 'on' or 'off'"),
	REFUSED("block-incremental", "Yes",
		"Parameter 'block-incremental' expects 'on' or 'off'"),
	SHOWS("block-incremental", "on", "block-incremental: on"),

	/* strings, quoted in info; "" again is the default */
	SHOWS("tls-creds", "tls0", "tls-creds: 'tls0'"),
	SHOWS("tls-hostname", "dst.example",
		"tls-hostname: 'dst.example'"),
	SHOWS("tls-authz", "authz0", "tls-authz: 'authz0'"),
	SHOWS("tls-creds", "", "tls-creds: ''"),
	SHOWS("multifd-compression", "zlib", "multifd-compression: zlib"),

	/* qmig's own: a line after QEMU's while not at the default */
	REFUSED("x-xbzrle-bulk-fill", "maybe",
		"Parameter 'x-xbzrle-bulk-fill' expects 'on' or 'off'"),
	SHOWS("x-xbzrle-bulk-fill", "off", "x-xbzrle-bulk-fill: off"),
	STORES("x-xbzrle-bulk-fill", "yes", 1),
	REFUSED("x-compress-engine", "gzip",
		"Parameter 'x-compress-engine' does not accept value 'gzip'"),
	SHOWS("x-compress-engine", "igzip", "x-compress-engine: igzip"),
	STORES("x-compress-engine", "auto", 0),
	REFUSED("x-decompress-engine", "ZLIB",
		"Parameter 'x-decompress-engine' does not accept value 'ZLIB'"),
	SHOWS("x-decompress-engine", "zlib", "x-decompress-engine: zlib"),
	STORES("x-decompress-engine", "libdeflate", 0),
};

/*
 * Whether `info migrate_parameters` has a line starting with prefix
 * (whole: the line is exactly prefix).
 */
static bool info_has(struct mig_options *o, const char *prefix, bool whole)
{
	struct strbuf out;
	size_t n = strlen(prefix);
	bool found = false;

	strbuf_init(&out);
	mig_options_format_params(o, &out);
	for (const char *at = out.buf; at && *at;) {
		const char *nl = strchr(at, '\n');

		assert_non_null(nl); /* every line ends in '\n' */
		if (!strncmp(at, prefix, n) && (!whole || at + n == nl))
			found = true;
		at = nl + 1;
	}
	strbuf_release(&out);
	return found;
}

static void run_set_case(struct mig_options *o, size_t k,
			 const struct set_case *c)
{
	uint64_t gen = mig_options_generation(o);
	char *msg = set_param(o, c->name, c->value);
	int param = mig_param_lookup(c->name, false);

	if (c->error) {
		if (!msg)
			fail_msg("row %zu %s %s: accepted, expected '%s'", k,
				 c->name, c->value, c->error);
		if (strcmp(msg, c->error))
			fail_msg("row %zu %s %s:\n got: '%s'\nwant: '%s'", k,
				 c->name, c->value, msg, c->error);
		free(msg);
		assert_int_equal(mig_options_generation(o), gen);
		return;
	}
	if (msg)
		fail_msg("row %zu %s %s: refused: %s", k, c->name, c->value,
			 msg);
	if (c->shows && !info_has(o, c->shows, true))
		fail_msg("row %zu: no line '%s'", k, c->shows);
	if (!c->shows && mig_options_num(o, param) != c->num)
		fail_msg("row %zu %s %s: %" PRIu64 ", want %" PRIu64, k,
			 c->name, c->value, mig_options_num(o, param), c->num);
}

static void test_set_cases(void **state)
{
	struct mig_options *o = *state;

	for (size_t k = 0; k < ARRAY_SIZE(set_cases); k++)
		run_set_case(o, k, &set_cases[k]);
}

/*
 * What QMP's migrate-set-parameters hands over after its type checks: a
 * member straight into the store, which checks the whole merged set.
 */
struct update_case {
	enum mig_param param;
	uint64_t num;
	const char *error; /* NULL: accepted */
};

static const struct update_case update_cases[] = {
	{ MIG_PARAM_MAX_BANDWIDTH, UINT64_MAX, NULL }, /* QMP -1 */
	{ MIG_PARAM_DOWNTIME_LIMIT, UINT64_MAX,
	  "Parameter 'downtime_limit' expects an integer in the range of 0 to "
	  "(2000 * 1000) ms" },
	{ MIG_PARAM_COMPRESS_LEVEL, 256,
	  "Parameter 'compress-level' expects uint8_t" },
	{ MIG_PARAM_CPU_THROTTLE_TAILSLOW, 2,
	  "Parameter 'cpu-throttle-tailslow' expects boolean" },
	{ MIG_PARAM_MULTIFD_COMPRESSION, 3,
	  "Parameter 'multifd-compression' does not accept value '3'" },
	{ MIG_PARAM_X_COMPRESS_ENGINE, 4,
	  "Parameter 'x-compress-engine' does not accept value '4'" },
	{ MIG_PARAM_X_COMPRESS_ENGINE, 3, NULL },
};

static char *update_error(struct mig_options *o, enum mig_param param,
			  uint64_t num)
{
	struct mig_param_update u;
	struct error *err = NULL;
	char *msg = NULL;

	mig_param_update_init(&u);
	u.has[param] = true;
	u.num[param] = num;
	if (!mig_options_apply_params(o, &u, &err)) {
		assert_non_null(err);
		msg = strdup(err->msg);
		error_free(err);
	}
	mig_param_update_release(&u);
	return msg;
}

static void test_update_cases(void **state)
{
	struct mig_options *o = *state;

	for (size_t k = 0; k < ARRAY_SIZE(update_cases); k++) {
		const struct update_case *c = &update_cases[k];
		uint64_t before = mig_options_num(o, c->param);
		char *msg = update_error(o, c->param, c->num);

		if (!c->error && msg)
			fail_msg("row %zu: refused: %s", k, msg);
		if (c->error && (!msg || strcmp(msg, c->error)))
			fail_msg("row %zu:\n got: '%s'\nwant: '%s'", k,
				 msg ? msg : "(accepted)", c->error);
		assert_int_equal(mig_options_num(o, c->param),
				 c->error ? before : c->num);
		free(msg);
	}
}

/*
 * A capability update on the store the rows before left (or a fresh one):
 * `on` and `off` name the capabilities it sets, param is an HMP parameter
 * set first ("name value").
 */
struct cap_case {
	bool fresh;
	const char *param;
	const char *on, *off;
	const char *error; /* NULL: accepted */
};

#define ZERO_COPY_TEXT \
	"Zero copy only available for non-compressed non-TLS multifd migration"

/* QEMU 7.2's migrate_caps_check() on the resulting set, then qmig's
 * refusals. */
static const struct cap_case cap_cases[] = {
	/* multifd vs compress: QEMU's text while compress is on */
	{ true, NULL, "compress", NULL, NULL },
	{ false, NULL, "multifd", NULL,
	  "Multifd is not compatible with compress" },
	/* ... on the resulting set: both in one update */
	{ true, NULL, "compress multifd", NULL,
	  "Multifd is not compatible with compress" },
	/* ... and turning compress off in the same update clears it */
	{ false, NULL, "multifd", "compress", NULL },
	{ false, NULL, "postcopy-preempt", NULL,
	  "Postcopy preempt requires postcopy-ram" },
	{ false, NULL, "postcopy-preempt postcopy-ram compress", NULL,
	  "Postcopy preempt not compatible with compress" },
	{ false, NULL, "postcopy-preempt postcopy-ram", "compress",
	  "Capability 'postcopy-ram' is not supported by qmig" },
	{ true, NULL, "postcopy-ram x-ignore-shared", NULL,
	  "Postcopy is not compatible with ignore-shared" },
	{ true, NULL, "zero-copy-send", NULL, ZERO_COPY_TEXT },
	/* with multifd it passes */
	{ true, NULL, "zero-copy-send multifd", NULL, NULL },
	/* ... unless TLS or xbzrle is on */
	{ false, NULL, "zero-copy-send multifd xbzrle", NULL, ZERO_COPY_TEXT },
	{ true, "tls-creds tls0", "zero-copy-send multifd", NULL,
	  ZERO_COPY_TEXT },
	{ true, "multifd-compression zlib", "zero-copy-send multifd", NULL,
	  ZERO_COPY_TEXT },
};

/* Sets each capability named in the space-separated list to state. */
static void cap_list(struct mig_cap_update *u, const char *list, bool state)
{
	char buf[128], *save = NULL;

	if (!list)
		return;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		int cap = mig_cap_lookup(w);

		assert_true(cap >= 0);
		u->set[cap] = true;
		u->state[cap] = state;
	}
}

static void test_cap_cases(void **state)
{
	struct mig_options *o = *state;

	for (size_t k = 0; k < ARRAY_SIZE(cap_cases); k++) {
		const struct cap_case *c = &cap_cases[k];
		struct mig_cap_update u = { 0 };

		if (c->fresh) {
			mig_options_release(o);
			mig_options_init(o);
		}
		if (c->param) {
			char name[64], *value;

			snprintf(name, sizeof(name), "%s", c->param);
			value = strchr(name, ' ');
			*value++ = '\0';
			assert_null(set_param(o, name, value));
		}
		cap_list(&u, c->on, true);
		cap_list(&u, c->off, false);
		if (!c->error) {
			char *msg = cap_error(o, &u);

			if (msg)
				fail_msg("row %zu: refused: %s", k, msg);
			continue;
		}
		expect_cap_error(o, &u, c->error);
	}
}

/* ---- what every row of the table must satisfy ---- */

static void test_tables(void **state)
{
	(void)state;
	/* Every row filled, names unique and found by the lookups. */
	for (int i = 0; i < MIG_CAP__COUNT; i++) {
		const struct mig_cap_info *c = &mig_cap_table[i];

		assert_non_null(c->name);
		assert_int_equal(mig_cap_lookup(c->name), i);
		if (c->unsupported) {
			char want[128];

			snprintf(want, sizeof(want),
				 "Capability '%s' is not supported by qmig",
				 c->name);
			assert_string_equal(c->unsupported, want);
		}
	}
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];

		if (!p->name)
			fail_msg("mig_param_table[%d] has no row", i);
		assert_non_null(p->hmp_unit);
		assert_int_equal(mig_param_lookup(p->name, false), i);
		assert_true(p->min <= p->max);
		assert_true(p->max <= mig_param_types[p->type].max ||
			    p->type == MIG_PARAM_TYPE_STR);
		if (p->check != MIG_CHECK_NONE)
			assert_non_null(p->check_text);
		if (p->type == MIG_PARAM_TYPE_STR)
			assert_non_null(p->default_str);
		else
			assert_true(p->default_num >= p->min &&
				    p->default_num <= p->max);
		if (p->type == MIG_PARAM_TYPE_ENUM) {
			uint64_t n = 0;

			assert_non_null(p->enum_names);
			while (p->enum_names[n])
				n++;
			assert_int_equal(p->max, n - 1);
		}
		/* qmig's own parameters are the x- rows after QEMU's */
		if (p->shown == MIG_SHOWN_WHEN_SET)
			assert_true(!strncmp(p->name, "x-", 2) &&
				    p->qmp_pos > QEMU_PARAM_COUNT);
		else
			assert_true(p->qmp_pos <= QEMU_PARAM_COUNT);
	}
}

/* Every row has its own place in query-migrate-parameters. */
static void test_qmp_positions(void **state)
{
	int at[MIG_PARAM__COUNT + 1];

	(void)state;
	for (int k = 0; k <= MIG_PARAM__COUNT; k++)
		at[k] = -1;
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		unsigned pos = mig_param_table[i].qmp_pos;

		if (pos < 1 || pos > MIG_PARAM__COUNT)
			fail_msg("%s: qmp_pos %u is not in 1..%d",
				 mig_param_table[i].name, pos,
				 MIG_PARAM__COUNT);
		if (at[pos] >= 0)
			fail_msg("%s and %s share qmp_pos %u",
				 mig_param_table[at[pos]].name,
				 mig_param_table[i].name, pos);
		at[pos] = i;
	}
}

/* QEMU's underscore spelling of a row's name, for its range errors. */
static void underscored(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s", name);
	for (char *c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
}

/*
 * Each MIG_CHECK_RANGE row refuses min - 1 and max + 1 (where the type
 * holds them) with its own text: so every such row is in QEMU's check
 * order (options_check.c), which nothing else would notice.
 */
static void test_rows_range_checks(void **state)
{
	struct mig_options *o = *state;

	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];
		char uname[64], want[256];

		if (p->check != MIG_CHECK_RANGE &&
		    p->check != MIG_CHECK_POW2)
			continue;
		underscored(p->name, uname, sizeof(uname));
		snprintf(want, sizeof(want), "Parameter '%s' expects %s", uname,
			 p->check_text);
		if (p->min > 0) {
			char *msg = update_error(o, i, p->min - 1);

			if (!msg || strcmp(msg, want))
				fail_msg("%s = min - 1: '%s', want '%s'",
					 p->name, msg ? msg : "accepted", want);
			free(msg);
		}
		if (p->check == MIG_CHECK_RANGE &&
		    p->max < mig_param_types[p->type].max) {
			char *msg = update_error(o, i, p->max + 1);

			if (!msg || strcmp(msg, want))
				fail_msg("%s = max + 1: '%s', want '%s'",
					 p->name, msg ? msg : "accepted", want);
			free(msg);
		}
		assert_null(update_error(o, i, p->min));
		assert_null(update_error(o, i, p->default_num));
	}
}

/* Each numeric type refuses what it cannot hold, naming the type. */
static void test_rows_type_bounds(void **state)
{
	struct mig_options *o = *state;

	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];
		const struct mig_param_type_ops *t = mig_param_type_of(i);
		char want[128];
		char *msg;

		if (t->is_str || p->type == MIG_PARAM_TYPE_ENUM ||
		    t->max == UINT64_MAX)
			continue;
		snprintf(want, sizeof(want), "Parameter '%s' expects %s",
			 p->name, t->qmp_name);
		msg = update_error(o, i, t->max + 1);
		if (!msg || strcmp(msg, want))
			fail_msg("%s = %" PRIu64 ": '%s', want '%s'", p->name,
				 t->max + 1, msg ? msg : "accepted", want);
		free(msg);
	}
}

/*
 * info migrate_parameters shows QEMU's rows; a MIG_SHOWN_WHEN_SET row
 * appears, last, once not at its default and goes again at the default.
 */
static void test_rows_shown(void **state)
{
	struct mig_options *o = *state;
	struct strbuf out;

	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];
		char line[128];

		snprintf(line, sizeof(line), "%s: ", p->name);
		if (info_has(o, line, false) != (p->shown == MIG_SHOWN_HMP_QMP))
			fail_msg("%s: shown %d, but info %s it", p->name,
				 p->shown, info_has(o, line, false) ? "has"
								    : "lacks");
		if (p->shown != MIG_SHOWN_WHEN_SET)
			continue;
		assert_null(update_error(o, i, p->default_num ? 0 : 1));
		strbuf_init(&out);
		mig_options_format_params(o, &out);
		assert_true(strlen(out.buf) > strlen(fresh_params));
		assert_memory_equal(out.buf, fresh_params,
				    strlen(fresh_params));
		assert_true(!strncmp(out.buf + strlen(fresh_params), line,
				     strlen(line)));
		strbuf_release(&out);
		assert_null(update_error(o, i, p->default_num));
		strbuf_init(&out);
		mig_options_format_params(o, &out);
		assert_string_equal(out.buf, fresh_params);
		strbuf_release(&out);
	}
}

/* ---- the store ---- */

static void test_defaults_match_info_fresh(void **state)
{
	struct mig_options *o = *state;
	struct strbuf out;

	strbuf_init(&out);
	mig_options_format_caps(o, &out);
	assert_string_equal(out.buf, fresh_caps);
	strbuf_reset(&out);
	mig_options_format_params(o, &out);
	assert_string_equal(out.buf, fresh_params);
	strbuf_release(&out);

	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		if (!mig_param_type_of(i)->is_str)
			assert_int_equal(mig_options_num(o, i),
					 mig_param_table[i].default_num);
	assert_int_equal(mig_options_generation(o), 0);
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		assert_false(mig_options_cap(o, i));
}

static void test_fixture_set_parameters_and_capabilities(void **state)
{
	(void)state;
	replay(set_steps, ARRAY_SIZE(set_steps));
}

static void test_fixture_errors(void **state)
{
	(void)state;
	replay(error_steps, ARRAY_SIZE(error_steps));
}

static void test_supported_caps(void **state)
{
	struct mig_options *o = *state;
	static const enum mig_cap ok[] = {
		MIG_CAP_XBZRLE, MIG_CAP_COMPRESS, MIG_CAP_EVENTS,
		MIG_CAP_RETURN_PATH, MIG_CAP_PAUSE_BEFORE_SWITCHOVER,
		MIG_CAP_LATE_BLOCK_ACTIVATE, MIG_CAP_AUTO_CONVERGE,
	};
	struct mig_cap_update u = { 0 };
	char *msg;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_null(mig_cap_table[ok[i]].unsupported);
		u.set[ok[i]] = u.state[ok[i]] = true;
	}
	/* all seven at once */
	msg = cap_error(o, &u);
	assert_null(msg);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_true(mig_options_cap(o, ok[i]));

	/* multifd too, once compress is off (they exclude each other) */
	struct mig_cap_update mf = { 0 };
	assert_null(mig_cap_table[MIG_CAP_MULTIFD].unsupported);
	mf.set[MIG_CAP_COMPRESS] = true;
	mf.set[MIG_CAP_MULTIFD] = mf.state[MIG_CAP_MULTIFD] = true;
	msg = cap_error(o, &mf);
	assert_null(msg);
	assert_true(mig_options_cap(o, MIG_CAP_MULTIFD));
	mf.state[MIG_CAP_MULTIFD] = false;
	assert_null(cap_error(o, &mf));

	/* every other one refused alone, naming it; off is always fine */
	for (int i = 0; i < MIG_CAP__COUNT; i++) {
		struct mig_cap_update one = { 0 };
		char want[128];

		if (!mig_cap_table[i].unsupported)
			continue;
		one.set[i] = true;
		one.state[i] = false;
		msg = cap_error(o, &one);
		assert_null(msg);

		one.state[i] = true;
		if (i == MIG_CAP_POSTCOPY_PREEMPT || i == MIG_CAP_ZERO_COPY_SEND ||
		    i == MIG_CAP_MULTIFD)
			continue; /* QEMU's cross-checks answer first: cap_cases */
		snprintf(want, sizeof(want),
			 "Capability '%s' is not supported by qmig",
			 mig_cap_table[i].name);
		expect_cap_error(o, &one, want);
	}
}

static void test_caps_all_or_nothing(void **state)
{
	struct mig_options *o = *state;
	struct mig_cap_update u = { 0 };

	/* one good, one refused: neither changes */
	u.set[MIG_CAP_XBZRLE] = u.state[MIG_CAP_XBZRLE] = true;
	u.set[MIG_CAP_POSTCOPY_RAM] = u.state[MIG_CAP_POSTCOPY_RAM] = true;
	expect_cap_error(o, &u,
			 "Capability 'postcopy-ram' is not supported by qmig");
	assert_false(mig_options_cap(o, MIG_CAP_XBZRLE));

	u.set[MIG_CAP_POSTCOPY_RAM] = false;
	assert_null(cap_error(o, &u));
	assert_true(mig_options_cap(o, MIG_CAP_XBZRLE));
	assert_int_equal(mig_options_generation(o), 1);

	/* an empty update is a successful commit */
	memset(&u, 0, sizeof(u));
	assert_null(cap_error(o, &u));
	assert_int_equal(mig_options_generation(o), 2);
}

static void test_params_all_or_nothing(void **state)
{
	struct mig_options *o = *state;
	struct mig_param_update u;
	struct error *err = NULL;
	struct strbuf before, after;

	strbuf_init(&before);
	strbuf_init(&after);
	mig_options_format_params(o, &before);

	mig_param_update_init(&u);
	assert_true(mig_param_parse_hmp(MIG_PARAM_COMPRESS_LEVEL, "5", &u,
					NULL));
	assert_true(mig_param_parse_hmp(MIG_PARAM_TLS_CREDS, "tls0", &u,
					NULL));
	assert_true(mig_param_parse_hmp(MIG_PARAM_XBZRLE_CACHE_SIZE, "3m", &u,
					NULL));
	assert_false(mig_options_apply_params(o, &u, &err));
	assert_string_equal(err->msg, "Parameter 'xbzrle_cache_size' expects "
			    "a power of two no less than the target page size");
	error_free(err);
	err = NULL;
	mig_options_format_params(o, &after);
	assert_string_equal(before.buf, after.buf);
	assert_int_equal(mig_options_generation(o), 0);

	/* fixed, the whole set lands at once */
	assert_true(mig_param_parse_hmp(MIG_PARAM_XBZRLE_CACHE_SIZE, "4m", &u,
					NULL));
	assert_true(mig_options_apply_params(o, &u, &err));
	assert_null(err);
	assert_int_equal(mig_options_generation(o), 1);
	assert_int_equal(mig_options_num(o, MIG_PARAM_COMPRESS_LEVEL), 5);
	assert_int_equal(mig_options_num(o, MIG_PARAM_XBZRLE_CACHE_SIZE),
			 4 << 20);
	{
		char *s = mig_options_str_dup(o, MIG_PARAM_TLS_CREDS);

		assert_string_equal(s, "tls0");
		free(s);
	}
	mig_param_update_release(&u);
	strbuf_release(&before);
	strbuf_release(&after);

	/* a failed parse leaves the update untouched */
	mig_param_update_init(&u);
	assert_false(mig_param_parse_hmp(MIG_PARAM_COMPRESS_LEVEL, "x", &u,
					 NULL));
	assert_false(u.has[MIG_PARAM_COMPRESS_LEVEL]);
	mig_param_update_release(&u);

	/* a string member given as NULL (QMP null) is stored as "" */
	mig_param_update_init(&u);
	mig_param_update_set_str(&u, MIG_PARAM_TLS_CREDS, NULL);
	assert_true(mig_options_apply_params(o, &u, NULL));
	{
		char *s = mig_options_str_dup(o, MIG_PARAM_TLS_CREDS);

		assert_string_equal(s, "");
		free(s);
	}
	mig_param_update_release(&u);
}

/* mig_param_lookup: name, accept_underscores, the row found (-1: none) */
static const struct {
	const char *name;
	bool underscores;
	int want;
} lookup_cases[] = {
	{ "compress_level", false, -1 },
	{ "compress_level", true, MIG_PARAM_COMPRESS_LEVEL },
	{ "x_checkpoint_delay", true, MIG_PARAM_X_CHECKPOINT_DELAY },
	{ "x_compress_engine", true, MIG_PARAM_X_COMPRESS_ENGINE },
	{ "compress-level", true, MIG_PARAM_COMPRESS_LEVEL },
	/* only '_' for '-', never case or other characters */
	{ "COMPRESS_LEVEL", true, -1 },
	{ "compress_level_", true, -1 },
	{ "compress", true, -1 },
	{ "", true, -1 },
};

static void test_underscores(void **state)
{
	struct mig_options *o = *state;
	struct error *err = NULL;

	for (size_t k = 0; k < ARRAY_SIZE(lookup_cases); k++)
		if (mig_param_lookup(lookup_cases[k].name,
				     lookup_cases[k].underscores) !=
		    lookup_cases[k].want)
			fail_msg("lookup '%s' (%d) != %d", lookup_cases[k].name,
				 lookup_cases[k].underscores,
				 lookup_cases[k].want);
	/* capabilities are always exact */
	assert_int_equal(mig_cap_lookup("auto_converge"), -1);
	assert_int_equal(mig_cap_lookup("Xbzrle"), -1);
	assert_int_equal(mig_cap_lookup("xbzrle"), MIG_CAP_XBZRLE);

	assert_true(mig_options_set_param_hmp(o, "compress_level", "7", true,
					      &err));
	assert_int_equal(mig_options_num(o, MIG_PARAM_COMPRESS_LEVEL), 7);
	/* errors still name the parameter as QEMU does */
	assert_false(mig_options_set_param_hmp(o, "compress_level", "300",
					       true, &err));
	assert_string_equal(err->msg,
			    "Parameter 'compress-level' expects uint8_t");
	error_free(err);
	err = NULL;
	assert_false(mig_options_set_param_hmp(o, "block_bitmap_mapping", "x",
					       true, &err));
	assert_string_equal(err->msg, "The block-bitmap-mapping parameter "
			    "can only be set through QMP");
	error_free(err);
	err = NULL;
	assert_false(mig_options_set_param_hmp(o, "compress_level", "7",
					       false, &err));
	assert_string_equal(err->msg,
			    "invalid parameter value: compress_level");
	error_free(err);
}

static void test_lookup_hmp_errors(void **state)
{
	struct error *err = NULL;

	(void)state;
	assert_int_equal(mig_cap_lookup_hmp("foo", &err), -1);
	assert_string_equal(err->msg, "invalid parameter value: foo");
	error_free(err);
	err = NULL;
	assert_int_equal(mig_cap_lookup_hmp("events", &err), MIG_CAP_EVENTS);
	assert_null(err);
	assert_int_equal(mig_param_lookup_hmp("foo", true, NULL), -1);
}

static void test_snapshot(void **state)
{
	struct mig_options *o = *state;
	struct mig_options copy;
	struct strbuf a, b;

	assert_null(set_param(o, "tls-creds", "tls0"));
	assert_true(mig_options_set_cap_hmp(o, "xbzrle", true, NULL));
	mig_options_snapshot(o, &copy);
	strbuf_init(&a);
	strbuf_init(&b);
	mig_options_format_params(o, &a);
	mig_options_format_params(&copy, &b);
	assert_string_equal(a.buf, b.buf);
	assert_true(mig_options_cap(&copy, MIG_CAP_XBZRLE));
	assert_int_equal(mig_options_generation(&copy),
			 mig_options_generation(o));
	/* independent: changing the store leaves the copy alone */
	assert_null(set_param(o, "tls-creds", "other"));
	strbuf_reset(&b);
	mig_options_format_params(&copy, &b);
	assert_non_null(strstr(b.buf, "\ntls-creds: 'tls0'\n"));
	mig_options_release(&copy);
	strbuf_release(&a);
	strbuf_release(&b);
}

/*
 * What a migration that read the options at some generation has to act
 * on: the apply bits of the values changed since, nothing for a set to
 * the same value or a refused set.
 */
static void test_applies_since(void **state)
{
	struct mig_options *o = *state;
	static const struct {
		const char *name, *value;
		unsigned want; /* bits since the previous row */
	} rows[] = {
		{ "compress-threads", "4", MIG_APPLY_COMPRESS_POOL },
		{ "compress-threads", "4", 0 },       /* the same value */
		{ "compress-level", "6", MIG_APPLY_COMPRESS_POOL },
		{ "xbzrle-cache-size", "1m", MIG_APPLY_XBZRLE_CACHE },
		{ "xbzrle-cache-size", "3m", 0 },     /* refused */
		{ "max-bandwidth", "1g", 0 },         /* read where used */
		{ "compress-wait-thread", "off", 0 }, /* copied, no work */
		{ "tls-creds", "tls0", 0 },
		{ "tls-creds", "tls0", 0 },
	};
	uint64_t first = mig_options_generation(o);

	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		uint64_t before = mig_options_generation(o);
		char *msg = set_param(o, rows[k].name, rows[k].value);

		free(msg);
		if (mig_options_applies_since(o, before) != rows[k].want)
			fail_msg("row %zu (%s %s): bits %#x, want %#x", k,
				 rows[k].name, rows[k].value,
				 mig_options_applies_since(o, before),
				 rows[k].want);
	}
	assert_int_equal(mig_options_applies_since(o, first),
			 MIG_APPLY_COMPRESS_POOL | MIG_APPLY_XBZRLE_CACHE);
	assert_int_equal(mig_options_applies_since(
				 o, mig_options_generation(o)), 0);
}

/* Every row's apply bits come out when (only) its value changes. */
static void test_apply_column(void **state)
{
	struct mig_options *o = *state;

	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];
		struct mig_param_update u;
		uint64_t before = mig_options_generation(o);

		if (mig_param_type_of(i)->is_str)
			continue;
		mig_param_update_init(&u);
		u.has[i] = true;
		/* another valid value: the default's neighbour in range */
		u.num[i] = p->default_num < p->max ? p->default_num + 1
						   : p->default_num - 1;
		if (p->check == MIG_CHECK_POW2)
			u.num[i] = p->default_num * 2;
		if (!mig_options_apply_params(o, &u, NULL))
			fail_msg("%s: %" PRIu64 " refused", p->name, u.num[i]);
		assert_int_equal(mig_options_applies_since(o, before),
				 p->apply);
		mig_param_update_release(&u);
	}
}

/* Readers never see half an update while a writer commits. */
struct race {
	struct mig_options *o;
	int rounds;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		struct mig_param_update u;

		mig_param_update_init(&u);
		u.has[MIG_PARAM_COMPRESS_THREADS] = true;
		u.num[MIG_PARAM_COMPRESS_THREADS] = 1 + i % 200;
		u.has[MIG_PARAM_DECOMPRESS_THREADS] = true;
		u.num[MIG_PARAM_DECOMPRESS_THREADS] = 1 + i % 200;
		if (!mig_options_apply_params(r->o, &u, NULL))
			abort();
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct mig_options *o = *state;
	struct race r = { o, 2000 };
	pthread_t t;

	assert_null(set_param(o, "decompress-threads", "8"));
	assert_int_equal(pthread_create(&t, NULL, race_writer, &r), 0);
	for (int i = 0; i < 2000; i++) {
		struct mig_options copy;

		mig_options_snapshot(o, &copy);
		assert_int_equal(copy.num[MIG_PARAM_COMPRESS_THREADS],
				 copy.num[MIG_PARAM_DECOMPRESS_THREADS]);
		mig_options_release(&copy);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(mig_options_generation(o), 2001);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_store, teardown_store)
	const struct CMUnitTest tests[] = {
		/* the fixtures, replayed */
		T(test_defaults_match_info_fresh),
		T(test_fixture_set_parameters_and_capabilities),
		T(test_fixture_errors),
		/* the case tables */
		T(test_set_cases),
		T(test_update_cases),
		T(test_cap_cases),
		/* every row of the table */
		T(test_tables),
		T(test_qmp_positions),
		T(test_rows_range_checks),
		T(test_rows_type_bounds),
		T(test_rows_shown),
		T(test_apply_column),
		/* the store */
		T(test_supported_caps),
		T(test_caps_all_or_nothing),
		T(test_params_all_or_nothing),
		T(test_underscores),
		T(test_lookup_hmp_errors),
		T(test_snapshot),
		T(test_applies_since),
		T(test_concurrent_readers),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
