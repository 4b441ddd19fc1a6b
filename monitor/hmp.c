#include "monitor/hmp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "migration/migration.h"
#include "migration/options.h"
#include "migration/options_hmp.h"
#include "monitor/preconditions.h"
#include "util/xalloc.h"

const struct hmp_command *hmp_find(const struct hmp_command *table,
				   const char *name)
{
	for (const struct hmp_command *c = table; c->name; c++)
		if (!strcmp(c->name, name) ||
		    (c->alias && !strcmp(c->alias, name)))
			return c;
	return NULL;
}

void hmp_format_help_line(struct strbuf *out, const char *prefix,
			  const struct hmp_command *cmd)
{
	strbuf_addstr(out, prefix);
	strbuf_addstr(out, cmd->name);
	if (cmd->alias)
		strbuf_addf(out, "|%s", cmd->alias);
	strbuf_addf(out, " %s -- %s\n", cmd->params, cmd->help);
}

/* ---- the argument parser ---- */

static const char *skip_spaces(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/*
 * Reads one word or a "quoted string" (backslash escapes \n \r \\ \" \')
 * into *out.  Returns the position after it, or NULL at the end of line or
 * on an unterminated quote.
 */
static const char *get_word(const char *p, char **out)
{
	p = skip_spaces(p);
	if (!*p)
		return NULL;
	struct strbuf sb;
	strbuf_init(&sb);
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			char c = *p++;
			if (c == '\\' && *p) {
				c = *p++;
				c = c == 'n' ? '\n' : c == 'r' ? '\r' : c;
			}
			strbuf_addch(&sb, c);
		}
		if (*p != '"') {
			strbuf_release(&sb);
			return NULL;
		}
		p++;
	} else {
		while (*p && !isspace((unsigned char)*p))
			strbuf_addch(&sb, *p++);
	}
	*out = strbuf_detach(&sb);
	return p;
}

/* Expressions as QEMU's HMP reads them: spaces between tokens are
 * skipped, so "0 -1" is one expression. */
struct expr {
	const char *p;
	const char *error; /* set once */
	char bad;
};

static int64_t expr_sum(struct expr *e);

/*
 * Whether the operator at e->p is followed by an operand.  QEMU reads
 * `pmemsave 0 4096 /tmp/f` as a division by "tmp" and fails; in qmig a '/'
 * (or any operator) not followed by an operand ends the expression, so
 * absolute file names work.
 */
static bool operand_follows(const struct expr *e)
{
	const char *q = skip_spaces(e->p + 1);
	return isdigit((unsigned char)*q) || *q == '(' || *q == '-' ||
	       *q == '+' || *q == '~';
}

static int64_t expr_unary(struct expr *e)
{
	e->p = skip_spaces(e->p);
	char c = *e->p;
	if (c == '-' || c == '+') {
		e->p++;
		int64_t v = expr_unary(e);
		/* wraps as + - * do: -INT64_MIN is INT64_MIN */
		return c == '-' ? (int64_t)(0 - (uint64_t)v) : v;
	}
	if (c == '~') {
		e->p++;
		return ~expr_unary(e);
	}
	if (c == '(') {
		e->p++;
		int64_t v = expr_sum(e);
		e->p = skip_spaces(e->p);
		if (*e->p != ')') {
			if (!e->error)
				e->error = "')' expected";
			return 0;
		}
		e->p++;
		return v;
	}
	if (!isdigit((unsigned char)c)) {
		if (!e->error) {
			e->error = c ? "invalid char" : "unexpected end of expression";
			e->bad = c;
		}
		return 0;
	}
	char *end;
	errno = 0;
	uint64_t v = strtoull(e->p, &end, 0);
	if (errno && !e->error)
		e->error = "number too large";
	e->p = end;
	return (int64_t)v;
}

