/*
 * libFuzzer entry for QMP input: the bytes are what a client sends on one
 * connection (greeting already out), fed to a fresh session of a test VM
 * in two pieces (so that messages split across reads are covered).
 * Checked: nothing crashes or leaks, every message the session sends is
 * one valid JSON object ending in "\r\n".
 *
 * Commands with effects outside the process (migrate, migrate-incoming,
 * pmemsave, human-monitor-command, quit) are hidden through the session's
 * `allow` hook: an input could otherwise spawn `exec:` commands or write
 * files.  Everything else runs for real on the test VM (a few KiB of RAM,
 * no workload), including getfd without descriptors.
 *
 * Built by `make fuzz-qmp` (clang, -fsanitize=fuzzer) and, with
 * tests/fuzz/replay_main.c, by `make fuzz-replay-qmp` (any compiler),
 * which `make check` runs over tests/fuzz/corpus/qmp_input.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migration/machine_setup.h"
#include "monitor/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm test_vm;
static struct qmp_server server;

/* Checks each message; aborts (a finding) on a malformed one. */
static void check_send(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	if (len < 3 || buf[len - 2] != '\r' || buf[len - 1] != '\n')
		abort();
	json_error_t err;
	json_t *v = json_loadb(buf, len - 2,
			       JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
	if (!v || !json_is_object(v))
		abort();
	json_decref(v);
}

static bool allow(void *opaque, const char *command)
{
	static const char *const hidden[] = {
		"migrate", "migrate-incoming", "pmemsave",
		"human-monitor-command", "quit", NULL
	};
	for (const char *const *h = hidden; *h; h++)
		if (!strcmp(*h, command))
			return false;
	return true;
}

static const struct qmp_session_ops ops = {
	.send = check_send,
	.take_fd = NULL,
	.allow = allow,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (machine_init(&test_vm, 16 * 4096, NULL) < 0)
			abort();
		test_vm.runstate = RUNSTATE_RUNNING;
		qmp_server_init(&server, &test_vm);
		ready = true;
	}
	struct qmp_session s;
	qmp_session_init(&s, &server, &ops, NULL);
	qmp_session_greet(&s);
	size_t half = size / 2;
	qmp_session_feed(&s, (const char *)data, half);
	qmp_session_feed(&s, (const char *)data + half, size - half);
	qmp_session_release(&s);
	return 0;
}
