/*
 * HMP, the human monitor: one table row per command (name, alias, typed
 * arguments, help text, handler), from which the parser, `help`, readline
 * completion and docs/monitor.md are all derived.  Argument syntax and
 * parser errors follow QEMU 7.2's monitor (shared/docs/monitor-reference.md).
 */
#ifndef QMIG_MONITOR_HMP_H
#define QMIG_MONITOR_HMP_H

#include <stdbool.h>
#include <stdint.h>

#include "monitor/monitor.h"

enum hmp_arg_type {
	HMP_ARG_STR,      /* one word, or a "double-quoted string" */
	HMP_ARG_OPT_STR,  /* the same, may be absent */
	HMP_ARG_ON_OFF,   /* exactly `on` or `off` */
	HMP_ARG_INT,      /* an integer expression: 0x10 + 4 * 2 */
	HMP_ARG_OPT_INT,  /* the same, may be absent (on[] says if given) */
	HMP_ARG_FLAG,     /* `-X` option before the other arguments */
	HMP_ARG_CAPABILITY, /* a capability name, its index in num[]; looked
			     * up once the whole line parsed, as QEMU's
			     * handler does ("invalid parameter value: X") */
	HMP_ARG_INT32,    /* an integer expression that fits 32 bits
			   * (QEMU's 'i': "integer is for 32-bit values") */
	HMP_ARG_FORMAT,   /* xp's optional /COUNT FORMAT SIZE, into fmt */
};

/* What a value completes to, for readline. */
enum hmp_completion {
	HMP_COMPLETE_NONE,
	HMP_COMPLETE_COMMAND,     /* help's argument */
	HMP_COMPLETE_CAPABILITY,
	HMP_COMPLETE_PARAMETER,
	HMP_COMPLETE_ON_OFF,
	HMP_COMPLETE_STATUS,      /* migrate_continue's state */
	HMP_COMPLETE_FILE,
	HMP_COMPLETE_PARAM_VALUE, /* the value of the parameter named by the
				   * word before: on/off or the enum's names */
};

struct hmp_arg {
	const char *name;          /* as `help` shows it */
	enum hmp_arg_type type;
	char flag;                 /* HMP_ARG_FLAG: the letter */
	enum hmp_completion complete;
};

#define HMP_MAX_ARGS 6

/* What `/fmt` says; absent parts are the monitor's last ones. */
struct hmp_format {
	int count;   /* units to show */
	char format; /* 'x', 'd', 'u', 'o', 'c' or 'i' */
	int size;    /* 1, 2, 4 or 8 bytes a unit; -1 for 'i' */
};

struct hmp_values {
	const char *str[HMP_MAX_ARGS]; /* STR, OPT_STR (NULL if absent) */
	int64_t num[HMP_MAX_ARGS];     /* INT, INT32 */
	bool on[HMP_MAX_ARGS];         /* ON_OFF, FLAG */
	struct hmp_format fmt;         /* FORMAT */
};

struct hmp_command {
	const char *name;
	const char *alias;             /* `c` for cont, or NULL */
	struct hmp_arg args[HMP_MAX_ARGS]; /* ends at name == NULL */
	const char *params;            /* the argument synopsis for help */
	const char *help;              /* QEMU's text; may go on over
					* "\n\t\t\t" lines as QEMU's do */
	const char *doc;               /* docs/monitor.md notes (Markdown),
					* or NULL */
	unsigned flags;                /* CMD_* of monitor/preconditions.h */
	void (*handler)(struct monitor *mon, const struct hmp_values *v);
	const struct hmp_command *subcommands; /* `info`: its table */
};

/* The tables (end at name == NULL). */
extern const struct hmp_command hmp_commands[];
extern const struct hmp_command hmp_info_commands[];

/* Parses and runs one line; caller holds vm->lock. */
void hmp_dispatch(struct monitor *mon, const char *line);

/* One input line of a session: clears its failed flag, runs the line
 * under vm->lock. */
void hmp_run_line(struct monitor *mon, const char *line);

/* Finds a command or alias by exact name in a table. */
const struct hmp_command *hmp_find(const struct hmp_command *table,
				   const char *name);

/* One `help` line: "name|alias params -- help". */
void hmp_format_help_line(struct strbuf *out, const char *prefix,
			  const struct hmp_command *cmd);

/*
 * docs/monitor.md, generated from the tables above and from
 * migration/options.h's capability and parameter tables
 * (`qmig --dump-hmp-docs`; tests/lint.sh checks the committed copy).
 */
void hmp_docs_markdown(struct strbuf *out);

/*
 * Completion candidates for the text before the cursor (`line` up to
 * the word being completed, `word` the partial word): calls add() for
 * each candidate.
 */
void hmp_complete(const char *line, const char *word,
		  void (*add)(void *opaque, const char *candidate),
		  void *opaque);

#endif
