#include "monitor/monitor_stdio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "monitor/hmp.h"
#include "monitor/line_reader.h"
#include "monitor/monitor.h"
#include "util/xalloc.h"

#define PROMPT "(qmig) "

static void flush_output(struct monitor *mon)
{
	if (mon->out.len) {
		fwrite(mon->out.buf, 1, mon->out.len, stdout);
		strbuf_reset(&mon->out);
	}
	fflush(stdout);
	if (mon->err.len) {
		fwrite(mon->err.buf, 1, mon->err.len, stderr);
		strbuf_reset(&mon->err);
		fflush(stderr);
	}
}

/* One script line: checked (line_reader.h), trailing "\r" stripped,
 * blank and '#' lines skipped. */
static void run_script_line(struct monitor *mon, struct line_reader *in)
{
	mon->line_no++;
	if (!line_reader_check(in, mon)) {
		flush_output(mon);
		return;
	}
	char *line = in->line.buf;
	size_t len = in->line.len;
	while (len && line[len - 1] == '\r')
		line[--len] = '\0';
	const char *p = line + strspn(line, " \t");
	if (!*p || *p == '#')
		return;
	hmp_run_line(mon, p);
	flush_output(mon);
}

/*
 * Reads stdin with read(2), not stdio: a line is taken in pieces, so that
 * one without a newline cannot grow the process (the reader keeps its
 * first LINE_READER_MAX_BYTES), and a read returns what a pipe has, so
 * that a script fed line by line runs each line as it comes.
 */
static int run_piped(struct vm *vm)
{
	struct monitor mon;
	monitor_init(&mon, vm, MONITOR_MODE_PIPED);
	struct line_reader in;
	line_reader_init(&in, false);
	char buf[4096];
	while (!mon.quit) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t off = 0;
		while (off < (size_t)n && !mon.quit) {
			off += line_reader_feed(&in, buf + off, (size_t)n - off);
			if (!in.complete)
				break;
			run_script_line(&mon, &in);
			line_reader_next(&in);
		}
	}
	/* A last line without its newline runs too, as getline gave it. */
	if (!mon.quit && line_reader_finish(&in))
		run_script_line(&mon, &in);
	line_reader_release(&in);
	int status = mon.any_failed ? 1 : 0;
	monitor_release(&mon);
	return status;
}

/* ---- readline ---- */

struct completion_list {
	char **items;
	size_t n, cap;
};

static void add_candidate(void *opaque, const char *candidate)
{
	struct completion_list *l = opaque;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->n++] = xstrdup(candidate);
}

static struct completion_list pending;

static char *next_candidate(const char *text, int state)
{
	(void)text;
	static size_t index;
	if (state == 0)
		index = 0;
	if (index < pending.n)
		return pending.items[index++]; /* readline frees it */
	free(pending.items);
	memset(&pending, 0, sizeof(pending));
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	char *before = xstrndup(rl_line_buffer, (size_t)start);
	for (size_t i = 0; i < pending.n; i++)
		free(pending.items[i]);
	free(pending.items);
	memset(&pending, 0, sizeof(pending));
	hmp_complete(before, text, add_candidate, &pending);
	free(before);
	rl_attempted_completion_over = 1; /* no file names by default */
	return rl_completion_matches(text, next_candidate);
}

/*
 * The terminal between two prompts.  readline() puts the terminal in its
 * mode (no echo, keys read one by one, signals still on) and by default
 * restores the original mode before it returns a line.  The terminal would
 * then echo whatever is typed while the command runs, raw: an Up arrow
 * showed as ^[[A, and readline, redrawing the next prompt from where it
 * thinks the cursor is, mangled the line.  So qmig keeps readline's mode
 * from the first prompt to the end of the session: keys typed while a
 * command runs wait, unechoed, in the terminal's input queue, and readline
 * reads them at the next prompt as if typed there.  When readline handles
 * a signal at a prompt (Ctrl-C, Ctrl-Z, a kill) it restores the terminal
 * before acting on it, as before.  Ctrl-C while a command runs still
 * raises SIGINT (readline's mode keeps ISIG).
 */
static void deprep_only_for_signals(void)
{
	if (RL_ISSTATE(RL_STATE_SIGHANDLER))
		rl_deprep_terminal();
}

/*
 * Ctrl-C at the prompt.  Set by the SIGINT handler (the one file-scope
 * mutable here: a signal handler has nowhere else to write); readline
 * runs it from its own handler, after restoring the terminal.
 */
static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_sigint(int sig)
{
	(void)sig;
	prompt_interrupted = 1;
}

/*
 * readline calls this when a signal interrupted its read: Ctrl-C drops
 * the line being typed and starts a fresh prompt on the next line, as a
 * shell does, instead of ending qmig.  (Ctrl-C while a command runs:
 * `migrate` cancels, see hmp_commands.c; other commands ignore it.)
 */
static int after_signal(void)
{
	if (!prompt_interrupted)
		return 0;
	prompt_interrupted = 0;
	rl_replace_line("", 0);
	rl_crlf();
	rl_on_new_line();
	rl_redisplay();
	return 0;
}

static char *history_path(void)
{
	const char *home = getenv("HOME");
	return home && *home ? xasprintf("%s/.qmig_history", home) : NULL;
}

static int run_tty(struct vm *vm)
{
	struct monitor mon;
	monitor_init(&mon, vm, MONITOR_MODE_TTY);
	char *hist = history_path();
	rl_readline_name = "qmig";
	rl_attempted_completion_function = complete;
	rl_deprep_term_function = deprep_only_for_signals;
	rl_signal_event_hook = after_signal;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	if (hist)
		read_history(hist);
	printf("qmig %s monitor - type 'help' for more information\n",
	       QMIG_VERSION);
	while (!mon.quit) {
		/* a Ctrl-C while the last command ran is no Ctrl-C here */
		prompt_interrupted = 0;
		char *line = readline(PROMPT);
		if (!line)
			break; /* Ctrl-D on an empty line: the session ends */
		mon.line_no++;
		if (*line && (!history_length ||
			      strcmp(history_get(history_base + history_length - 1)->line,
				     line)))
			add_history(line);
		if (*line) {
			hmp_run_line(&mon, line);
			flush_output(&mon);
		}
		free(line);
		if (hist)
			write_history(hist);
	}
	if (!mon.quit)
		putchar('\n');
	fflush(stdout);
	rl_deprep_terminal(); /* the terminal as the session found it */
	free(hist);
	monitor_release(&mon);
	return 0;
}

int monitor_stdio_run(struct vm *vm, const char *label)
{
	/* `info chardev` lists it as QEMU lists -monitor stdio. */
	pthread_mutex_lock(&vm->lock);
	vm_add_chardev_locked(vm, label, "stdio");
	pthread_mutex_unlock(&vm->lock);
	return isatty(STDIN_FILENO) ? run_tty(vm) : run_piped(vm);
}
