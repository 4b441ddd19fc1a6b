/*
 * monitor/line_reader: lines cut the same whatever the read sizes, the
 * 64 KiB cap (kept bytes bounded, the rest counted), NUL bytes, "\r"
 * handling and the error texts.  End to end (sockets, scripts):
 * tests/process/test_hmp_input.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/line_reader.h"
#include "util/strbuf.h"

/*
 * Feeds input in pieces of `step` bytes (the last piece shorter), then
 * ends it; appends to out each line as "[TEXT]" or "<ERROR>", where ERROR
 * is what line_reader_check() reported.
 */
static void cut(const char *input, size_t len, size_t step, bool drop_cr,
		struct strbuf *out)
{
	struct line_reader lr;
	struct monitor mon;
	line_reader_init(&lr, drop_cr);
	monitor_init(&mon, NULL, MONITOR_MODE_SOCKET);
	size_t pos = 0;
	bool ended = false;
	for (;;) {
		if (!lr.complete) {
			if (pos < len) {
				size_t n = len - pos < step ? len - pos : step;
				size_t took = line_reader_feed(&lr, input + pos, n);
				assert_true(took >= 1 && took <= n);
				pos += took;
			} else if (ended || !line_reader_finish(&lr)) {
				break;
			} else {
				ended = true;
			}
		}
		if (!lr.complete)
			continue;
		assert_true(lr.line.len <= LINE_READER_MAX_BYTES);
		if (line_reader_check(&lr, &mon)) {
			strbuf_addf(out, "[%s]", lr.line.buf);
		} else {
			assert_true(mon.failed);
			/* one error line, ending in its newline */
			assert_int_equal(mon.out.buf[mon.out.len - 1], '\n');
			mon.out.buf[--mon.out.len] = '\0';
			assert_null(strchr(mon.out.buf, '\n'));
			strbuf_addf(out, "<%s>", mon.out.buf);
			strbuf_reset(&mon.out);
			mon.failed = false;
		}
		line_reader_next(&lr);
	}
	monitor_release(&mon);
	line_reader_release(&lr);
}

/* The same result for every piece size. */
static void expect(const char *input, size_t len, bool drop_cr,
		   const char *want)
{
	static const size_t steps[] = { 1, 2, 3, 7, 4096, 1 << 20 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct strbuf got;
		strbuf_init(&got);
		cut(input, len, steps[i], drop_cr, &got);
		if (strcmp(got.buf, want))
			fail_msg("step %zu: got %s, want %s", steps[i], got.buf,
				 want);
		strbuf_release(&got);
	}
}

#define EXPECT(lit, drop_cr, want) expect(lit, sizeof(lit) - 1, drop_cr, want)

static void test_lines_and_the_last_one(void **state)
{
	EXPECT("", false, "");
	/* the last line without its '\n' comes from finish() */
	EXPECT("a\nbc\n\nd", false, "[a][bc][][d]");
	EXPECT("a\nbc\n\nd\n", true, "[a][bc][][d]");
	/* a NUL ends no line */
	expect("x\ny\0z", 5, false,
	       "[x]<NUL byte in line (at offset 1), nothing run: 'y\\x00z'>");
}

static void test_unterminated_line_is_offered_by_finish(void **state)
{
	struct line_reader lr;
	line_reader_init(&lr, false);
	assert_false(line_reader_finish(&lr));
	assert_int_equal(line_reader_feed(&lr, "ab\ncd", 5), 3);
	assert_true(lr.complete);
	assert_string_equal(lr.line.buf, "ab");
	line_reader_next(&lr);
	assert_int_equal(line_reader_feed(&lr, "cd", 2), 2);
	assert_false(lr.complete);
	assert_true(line_reader_finish(&lr));
	assert_string_equal(lr.line.buf, "cd");
	line_reader_next(&lr);
	assert_false(line_reader_finish(&lr));
	line_reader_release(&lr);
}

static void test_carriage_returns(void **state)
{
	EXPECT("a\r\nb\rc\n", true, "[a][bc]");
	EXPECT("a\r\nb\rc\n", false, "[a\r][b\rc]");
}

static void test_nul_bytes(void **state)
{
	EXPECT("stop\0 garbage\ninfo status\n", true,
	       "<NUL byte in line (at offset 4), nothing run: 'stop\\x00 garbage'>"
	       "[info status]");
	EXPECT("\0\n", true, "<NUL byte in line (at offset 0), nothing run: '\\x00'>");
	/* the offset counts kept bytes: "\r" dropped */
	EXPECT("a\r\0\n", true, "<NUL byte in line (at offset 1), nothing run: 'a\\x00'>");
	/* a NUL without a newline after it, at the end of input */
	EXPECT("ok\nstop\0", true,
	       "[ok]<NUL byte in line (at offset 4), nothing run: 'stop\\x00'>");
}

static void test_quote_escapes_and_cut(void **state)
{
	EXPECT("a\tb\x1b[A\x7f\0\n", true,
	       "<NUL byte in line (at offset 7), nothing run: "
	       "'a\\x09b\\x1b[A\\x7f\\x00'>");
	/* 48 bytes quoted, then "..." */
	EXPECT("0123456789012345678901234567890123456789012345678\0\n", true,
	       "<NUL byte in line (at offset 49), nothing run: "
	       "'012345678901234567890123456789012345678901234567'...>");
}

static void test_cap(void **state)
{
	size_t n = 3 * LINE_READER_MAX_BYTES;
	char *in = malloc(n + 16);
	assert_non_null(in);
	/* exactly the cap: runs */
	memset(in, 'a', LINE_READER_MAX_BYTES);
	memcpy(in + LINE_READER_MAX_BYTES, "\nok\n", 4);
	struct strbuf got, want;
	strbuf_init(&got);
	strbuf_init(&want);
	cut(in, LINE_READER_MAX_BYTES + 4, 4096, true, &got);
	strbuf_addch(&want, '[');
	strbuf_add(&want, in, LINE_READER_MAX_BYTES);
	strbuf_addstr(&want, "][ok]");
	assert_string_equal(got.buf, want.buf);

	/* one byte more (a NUL past the cap too): an error, then the next
	 * line as usual; the "\r" are not counted */
	memset(in, 'b', n);
	memcpy(in, "stop", 4);
	in[LINE_READER_MAX_BYTES + 1] = '\0';
	in[10] = '\r';
	memcpy(in + n, "\nok\n", 4);
	for (size_t step = 1000; step <= n; step *= 7) {
		strbuf_reset(&got);
		cut(in, n + 4, step, true, &got);
		strbuf_reset(&want);
		strbuf_addf(&want,
			    "<line too long (%zu bytes, at most %d), nothing run: 'stop%.44s'...>[ok]",
			    n - 1, LINE_READER_MAX_BYTES,
			    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
		assert_string_equal(got.buf, want.buf);
	}
	in[10] = 'b';
	/* over the cap and no newline at the end of input */
	strbuf_reset(&got);
	cut(in, LINE_READER_MAX_BYTES + 1, 4096, true, &got);
	assert_non_null(strstr(got.buf, "<line too long (65537 bytes"));
	strbuf_release(&got);
	strbuf_release(&want);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_the_last_one),
		cmocka_unit_test(test_unterminated_line_is_offered_by_finish),
		cmocka_unit_test(test_carriage_returns),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_quote_escapes_and_cut),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
