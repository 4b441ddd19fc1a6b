/*
 * libFuzzer entry for HMP input: the bytes are what a client sends on one
 * monitor socket connection, cut into lines by monitor/line_reader (in
 * two reads, so that lines split across reads are covered) and run by the
 * HMP parser and dispatcher on a test VM that is not migrating (a few KiB
 * of RAM, no workload).  A last line without its newline runs too, as in
 * a script.
 *
 * Checked, besides no crash, leak or sanitizer report:
 *   - every command's output is empty or ends in '\n' (the prompt follows
 *     it on a socket);
 *   - a line that runs is the whole line (no NUL, at most 64 KiB); one
 *     the reader rejects prints one error line and changes neither the
 *     migration options nor the run state;
 *   - a command that fails leaves the migration options as they were
 *     (all-or-nothing sets).
 *
 * Commands with effects outside the process (migrate and migrate_incoming
 * could run `exec:` commands or listen, pmemsave writes files, quit ends
 * the process) are hidden through the monitor's `allow` hook, as
 * fuzz_qmp_input.c hides them from QMP; everything else runs for real.
 * Each input starts from the default options and a running guest.
 *
 * `make fuzz` builds it with libFuzzer (clang); `make check` replays
 * tests/fuzz/corpus/hmp_line (tests/fuzz/make_hmp_corpus.py, from the
 * QEMU 7.2 HMP transcripts) with tests/fuzz/replay_main.c.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migration/options.h"
#include "migration/machine_setup.h"
#include "monitor/line_reader.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm test_vm;

static bool allow(void *opaque, const char *command)
{
	static const char *const hidden[] = {
		"migrate", "migrate_incoming", "pmemsave", "quit", NULL
	};
	for (const char *const *h = hidden; *h; h++)
		if (!strcmp(*h, command))
			return false;
	return true;
}

/* What a command must not change when it fails or does not run. */
struct state {
	uint64_t options_generation;
	enum runstate runstate;
};

static struct state state_now(void)
{
	struct state st = {
		.options_generation = mig_options_generation(test_vm.options),
		.runstate = test_vm.runstate,
	};
	return st;
}

/* One complete line, as a socket session runs it. */
static void run_line(struct monitor *mon, struct line_reader *lr)
{
	struct state before = state_now();
	mon->line_no++;
	if (!line_reader_check(lr, mon)) {
		struct state after = state_now();
		const char *nl = memchr(mon->out.buf, '\n', mon->out.len);
		bool one_line = nl && nl == mon->out.buf + mon->out.len - 1;
		if (!mon->failed || !one_line ||
		    after.options_generation != before.options_generation ||
		    after.runstate != before.runstate)
			abort();
	} else {
		/* what runs is the whole line */
		if (strlen(lr->line.buf) != lr->line.len ||
		    lr->line.len > LINE_READER_MAX_BYTES)
			abort();
		hmp_run_line(mon, lr->line.buf);
		if (mon->failed && mig_options_generation(test_vm.options) !=
					   before.options_generation)
			abort();
	}
	if (mon->out.len && mon->out.buf[mon->out.len - 1] != '\n')
		abort();
	strbuf_reset(&mon->out);
	mon->failed = false;
	line_reader_next(lr);
}

static void feed(struct monitor *mon, struct line_reader *lr,
		 const char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		off += line_reader_feed(lr, data + off, len - off);
		if (lr->complete)
			run_line(mon, lr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (machine_init(&test_vm, 16 * 4096, NULL) < 0)
			abort();
		ready = true;
	}
	/* Every input from the same start: defaults, guest running. */
	mig_options_release(test_vm.options);
	mig_options_init(test_vm.options);
	test_vm.runstate = RUNSTATE_RUNNING;
	atomic_store(&test_vm.guest_running, true);

	struct monitor mon;
	monitor_init(&mon, &test_vm, MONITOR_MODE_SOCKET);
	mon.allow = allow;
	struct line_reader lr;
	line_reader_init(&lr, true);
	size_t half = size / 2;
	feed(&mon, &lr, (const char *)data, half);
	feed(&mon, &lr, (const char *)data + half, size - half);
	if (line_reader_finish(&lr))
		run_line(&mon, &lr);
	line_reader_release(&lr);
	monitor_release(&mon);
	return 0;
}
