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
		"tls-authz: ''\n" },
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
		"postcopy-preempt: off\n" },
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
	/* qmig: multifd is not implemented (QEMU 7.2: "") */
	{ "migrate_set_capability multifd on",
	  "Error: Capability 'multifd' is not supported by qmig\n" },
	/* qmig: multifd could not be turned on, so compress can (QEMU 7.2: "Error: Multifd is not compatible with compress\n") */
	{ "migrate_set_capability compress on",
	  "" },
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
	/* qmig: auto-converge is not implemented (QEMU 7.2: "") */
	{ "migrate_set_capability auto-converge on",
	  "Error: Capability 'auto-converge' is not supported by qmig\n" },
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
		"tls-authz: ''\n" },
	/* qmig: auto-converge stayed off (QEMU 7.2 shows it on) */
	{ "info migrate_capabilities",
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
		"postcopy-preempt: off\n" },
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

static void expect_param_error(struct mig_options *o, const char *name,
			       const char *value, const char *want)
{
	uint64_t gen = mig_options_generation(o);
	char *msg = set_param(o, name, value);

	if (!msg)
		fail_msg("%s %s: accepted, expected '%s'", name, value, want);
	if (strcmp(msg, want))
		fail_msg("%s %s:\n got: '%s'\nwant: '%s'", name, value, msg,
			 want);
	free(msg);
	assert_int_equal(mig_options_generation(o), gen);
}

static void expect_param_value(struct mig_options *o, const char *name,
			       const char *value, enum mig_param param,
			       uint64_t want)
{
	char *msg = set_param(o, name, value);

	if (msg)
		fail_msg("%s %s: refused: %s", name, value, msg);
	assert_int_equal(mig_options_num(o, param), want);
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

/* ---- tests ---- */

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

	assert_int_equal(mig_options_num(o, MIG_PARAM_MULTIFD_ZLIB_LEVEL), 1);
	assert_int_equal(mig_options_num(o, MIG_PARAM_MULTIFD_ZSTD_LEVEL), 1);
	assert_int_equal(mig_options_generation(o), 0);
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		assert_false(mig_options_cap(o, i));
}

static void test_fixture_set_parameters_and_capabilities(void **state)
{
	(void)state;
	replay(set_steps, sizeof(set_steps) / sizeof(set_steps[0]));
}

static void test_fixture_errors(void **state)
{
	(void)state;
	replay(error_steps, sizeof(error_steps) / sizeof(error_steps[0]));
}

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

		assert_non_null(p->name);
		assert_non_null(p->hmp_unit);
		assert_int_equal(mig_param_lookup(p->name, false), i);
		assert_true(p->min <= p->max);
		if (p->check != MIG_CHECK_NONE)
			assert_non_null(p->check_text);
		if (p->type == MIG_PARAM_TYPE_STR)
			assert_non_null(p->default_str);
		else if (p->check == MIG_CHECK_RANGE ||
			 p->check == MIG_CHECK_POW2)
			assert_true(p->default_num >= p->min &&
				    p->default_num <= p->max);
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

static void test_supported_caps(void **state)
{
	struct mig_options *o = *state;
	static const enum mig_cap ok[] = {
		MIG_CAP_XBZRLE, MIG_CAP_COMPRESS, MIG_CAP_EVENTS,
		MIG_CAP_RETURN_PATH, MIG_CAP_PAUSE_BEFORE_SWITCHOVER,
		MIG_CAP_LATE_BLOCK_ACTIVATE,
	};
	struct mig_cap_update u = { 0 };
	char *msg;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_null(mig_cap_table[ok[i]].unsupported);
		u.set[ok[i]] = u.state[ok[i]] = true;
	}
	/* all six at once */
	msg = cap_error(o, &u);
	assert_null(msg);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(mig_options_cap(o, ok[i]));

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
			continue; /* QEMU's cross-checks answer first: below */
		snprintf(want, sizeof(want),
			 "Capability '%s' is not supported by qmig",
			 mig_cap_table[i].name);
		expect_cap_error(o, &one, want);
	}
}

