/*
 * monitor/hmp: completion from the command table, and the table's own
 * consistency (sorted as QEMU's `help` lists, every argument has a name
 * and a type, aliases unique).  The commands' output and errors are
 * checked end to end by tests/process/test_hmp_*.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/hmp.h"
#include "util/strbuf.h"

/* Candidates joined by spaces. */
static void add(void *opaque, const char *candidate)
{
	struct strbuf *sb = opaque;
	if (sb->len)
		strbuf_addch(sb, ' ');
	strbuf_addstr(sb, candidate);
}

static void expect(const char *line, const char *word, const char *want)
{
	struct strbuf sb;
	strbuf_init(&sb);
	hmp_complete(line, word, add, &sb);
	if (strcmp(sb.buf, want))
		fail_msg("complete('%s', '%s') = '%s', want '%s'", line, word,
			 sb.buf, want);
	strbuf_release(&sb);
}

static void test_complete_command_names(void **state)
{
	expect("", "mig",
	       "migrate migrate_cancel migrate_continue migrate_incoming "
	       "migrate_pause migrate_recover migrate_set_cache_size "
	       "migrate_set_cachesize migrate_set_capability "
	       "migrate_set_parameter migrate_start_postcopy");
	expect("", "migrate_set_ca",
	       "migrate_set_cache_size migrate_set_cachesize "
	       "migrate_set_capability");
	expect("  ", "in", "info");
	expect("", "nosuch", "");
}

static void test_complete_info(void **state)
{
	expect("info ", "mi",
	       "migrate migrate_capabilities migrate_parameters");
	expect("info ", "s", "status");
	expect("info migrate ", "", "");
	expect("help ", "inf", "info");
	expect("help info ", "migrate_p", "migrate_parameters");
}

static void test_complete_capabilities_and_on_off(void **state)
{
	expect("migrate_set_capability ", "xb", "xbzrle");
	expect("migrate_set_capability ", "postcopy-",
	       "postcopy-ram postcopy-blocktime postcopy-preempt");
	expect("migrate_set_capability xbzrle ", "o", "on off");
	expect("migrate_set_capability xbzrle ", "of", "off");
	expect("migrate_set_capability xbzrle on ", "", "");
}

static void test_complete_parameters(void **state)
{
	expect("migrate_set_parameter ", "compress-",
	       "compress-level compress-threads compress-wait-thread");
	expect("migrate_set_parameter ", "max-b", "max-bandwidth");
	expect("migrate_set_parameter max-bandwidth ", "", "");
}

static void test_complete_parameter_values(void **state)
{
	/* Booleans complete as capabilities do; QEMU 7.2 offers nothing. */
	expect("migrate_set_parameter compress-wait-thread ", "", "on off");
	expect("migrate_set_parameter compress-wait-thread ", "of", "off");
	expect("migrate_set_parameter block-incremental ", "o", "on off");
	/* The underscore spelling the setter takes, too. */
	expect("migrate_set_parameter compress_wait_thread ", "on", "on");
	/* Enumerations complete to their names. */
	expect("migrate_set_parameter multifd-compression ", "z",
	       "zlib zstd");
	expect("migrate_set_parameter x-compress-engine ", "",
	       "auto zlib libdeflate igzip");
	/* Numbers, unknown names and a third word: nothing. */
	expect("migrate_set_parameter compress-level ", "", "");
	expect("migrate_set_parameter nosuch ", "", "");
	expect("migrate_set_parameter compress-wait-thread on ", "", "");
}

static void test_complete_states_and_flags(void **state)
{
	expect("migrate_continue ", "pre", "pre-switchover");
	expect("migrate_continue ", "postcopy-",
	       "postcopy-active postcopy-paused postcopy-recover");
	/* A flag word is not the URI position; nothing completes a URI. */
	expect("migrate -d ", "", "");
	expect("migrate ", "-", "");
}

static void test_table_sorted_and_well_formed(void **state)
{
	const struct hmp_command *tables[] = { hmp_commands,
					       hmp_info_commands };
	for (size_t t = 0; t < 2; t++) {
		const struct hmp_command *prev = NULL;
		for (const struct hmp_command *c = tables[t]; c->name; c++) {
			assert_non_null(c->params);
			assert_non_null(c->help);
			assert_non_null(c->handler);
			assert_non_null(c->doc);
			if (prev && strcmp(prev->name, c->name) >= 0)
				fail_msg("'%s' before '%s': not sorted",
					 prev->name, c->name);
			if (c->alias)
				assert_ptr_equal(hmp_find(tables[t], c->alias),
						 c);
			prev = c;
		}
	}
	assert_ptr_equal(hmp_find(hmp_commands, "c"),
			 hmp_find(hmp_commands, "cont"));
	assert_null(hmp_find(hmp_commands, "CONT"));
	assert_null(hmp_find(hmp_commands, "migrate_set_speed"));
}

static void test_help_line_format(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb);
	hmp_format_help_line(&sb, "", hmp_find(hmp_commands, "cont"));
	hmp_format_help_line(&sb, "info ",
			     hmp_find(hmp_info_commands, "status"));
	/* help.json: two spaces when there are no parameters. */
	assert_string_equal(sb.buf,
			    "cont|c  -- resume emulation\n"
			    "info status  -- show the current VM status "
			    "(running|paused)\n");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_command_names),
		cmocka_unit_test(test_complete_info),
		cmocka_unit_test(test_complete_capabilities_and_on_off),
		cmocka_unit_test(test_complete_parameters),
		cmocka_unit_test(test_complete_parameter_values),
		cmocka_unit_test(test_complete_states_and_flags),
		cmocka_unit_test(test_table_sorted_and_well_formed),
		cmocka_unit_test(test_help_line_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