static int64_t expr_product(struct expr *e)
{
	int64_t v = expr_unary(e);
	for (;;) {
		e->p = skip_spaces(e->p);
		char op = *e->p;
		if ((op != '*' && op != '/' && op != '%') ||
		    !operand_follows(e))
			return v;
		e->p++;
		int64_t r = expr_unary(e);
		if (op == '*') {
			v = (int64_t)((uint64_t)v * (uint64_t)r);
		} else if (r == 0) {
			if (!e->error)
				e->error = "division by zero";
			return 0;
		} else if (r == -1) {
			/* INT64_MIN / -1 traps on x86 (QEMU 7.2 dies of
			 * SIGFPE here); wrap instead, as + - * do. */
			v = op == '/' ? (int64_t)(0 - (uint64_t)v) : 0;
		} else {
			v = op == '/' ? v / r : v % r;
		}
	}
}

static int64_t expr_sum(struct expr *e)
{
	int64_t v = expr_product(e);
	for (;;) {
		e->p = skip_spaces(e->p);
		char op = *e->p;
		if ((op != '+' && op != '-' && op != '&' && op != '|' &&
		     op != '^') ||
		    !operand_follows(e))
			return v;
		e->p++;
		int64_t r = expr_product(e);
		switch (op) {
		case '+': v = (int64_t)((uint64_t)v + (uint64_t)r); break;
		case '-': v = (int64_t)((uint64_t)v - (uint64_t)r); break;
		case '&': v &= r; break;
		case '|': v |= r; break;
		default: v ^= r; break;
		}
	}
}

/* Names that must be known, after the parse (QEMU's order of errors). */
static bool resolve_names(struct monitor *mon, const struct hmp_command *cmd,
			  struct hmp_values *v)
{
	for (int i = 0; cmd->args[i].name; i++) {
		if (cmd->args[i].type != HMP_ARG_CAPABILITY)
			continue;
		struct error *err = NULL;
		v->num[i] = mig_cap_lookup_hmp(v->str[i], &err);
		if (v->num[i] < 0) {
			monitor_error(mon, err->msg);
			error_free(err);
			return false;
		}
	}
	return true;
}

/* The leading "-d", also grouped as "-di"; returns where the other
 * arguments start, or NULL after reporting. */
static const char *parse_flags(struct monitor *mon,
			       const struct hmp_command *cmd,
			       const char *help_name, const char *p,
			       struct hmp_values *v)
{
	bool takes_flags = false;
	for (int i = 0; cmd->args[i].name; i++)
		takes_flags |= cmd->args[i].type == HMP_ARG_FLAG;
	for (;;) {
		p = skip_spaces(p);
		if (*p != '-' || !takes_flags)
			return p;
		for (p++; *p && !isspace((unsigned char)*p); p++) {
			int found = -1;
			for (int i = 0; cmd->args[i].name; i++)
				if (cmd->args[i].type == HMP_ARG_FLAG &&
				    cmd->args[i].flag == *p)
					found = i;
			if (found < 0) {
				monitor_usage_error(mon, help_name,
						    "%s: unsupported option -%c",
						    cmd->name, *p);
				return NULL;
			}
			v->on[found] = true;
		}
	}
}

/* One integer expression; returns what follows, or NULL after reporting. */
static const char *parse_int(struct monitor *mon, const char *help_name,
			     const char *p, int64_t *out)
{
	/* (nothing at all is "unexpected end of expression", as QEMU) */
	struct expr e = { .p = p };
	*out = expr_sum(&e);
	if (!e.error)
		return e.p;
	if (e.bad)
		monitor_usage_error(mon, help_name,
				    "invalid char '%c' in expression", e.bad);
	else
		monitor_usage_error(mon, help_name, "%s", e.error);
	return NULL;
}

/*
 * xp's `/fmt` ([COUNT][FORMAT][SIZE] letters in any order, or nothing):
 * what is absent is the session's last format and size, which this
 * updates at once, before the rest of the line is parsed (as QEMU).
 * Returns what follows, or NULL after reporting.
 */