static void test_cap_cross_checks(void **state)
{
	struct mig_options *o = *state;
	struct mig_cap_update u = { 0 };

	/* multifd vs compress: QEMU's text while compress is on */
	u.set[MIG_CAP_COMPRESS] = u.state[MIG_CAP_COMPRESS] = true;
	assert_null(cap_error(o, &u));
	memset(&u, 0, sizeof(u));
	u.set[MIG_CAP_MULTIFD] = u.state[MIG_CAP_MULTIFD] = true;
	expect_cap_error(o, &u, "Multifd is not compatible with compress");

	/* ... on the resulting set: both in one update */
	mig_options_release(o);
	mig_options_init(o);
	u.set[MIG_CAP_COMPRESS] = u.state[MIG_CAP_COMPRESS] = true;
	expect_cap_error(o, &u, "Multifd is not compatible with compress");

	/* ... and turning compress off in the same update clears it */
	u.state[MIG_CAP_COMPRESS] = false;
	expect_cap_error(o, &u, "Capability 'multifd' is not supported by qmig");

	memset(&u, 0, sizeof(u));
	u.set[MIG_CAP_POSTCOPY_PREEMPT] = u.state[MIG_CAP_POSTCOPY_PREEMPT] = true;
	expect_cap_error(o, &u, "Postcopy preempt requires postcopy-ram");
	u.set[MIG_CAP_POSTCOPY_RAM] = u.state[MIG_CAP_POSTCOPY_RAM] = true;
	u.set[MIG_CAP_COMPRESS] = u.state[MIG_CAP_COMPRESS] = true;
	expect_cap_error(o, &u, "Postcopy preempt not compatible with compress");
	u.state[MIG_CAP_COMPRESS] = false;
	expect_cap_error(o, &u,
			 "Capability 'postcopy-ram' is not supported by qmig");

	memset(&u, 0, sizeof(u));
	u.set[MIG_CAP_POSTCOPY_RAM] = u.state[MIG_CAP_POSTCOPY_RAM] = true;
	u.set[MIG_CAP_X_IGNORE_SHARED] = u.state[MIG_CAP_X_IGNORE_SHARED] = true;
	expect_cap_error(o, &u, "Postcopy is not compatible with ignore-shared");

	memset(&u, 0, sizeof(u));
	u.set[MIG_CAP_ZERO_COPY_SEND] = u.state[MIG_CAP_ZERO_COPY_SEND] = true;
	expect_cap_error(o, &u, "Zero copy only available for non-compressed "
			 "non-TLS multifd migration");
	/* with multifd it passes QEMU's check and meets qmig's refusal */
	u.set[MIG_CAP_MULTIFD] = u.state[MIG_CAP_MULTIFD] = true;
	expect_cap_error(o, &u, "Capability 'multifd' is not supported by qmig");
	/* ... unless TLS or xbzrle is on */
	u.set[MIG_CAP_XBZRLE] = u.state[MIG_CAP_XBZRLE] = true;
	expect_cap_error(o, &u, "Zero copy only available for non-compressed "
			 "non-TLS multifd migration");
	u.set[MIG_CAP_XBZRLE] = false;
	assert_null(set_param(o, "tls-creds", "tls0"));
	expect_cap_error(o, &u, "Zero copy only available for non-compressed "
			 "non-TLS multifd migration");
}

static void test_caps_all_or_nothing(void **state)
{
	struct mig_options *o = *state;
	struct mig_cap_update u = { 0 };

	/* one good, one refused: neither changes */
	u.set[MIG_CAP_XBZRLE] = u.state[MIG_CAP_XBZRLE] = true;
	u.set[MIG_CAP_AUTO_CONVERGE] = u.state[MIG_CAP_AUTO_CONVERGE] = true;
	expect_cap_error(o, &u,
			 "Capability 'auto-converge' is not supported by qmig");
	assert_false(mig_options_cap(o, MIG_CAP_XBZRLE));

	u.set[MIG_CAP_AUTO_CONVERGE] = false;
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
}

