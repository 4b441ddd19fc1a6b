/*
 * One monitor session: where a command's output and errors go.
 *
 * Handlers write output with monitor_printf() and report failure with
 * monitor_error() (a command error, shown by QEMU as "Error: TEXT") or
 * monitor_usage_error() (argument-parser errors, shown as QEMU shows them,
 * followed by the "Try \"help CMD\"" line).  The front-end decides where
 * each goes: an interactive or socket monitor shows everything in its output
 * as QEMU does; a piped script gets output on stdout and errors on stderr as
 * "qmig: line N: TEXT", and a non-zero exit status.
 */
#ifndef QMIG_MONITOR_MONITOR_H
#define QMIG_MONITOR_MONITOR_H

#include <stdbool.h>

#include "machine/vm.h"
#include "util/strbuf.h"

enum monitor_mode {
	MONITOR_MODE_PIPED,   /* stdin is not a tty: script mode */
	MONITOR_MODE_TTY,     /* readline on a terminal */
	MONITOR_MODE_SOCKET,  /* unix/tcp, QEMU-style text */
	MONITOR_MODE_CAPTURE, /* QMP human-monitor-command */
};

#define MONITOR_HISTORY_MAX 64 /* QEMU's READLINE_MAX_CMDS */

struct monitor {
	struct vm *vm;
	enum monitor_mode mode;
	struct strbuf out;     /* the current command's output */
	struct strbuf err;     /* piped mode: error lines for stderr */
	bool failed;           /* the current command failed */
	bool any_failed;       /* some command of this session failed */
	unsigned line_no;      /* input line of the current command */
	bool quit;             /* `quit` was given */
	/* `info history`: the session's lines, oldest first, as QEMU's
	 * readline keeps them (MONITOR_HISTORY_MAX, a repeated line moves
	 * to the end).  A QMP human-monitor-command keeps none. */
	char *history[MONITOR_HISTORY_MAX];
	int nhistory;
	/* xp's defaults: the last format and unit size given (QEMU keeps
	 * them for the whole process, qmig per session). */
	char last_format;
	int last_size;
	/* Optional: false keeps a command from running, as
	 * qmp_session_ops.allow hides QMP commands from a fuzzer that must
	 * not start migrations, write files or quit.  Its arguments are
	 * parsed first; then it is `unknown command: 'NAME'`.  command is
	 * the row's name ("info NAME" for an info sub-command).  NULL:
	 * every command runs. */
	bool (*allow)(void *opaque, const char *command);
	void *allow_opaque;
};

void monitor_init(struct monitor *mon, struct vm *vm, enum monitor_mode mode);
void monitor_release(struct monitor *mon);

/* Records an input line in the session's history (QEMU's readline
 * rules: empty lines are not kept). */
void monitor_history_add(struct monitor *mon, const char *line);

void monitor_printf(struct monitor *mon, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A command error: QEMU's "Error: TEXT" (TEXT may span lines). */
void monitor_error(struct monitor *mon, const char *text);
/* A parser error; `cmd` non-NULL adds "Try \"help CMD\" ..." after it. */
void monitor_usage_error(struct monitor *mon, const char *cmd,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The one-line progress display of a blocking command on a terminal
 * (MONITOR_MODE_TTY only; a no-op otherwise): writes `text` over the
 * previous one at once (cut to the terminal's width so that it never
 * wraps); NULL erases it.  Call without vm->lock: it writes to the tty.
 */
void monitor_progress(struct monitor *mon, const char *text);

/* The widest progress text that does not wrap: the terminal's width less
 * one (80 columns when it cannot be asked). */
size_t monitor_progress_width(void);

#endif