static const char *parse_format(struct monitor *mon, const char *help_name,
				const char *p, struct hmp_format *f)
{
	p = skip_spaces(p);
	if (*p != '/') {
		f->count = 1;
		f->format = mon->last_format;
		f->size = f->format == 'i' ? -1 : mon->last_size;
		return p;
	}
	p++;
	f->count = 1;
	if (isdigit((unsigned char)*p)) {
		char *end;
		f->count = (int)strtoul(p, &end, 10);
		p = end;
	}
	int format = -1, size = -1;
	for (;; p++) {
		if (strchr("oduxic", *p) && *p)
			format = *p;
		else if (*p == 'b')
			size = 1;
		else if (*p == 'h')
			size = 2;
		else if (*p == 'w')
			size = 4;
		else if (*p == 'g' || *p == 'L')
			size = 8;
		else
			break;
	}
	if (*p && !isspace((unsigned char)*p)) {
		monitor_usage_error(mon, help_name,
				    "invalid char in format: '%c'", *p);
		return NULL;
	}
	if (format < 0)
		format = mon->last_format;
	if (format != 'i') {
		/* for 'i' an absent size stays -1 */
		if (size < 0)
			size = mon->last_size;
		mon->last_size = size;
	}
	mon->last_format = (char)format;
	f->format = (char)format;
	f->size = size;
	return p;
}

/* Argument i of cmd from p; returns what follows, or NULL after
 * reporting.  Words go to owned[i], which the caller frees. */
static const char *parse_arg(struct monitor *mon, const struct hmp_command *cmd,
			     const char *help_name, int i, const char *p,
			     struct hmp_values *v, char **owned)
{
	const struct hmp_arg *a = &cmd->args[i];
	const char *name = cmd->name;
	char *word = NULL;
	const char *next;
	switch (a->type) {
	case HMP_ARG_FLAG:
		return p;
	case HMP_ARG_STR:
	case HMP_ARG_OPT_STR:
	case HMP_ARG_CAPABILITY:
		next = get_word(p, &word);
		if (!next) {
			if (a->type == HMP_ARG_OPT_STR)
				return p;
			monitor_usage_error(mon, help_name,
					    "%s: string expected", name);
			return NULL;
		}
		owned[i] = word;
		v->str[i] = word;
		return next;
	case HMP_ARG_ON_OFF:
		next = get_word(p, &word);
		if (!next || (strcmp(word, "on") && strcmp(word, "off"))) {
			free(word);
			monitor_usage_error(mon, help_name,
					    "Expected 'on' or 'off'");
			return NULL;
		}
		v->on[i] = !strcmp(word, "on");
		free(word);
		return next;
	case HMP_ARG_INT:
		return parse_int(mon, help_name, p, &v->num[i]);
	case HMP_ARG_INT32:
		next = parse_int(mon, help_name, p, &v->num[i]);
		if (next && (uint64_t)v->num[i] > UINT32_MAX) {
			monitor_usage_error(mon, help_name,
					    "'%s' has failed: integer is for 32-bit values",
					    name);
			return NULL;
		}
		return next;
	case HMP_ARG_FORMAT:
		return parse_format(mon, help_name, p, &v->fmt);
	case HMP_ARG_OPT_INT:
		if (!*skip_spaces(p))
			return p;
		v->on[i] = true;
		return parse_int(mon, help_name, p, &v->num[i]);
	}
	return NULL;
}

/*
 * Fills v from the text after the command name; false after reporting.
 * Errors start with the row's name and point to `help HELP_NAME`, which
 * for an info sub-command is "info NAME" (QEMU 7.2: `status: extraneous
 * characters ...` then `Try "help info status" ...`).
 */
static bool parse_args(struct monitor *mon, const struct hmp_command *cmd,
		       const char *help_name, const char *p,
		       struct hmp_values *v, char **owned)
{
	if (cmd->args[0].name)
		p = parse_flags(mon, cmd, help_name, p, v);
	for (int i = 0; p && cmd->args[i].name; i++)
		p = parse_arg(mon, cmd, help_name, i, p, v, owned);
	if (!p)
		return false;
	if (*skip_spaces(p)) {
		monitor_usage_error(mon, help_name,
				    "%s: extraneous characters at the end of line",
				    cmd->name);
		return false;
	}
	return resolve_names(mon, cmd, v);
}