static void test_param_checks(void **state)
{
	struct mig_options *o = *state;

	/* migrate_params_check() texts beyond the fixtures */
	expect_param_error(o, "throttle-trigger-threshold", "0",
		"Parameter 'throttle_trigger_threshold' expects an integer in "
		"the range of 1 to 100");
	expect_param_error(o, "throttle-trigger-threshold", "101",
		"Parameter 'throttle_trigger_threshold' expects an integer in "
		"the range of 1 to 100");
	expect_param_value(o, "throttle-trigger-threshold", "100",
			   MIG_PARAM_THROTTLE_TRIGGER_THRESHOLD, 100);
	expect_param_error(o, "cpu-throttle-initial", "0",
		"Parameter 'cpu_throttle_initial' expects an integer in the "
		"range of 1 to 99");
	expect_param_error(o, "cpu-throttle-initial", "100",
		"Parameter 'cpu_throttle_initial' expects an integer in the "
		"range of 1 to 99");
	expect_param_error(o, "cpu-throttle-increment", "0",
		"Parameter 'cpu_throttle_increment' expects an integer in the "
		"range of 1 to 99");
	expect_param_error(o, "max-cpu-throttle", "100",
		"Parameter 'max_cpu_throttle' expects an integer in the range "
		"of cpu_throttle_initial to 99");
	/* below cpu-throttle-initial (20) */
	expect_param_error(o, "max-cpu-throttle", "19",
		"Parameter 'max_cpu_throttle' expects an integer in the range "
		"of cpu_throttle_initial to 99");
	expect_param_value(o, "max-cpu-throttle", "20",
			   MIG_PARAM_MAX_CPU_THROTTLE, 20);
	/* the merged copy is checked: raising initial above max fails */
	expect_param_error(o, "cpu-throttle-initial", "21",
		"Parameter 'max_cpu_throttle' expects an integer in the range "
		"of cpu_throttle_initial to 99");
	expect_param_error(o, "multifd-channels", "0",
		"Parameter 'multifd_channels' expects a value between 1 and 255");
	expect_param_error(o, "multifd-zlib-level", "10",
		"Parameter 'multifd_zlib_level' expects a value between 0 and 9");
	expect_param_error(o, "multifd-zstd-level", "21",
		"Parameter 'multifd_zstd_level' expects a value between 0 and "
		"20");
	expect_param_value(o, "multifd-zstd-level", "20",
			   MIG_PARAM_MULTIFD_ZSTD_LEVEL, 20);
	expect_param_error(o, "announce-initial", "100001",
		"Parameter 'announce_initial' expects a value between 0 and "
		"100000");
	expect_param_error(o, "announce-max", "100001",
		"Parameter 'announce_max' expects a value between 0 and 100000");
	expect_param_error(o, "announce-rounds", "1001",
		"Parameter 'announce_rounds' expects a value between 0 and 1000");
	expect_param_error(o, "announce-step", "0",
		"Parameter 'announce_step' expects a value between 0 and 10000");
	expect_param_error(o, "announce-step", "10001",
		"Parameter 'announce_step' expects a value between 0 and 10000");
	/* announce-* are sizes in HMP */
	expect_param_value(o, "announce-initial", "1k",
			   MIG_PARAM_ANNOUNCE_INITIAL, 1024);
	expect_param_error(o, "x-checkpoint-delay", "4294967296",
		"Parameter 'x-checkpoint-delay' expects uint32_t");
	expect_param_value(o, "x-checkpoint-delay", "4294967295",
			   MIG_PARAM_X_CHECKPOINT_DELAY, 4294967295u);
	expect_param_error(o, "multifd-compression", "lz4",
		"Parameter 'multifd-compression' does not accept value 'lz4'");
	expect_param_value(o, "multifd-compression", "zstd",
			   MIG_PARAM_MULTIFD_COMPRESSION, 2);
	expect_param_value(o, "max-postcopy-bandwidth", "1g",
			   MIG_PARAM_MAX_POSTCOPY_BANDWIDTH, 1ULL << 30);
	/* above INT64_MAX: HMP's own limit for these two */
	expect_param_error(o, "xbzrle-cache-size", "8e", "Invalid size 8e");
	expect_param_error(o, "max-bandwidth", "8e", "Invalid size 8e");
	expect_param_value(o, "max-bandwidth", "7e", MIG_PARAM_MAX_BANDWIDTH,
			   7ULL << 60);
	expect_param_error(o, "downtime-limit", "16e",
		"Value '16e' is out of range for parameter 'downtime-limit'");
	expect_param_value(o, "downtime-limit", "2000000",
			   MIG_PARAM_DOWNTIME_LIMIT, 2000000);
}

