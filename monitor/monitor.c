#include "monitor/monitor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/xalloc.h"


void monitor_init(struct monitor *mon, struct vm *vm, enum monitor_mode mode)
{
	memset(mon, 0, sizeof(*mon));
	mon->vm = vm;
	mon->mode = mode;
	strbuf_init(&mon->out);
	strbuf_init(&mon->err);
	mon->last_format = 'x';
	mon->last_size = 4;
}

void monitor_release(struct monitor *mon)
{
	strbuf_release(&mon->out);
	strbuf_release(&mon->err);
	for (int i = 0; i < mon->nhistory; i++)
		free(mon->history[i]);
}

void monitor_history_add(struct monitor *mon, const char *line)
{
	if (!*line || mon->mode == MONITOR_MODE_CAPTURE)
		return;
	char *entry = NULL;
	for (int i = 0; i < mon->nhistory; i++) {
		if (strcmp(mon->history[i], line))
			continue;
		/* QEMU leaves a full history alone when the line is its
		 * last slot. */
		if (i == MONITOR_HISTORY_MAX - 1)
			return;
		entry = mon->history[i];
		memmove(&mon->history[i], &mon->history[i + 1],
			(size_t)(mon->nhistory - i - 1) * sizeof(char *));
		mon->nhistory--;
		break;
	}
	if (!entry && mon->nhistory == MONITOR_HISTORY_MAX) {
		free(mon->history[0]);
		memmove(&mon->history[0], &mon->history[1],
			(MONITOR_HISTORY_MAX - 1) * sizeof(char *));
		mon->nhistory--;
	}
	mon->history[mon->nhistory++] = entry ? entry : xstrdup(line);
}

void monitor_printf(struct monitor *mon, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&mon->out, fmt, ap);
	va_end(ap);
}

/* Each line of text, prefixed for piped mode or not. */
static void add_error_lines(struct monitor *mon, const char *first_prefix,
			    const char *text)
{
	mon->failed = true;
	mon->any_failed = true;
	bool piped = mon->mode == MONITOR_MODE_PIPED;
	struct strbuf *dst = piped ? &mon->err : &mon->out;
	const char *line = text;
	bool first = true;
	for (;;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (piped)
			strbuf_addf(dst, "qmig: line %u: ", mon->line_no);
		else if (first && first_prefix)
			strbuf_addstr(dst, first_prefix);
		strbuf_add(dst, line, len);
		strbuf_addch(dst, '\n');
		first = false;
		if (!nl)
			break;
		line = nl + 1;
	}
}

void monitor_error(struct monitor *mon, const char *text)
{
	add_error_lines(mon, "Error: ", text);
}

void monitor_usage_error(struct monitor *mon, const char *cmd,
			 const char *fmt, ...)
{
	struct strbuf sb;
	strbuf_init(&sb);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (cmd)
		strbuf_addf(&sb, "\nTry \"help %s\" for more information",
			    cmd);
	add_error_lines(mon, NULL, sb.buf);
	strbuf_release(&sb);
}

size_t monitor_progress_width(void)
{
	struct winsize ws;
	size_t width = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col;
	return width - 1;
}

void monitor_progress(struct monitor *mon, const char *text)
{
	if (mon->mode != MONITOR_MODE_TTY)
		return;
	/* Carriage return, erase to the end of the line, the new text. */
	fputs("\r\033[K", stdout);
	if (text)
		fwrite(text, 1, strnlen(text, monitor_progress_width()), stdout);
	fflush(stdout);
}