/*
 * Parses the arguments, then runs the handler unless the session's allow
 * hook hides the command: then it is `unknown command: 'NAME'` (NAME as
 * typed), after its arguments were parsed, so that a fuzzer that hides
 * pmemsave still covers the expression parser.
 */
static void run_command(struct monitor *mon, const struct hmp_command *cmd,
			const char *full_name, const char *typed,
			const char *rest)
{
	struct hmp_values v;
	memset(&v, 0, sizeof(v));
	char *owned[HMP_MAX_ARGS] = { 0 };
	struct error *err = NULL;
	if (!parse_args(mon, cmd, full_name, rest, &v, owned)) {
		/* reported */
	} else if (mon->allow && !mon->allow(mon->allow_opaque, full_name)) {
		monitor_usage_error(mon, NULL, "unknown command: '%s'", typed);
	} else if (!preconditions_check_locked(mon->vm, cmd->flags, &err)) {
		monitor_error(mon, err->msg);
		error_free(err);
	} else {
		cmd->handler(mon, &v);
	}
	for (int i = 0; i < HMP_MAX_ARGS; i++)
		free(owned[i]);
}

void hmp_dispatch(struct monitor *mon, const char *line)
{
	const char *p = skip_spaces(line);
	if (!*p)
		return;
	const char *end = p;
	while (*end && !isspace((unsigned char)*end))
		end++;
	char *name = xstrndup(p, (size_t)(end - p));
	const struct hmp_command *cmd = hmp_find(hmp_commands, name);
	if (!cmd) {
		monitor_usage_error(mon, NULL, "unknown command: '%s'", name);
		free(name);
		return;
	}
	if (cmd->subcommands) {
		/* `info X`: a second table; `info` alone lists it. */
		const char *q = skip_spaces(end);
		if (*q) {
			const char *qend = q;
			while (*qend && !isspace((unsigned char)*qend))
				qend++;
			char *sub = xstrndup(q, (size_t)(qend - q));
			const struct hmp_command *sc =
				hmp_find(cmd->subcommands, sub);
			if (!sc) {
				monitor_usage_error(mon, NULL,
						    "unknown command: '%s %s'",
						    cmd->name, sub);
			} else {
				char *full = xasprintf("%s %s", cmd->name,
						       sc->name);
				char *typed = xasprintf("%s %s", name, sub);
				run_command(mon, sc, full, typed, qend);
				free(typed);
				free(full);
			}
			free(sub);
			free(name);
			return;
		}
	}
	run_command(mon, cmd, cmd->name, name, end);
	free(name);
}

/* ---- completion ---- */

static void complete_from_table(const struct hmp_command *table,
				const char *word,
				void (*add)(void *, const char *), void *opaque)
{
	size_t n = strlen(word);
	for (const struct hmp_command *c = table; c->name; c++)
		if (!strncmp(c->name, word, n))
			add(opaque, c->name);
}

static void complete_on_off(const char *word,
			    void (*add)(void *, const char *), void *opaque)
{
	size_t n = strlen(word);
	if (!strncmp("on", word, n))
		add(opaque, "on");
	if (!strncmp("off", word, n))
		add(opaque, "off");
}

/* The values of parameter `name` (as typed, underscores allowed as the
 * setter allows them); numbers, sizes and strings complete to nothing. */
static void complete_param_value(const char *name, const char *word,
				 void (*add)(void *, const char *),
				 void *opaque)
{
	int i = name ? mig_param_lookup(name, true) : -1;
	if (i < 0)
		return;
	const struct mig_param_info *p = &mig_param_table[i];
	if (p->hmp_syntax == MIG_HMP_BOOL) {
		complete_on_off(word, add, opaque);
	} else if (p->hmp_syntax == MIG_HMP_ENUM) {
		size_t n = strlen(word);
		for (const char *const *e = p->enum_names; *e; e++)
			if (!strncmp(*e, word, n))
				add(opaque, *e);
	}
}