static void test_hmp_bools_and_strings(void **state)
{
	struct mig_options *o = *state;
	static const char *const on[] = { "on", "yes", "true", "y" };
	static const char *const off[] = { "off", "no", "false", "n" };
	static const char *const bad[] = { "ON", "1", "0", "", "of", "Yes" };
	struct strbuf out;

	for (int i = 0; i < 4; i++) {
		expect_param_value(o, "cpu-throttle-tailslow", on[i],
				   MIG_PARAM_CPU_THROTTLE_TAILSLOW, 1);
		expect_param_value(o, "cpu-throttle-tailslow", off[i],
				   MIG_PARAM_CPU_THROTTLE_TAILSLOW, 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_param_error(o, "block-incremental", bad[i],
			"Parameter 'block-incremental' expects 'on' or 'off'");

	assert_null(set_param(o, "tls-creds", "tls0"));
	assert_null(set_param(o, "tls-hostname", "dst.example"));
	assert_null(set_param(o, "tls-authz", "authz0"));
	assert_null(set_param(o, "block-incremental", "on"));
	assert_null(set_param(o, "multifd-compression", "zlib"));
	strbuf_init(&out);
	mig_options_format_params(o, &out);
	assert_non_null(strstr(out.buf, "\ntls-creds: 'tls0'\n"));
	assert_non_null(strstr(out.buf, "\ntls-hostname: 'dst.example'\n"));
	assert_non_null(strstr(out.buf, "\ntls-authz: 'authz0'\n"));
	assert_non_null(strstr(out.buf, "\nblock-incremental: on\n"));
	assert_non_null(strstr(out.buf, "\nmultifd-compression: zlib\n"));
	strbuf_release(&out);

	/* back to empty */
	assert_null(set_param(o, "tls-creds", ""));
	{
		char *s = mig_options_str_dup(o, MIG_PARAM_TLS_CREDS);

		assert_string_equal(s, "");
		free(s);
	}
}

static void test_underscores(void **state)
{
	struct mig_options *o = *state;
	struct error *err = NULL;

	assert_int_equal(mig_param_lookup("compress_level", false), -1);
	assert_int_equal(mig_param_lookup("compress_level", true),
			 MIG_PARAM_COMPRESS_LEVEL);
	assert_int_equal(mig_param_lookup("x_checkpoint_delay", true),
			 MIG_PARAM_X_CHECKPOINT_DELAY);
	assert_int_equal(mig_param_lookup("compress-level", true),
			 MIG_PARAM_COMPRESS_LEVEL);
	/* only '_' for '-', never case or other characters */
	assert_int_equal(mig_param_lookup("COMPRESS_LEVEL", true), -1);
	assert_int_equal(mig_param_lookup("compress_level_", true), -1);
	assert_int_equal(mig_param_lookup("compress", true), -1);
	assert_int_equal(mig_param_lookup("", true), -1);
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

/* What QMP's migrate-set-parameters hands over after its type checks. */
static void test_qmp_style_updates(void **state)
{
	struct mig_options *o = *state;
	struct mig_param_update u;
	struct error *err = NULL;

	mig_param_update_init(&u);
	u.has[MIG_PARAM_MAX_BANDWIDTH] = true;
	u.num[MIG_PARAM_MAX_BANDWIDTH] = UINT64_MAX; /* QMP -1 */
	assert_true(mig_options_apply_params(o, &u, &err));
	assert_int_equal(mig_options_num(o, MIG_PARAM_MAX_BANDWIDTH),
			 UINT64_MAX);

	mig_param_update_init(&u);
	u.has[MIG_PARAM_DOWNTIME_LIMIT] = true;
	u.num[MIG_PARAM_DOWNTIME_LIMIT] = UINT64_MAX;
	assert_false(mig_options_apply_params(o, &u, &err));
	assert_string_equal(err->msg, "Parameter 'downtime_limit' expects an "
			    "integer in the range of 0 to (2000 * 1000) ms");
	error_free(err);
	err = NULL;

	mig_param_update_init(&u);
	u.has[MIG_PARAM_COMPRESS_LEVEL] = true;
	u.num[MIG_PARAM_COMPRESS_LEVEL] = 256;
	assert_false(mig_options_apply_params(o, &u, &err));
	assert_string_equal(err->msg,
			    "Parameter 'compress-level' expects uint8_t");
	error_free(err);
	err = NULL;

	/* a string member given as NULL (QMP null) is stored as "" */
	mig_param_update_init(&u);
	u.has[MIG_PARAM_TLS_HOSTNAME] = true;
	assert_true(mig_options_apply_params(o, &u, &err));
	{
		char *s = mig_options_str_dup(o, MIG_PARAM_TLS_HOSTNAME);

		assert_string_equal(s, "");
		free(s);
	}
	mig_param_update_release(&u);
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
		T(test_defaults_match_info_fresh),
		T(test_fixture_set_parameters_and_capabilities),
		T(test_fixture_errors),
		T(test_tables),
		T(test_qmp_positions),
		T(test_supported_caps),
		T(test_cap_cross_checks),
		T(test_caps_all_or_nothing),
		T(test_params_all_or_nothing),
		T(test_param_checks),
		T(test_hmp_bools_and_strings),
		T(test_underscores),
		T(test_qmp_style_updates),
		T(test_lookup_hmp_errors),
		T(test_snapshot),
		T(test_applies_since),
		T(test_apply_column),
		T(test_concurrent_readers),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