/* Candidates for a value of kind; prev is the positional word before it
 * (NULL if none). */
static void complete_value(enum hmp_completion kind, const char *prev,
			   const char *word,
			   void (*add)(void *, const char *), void *opaque)
{
	size_t n = strlen(word);
	switch (kind) {
	case HMP_COMPLETE_COMMAND:
		complete_from_table(hmp_commands, word, add, opaque);
		break;
	case HMP_COMPLETE_CAPABILITY:
		for (int i = 0; i < MIG_CAP__COUNT; i++)
			if (!strncmp(mig_cap_table[i].name, word, n))
				add(opaque, mig_cap_table[i].name);
		break;
	case HMP_COMPLETE_PARAMETER:
		for (int i = 0; i < MIG_PARAM__COUNT; i++)
			if (!strncmp(mig_param_table[i].name, word, n))
				add(opaque, mig_param_table[i].name);
		break;
	case HMP_COMPLETE_ON_OFF:
		complete_on_off(word, add, opaque);
		break;
	case HMP_COMPLETE_PARAM_VALUE:
		complete_param_value(prev, word, add, opaque);
		break;
	case HMP_COMPLETE_STATUS:
		for (int i = 0; i < MIG_STATUS__COUNT; i++)
			if (!strncmp(mig_status_name((enum mig_status)i), word,
				     n))
				add(opaque, mig_status_name((enum mig_status)i));
		break;
	case HMP_COMPLETE_NONE:
	case HMP_COMPLETE_FILE:
		break;
	}
}

void hmp_complete(const char *line, const char *word,
		  void (*add)(void *opaque, const char *candidate),
		  void *opaque)
{
	/* Split what precedes the word into words. */
	char *words[8];
	int nwords = 0;
	const char *p = line;
	for (;;) {
		p = skip_spaces(p);
		if (!*p || nwords == 8)
			break;
		const char *e = p;
		while (*e && !isspace((unsigned char)*e))
			e++;
		words[nwords++] = xstrndup(p, (size_t)(e - p));
		p = e;
	}
	if (nwords == 0) {
		complete_from_table(hmp_commands, word, add, opaque);
		goto out;
	}
	const struct hmp_command *cmd = hmp_find(hmp_commands, words[0]);
	if (!cmd)
		goto out;
	if (cmd->subcommands) {
		if (nwords == 1)
			complete_from_table(cmd->subcommands, word, add, opaque);
		goto out;
	}
	/* `help info SUB`: the second word of help completes info's table. */
	if (cmd->args[0].complete == HMP_COMPLETE_COMMAND && nwords == 2) {
		const struct hmp_command *c = hmp_find(hmp_commands, words[1]);
		if (c && c->subcommands)
			complete_from_table(c->subcommands, word, add, opaque);
		goto out;
	}
	/* Which positional argument is being completed: flag words ("-d")
	 * before it are not positional. */
	bool takes_flags = false;
	for (int i = 0; cmd->args[i].name; i++)
		takes_flags |= cmd->args[i].type == HMP_ARG_FLAG;
	int argi = 0;
	const char *prev = NULL;
	for (int i = 1; i < nwords; i++)
		if (!(takes_flags && words[i][0] == '-')) {
			argi++;
			prev = words[i];
		}
	if (takes_flags && word[0] == '-')
		goto out;
	for (int i = 0, pos = 0; cmd->args[i].name; i++) {
		if (cmd->args[i].type == HMP_ARG_FLAG)
			continue;
		if (pos++ == argi) {
			complete_value(cmd->args[i].complete, prev, word, add,
				       opaque);
			break;
		}
	}
out:
	for (int i = 0; i < nwords; i++)
		free(words[i]);
}

void hmp_run_line(struct monitor *mon, const char *line)
{
	mon->failed = false;
	/* Kept before it runs, as QEMU's readline: `info history` shows
	 * itself. */
	monitor_history_add(mon, line);
	pthread_mutex_lock(&mon->vm->lock);
	hmp_dispatch(mon, line);
	pthread_mutex_unlock(&mon->vm->lock);
}
