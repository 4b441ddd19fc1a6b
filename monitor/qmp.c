/*
 * QMP sessions: the greeting, request checks, capabilities negotiation,
 * argument checks from the command table, and replies (contract in
 * qmp.h).  Checks and texts follow QEMU 7.2's qmp-dispatch.c and its
 * QObject input visitor, in the same order, so that the first error a
 * client sees is QEMU's.
 */
#include "monitor/qmp.h"

#include <stdlib.h>
#include <string.h>

#include "migration/options.h"
#include "monitor/preconditions.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define CLASS_GENERIC "GenericError"
#define CLASS_NOT_FOUND "CommandNotFound"

void qmp_session_init(struct qmp_session *s, struct qmp_server *srv,
		      const struct qmp_session_ops *ops, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->server = srv;
	s->vm = srv->vm;
	s->ops = ops;
	s->opaque = opaque;
	qmp_streamer_init(&s->in);
	pthread_mutex_lock(&srv->lock);
	s->next = srv->sessions;
	srv->sessions = s;
	pthread_mutex_unlock(&srv->lock);
}

void qmp_session_release(struct qmp_session *s)
{
	struct qmp_server *srv = s->server;
	pthread_mutex_lock(&srv->lock);
	for (struct qmp_session **p = &srv->sessions; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	qmp_streamer_release(&s->in);
}

/* Sends v (consumed) as one line. */
static void send_value(struct qmp_session *s, json_t *v)
{
	struct strbuf line;
	strbuf_init(&line);
	qmp_json_dump(v, &line);
	strbuf_addstr(&line, "\r\n");
	json_decref(v);
	s->ops->send(s->opaque, line.buf, line.len);
	strbuf_release(&line);
}

json_t *qmp_version_json(void)
{
	json_t *qemu = json_object();
	json_object_set_new(qemu, "micro", json_integer(QMP_QEMU_MICRO));
	json_object_set_new(qemu, "minor", json_integer(QMP_QEMU_MINOR));
	json_object_set_new(qemu, "major", json_integer(QMP_QEMU_MAJOR));
	json_t *v = json_object();
	json_object_set_new(v, "qemu", qemu);
	json_object_set_new(v, "package", json_string(QMP_PACKAGE));
	return v;
}

void qmp_session_greet(struct qmp_session *s)
{
	json_t *qmp = json_object();
	json_object_set_new(qmp, "version", qmp_version_json());
	json_object_set_new(qmp, "capabilities", json_pack("[s]", "oob"));
	json_t *greeting = json_object();
	json_object_set_new(greeting, "QMP", qmp);
	send_value(s, greeting);
}

static void send_error(struct qmp_session *s, const char *cls,
		       const char *desc, json_t *id)
{
	json_t *err = json_object();
	json_object_set_new(err, "class", json_string(cls));
	json_object_set_new(err, "desc", json_string_nocheck(desc));
	json_t *reply = json_object();
	json_object_set_new(reply, "error", err);
	if (id)
		json_object_set(reply, "id", id);
	send_value(s, reply);
}

static const char *type_name(enum qmp_arg_type type)
{
	switch (type) {
	case QMP_ARG_STR: return "string";
	case QMP_ARG_BOOL: return "boolean";
	case QMP_ARG_INT: return "integer";
	case QMP_ARG_ARRAY: return "array";
	case QMP_ARG_ANY: break;
	}
	return "any";
}

static bool arg_type_ok(enum qmp_arg_type type, const json_t *v)
{
	int64_t i;
	switch (type) {
	case QMP_ARG_STR: return qmp_json_is_string(v);
	case QMP_ARG_BOOL: return json_is_boolean(v);
	case QMP_ARG_INT: return qmp_json_get_i64(v, &i);
	case QMP_ARG_ARRAY: return json_is_array(v);
	case QMP_ARG_ANY: return true;
	}
	return false;
}

static bool is_declared(const struct qmp_command *cmd, const char *key)
{
	if (cmd->flags & QMP_CMD_PARAMS)
		return mig_param_lookup(key, false) >= 0;
	for (const struct qmp_arg *a = cmd->args; a->name; a++)
		if (!strcmp(a->name, key))
			return true;
	return false;
}

/* QEMU's input visitor on the arguments object: members in schema
 * order, then the deeper checks, then unexpected members. */
static bool check_args(struct qmp_session *s, const struct qmp_command *cmd,
		       json_t *args, struct error **errp)
{
	for (const struct qmp_arg *a = cmd->args; a->name; a++) {
		json_t *v = json_object_get(args, a->name);
		if (!v) {
			if (a->optional)
				continue;
			error_setf(errp, "Parameter '%s' is missing", a->name);
			return false;
		}
		if (!arg_type_ok(a->type, v)) {
			error_setf(errp,
				   "Invalid parameter type for '%s', expected: %s",
				   a->name, type_name(a->type));
			return false;
		}
	}
	if (cmd->visit && !cmd->visit(s, args, errp))
		return false;
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v) {
		if (!is_declared(cmd, key)) {
			error_setf(errp, "Parameter '%s' is unexpected", key);
			return false;
		}
	}
	return true;
}

/* qmp_dispatch_check_obj(): the request's own members. */
static const char *check_request(struct qmp_session *s, json_t *req,
				 const char **exec_key, struct strbuf *err)
{
	const char *key;
	json_t *v;
	*exec_key = NULL;
	json_object_foreach(req, key, v) {
		if (!strcmp(key, "execute") ||
		    (!strcmp(key, "exec-oob") && s->oob)) {
			if (!qmp_json_is_string(v)) {
				strbuf_addf(err,
					    "QMP input member '%s' must be a string",
					    key);
				return err->buf;
			}
			if (*exec_key) {
				strbuf_addf(err,
					    "QMP input member '%s' clashes with '%s'",
					    key, *exec_key);
				return err->buf;
			}
			*exec_key = key;
		} else if (!strcmp(key, "arguments")) {
			if (!json_is_object(v)) {
				strbuf_addstr(err,
					      "QMP input member 'arguments' must be an object");
				return err->buf;
			}
		} else if (strcmp(key, "id")) {
			strbuf_addf(err, "QMP input member '%s' is unexpected",
				    key);
			return err->buf;
		}
	}
	if (!*exec_key) {
		strbuf_addstr(err, "QMP input lacks member 'execute'");
		return err->buf;
	}
	return NULL;
}

static bool negotiated(struct qmp_session *s)
{
	pthread_mutex_lock(&s->server->lock);
	bool done = s->negotiated;
	pthread_mutex_unlock(&s->server->lock);
	return done;
}

/* Checks the arguments, runs the handler (under vm->lock unless the row
 * says otherwise) and sends its return value or error. */
static void run_command(struct qmp_session *s, const struct qmp_command *cmd,
			json_t *req, json_t *id)
{
	json_t *args = json_object_get(req, "arguments");
	json_t *own_args = NULL;
	if (!args)
		args = own_args = json_object();
	struct error *err = NULL;
	json_t *ret = NULL;
	s->error_class = CLASS_GENERIC;
	if (check_args(s, cmd, args, &err)) {
		bool lock = !(cmd->flags & QMP_CMD_UNLOCKED);
		if (lock)
			pthread_mutex_lock(&s->vm->lock);
		/* No rule is read for an empty set, so unlocked rows
		 * (which carry none) never look at the vm here. */
		if (preconditions_check_locked(s->vm, cmd->flags, &err))
			ret = cmd->handler(s, args, &err);
		if (lock)
			pthread_mutex_unlock(&s->vm->lock);
	}
	json_decref(own_args);
	if (ret) {
		json_t *reply = json_object();
		json_object_set_new(reply, "return", ret);
		if (id)
			json_object_set(reply, "id", id);
		send_value(s, reply);
	} else {
		send_error(s, s->error_class,
			   err ? err->msg : "command failed", id);
		error_free(err);
	}
}

void qmp_session_handle(struct qmp_session *s, json_t *req,
			const char *parse_error)
{
	if (s->quit) {
		/* After `quit` nothing more runs (the process is exiting). */
		json_decref(req);
		return;
	}
	if (!req) {
		send_error(s, CLASS_GENERIC, parse_error, NULL);
		return;
	}
	if (!json_is_object(req)) {
		send_error(s, CLASS_GENERIC, "QMP input must be a JSON object",
			   NULL);
		json_decref(req);
		return;
	}
	json_t *id = json_object_get(req, "id");
	struct strbuf text;
	strbuf_init(&text);
	const char *exec_key;
	const char *bad = check_request(s, req, &exec_key, &text);
	if (bad) {
		send_error(s, CLASS_GENERIC, bad, id);
		goto out;
	}
	const char *name = json_string_value(json_object_get(req, exec_key));
	const struct qmp_command *cmd = qmp_find_command(name);
	if (cmd && s->ops->allow && !s->ops->allow(s->opaque, name))
		cmd = NULL;
	bool ready = negotiated(s);
	if (!ready && (!cmd || strcmp(name, "qmp_capabilities"))) {
		/* QEMU only knows qmp_capabilities before negotiation, and
		 * rewrites CommandNotFound into this hint. */
		send_error(s, CLASS_NOT_FOUND,
			   "Expecting capabilities negotiation with 'qmp_capabilities'",
			   id);
		goto out;
	}
	if (!cmd) {
		strbuf_addf(&text, "The command %s has not been found", name);
		send_error(s, CLASS_NOT_FOUND, text.buf, id);
		goto out;
	}
	if (!strcmp(exec_key, "exec-oob") &&
	    strcmp(name, "migrate-recover") && strcmp(name, "migrate-pause")) {
		strbuf_addf(&text, "The command %s does not support OOB", name);
		send_error(s, CLASS_GENERIC, text.buf, id);
		goto out;
	}

	run_command(s, cmd, req, id);
out:
	strbuf_release(&text);
	json_decref(req);
}

static void on_message(void *opaque, json_t *value, const char *error)
{
	qmp_session_handle(opaque, value, error);
}

void qmp_session_feed(struct qmp_session *s, const char *data, size_t len)
{
	qmp_streamer_feed(&s->in, data, len, on_message, s);
}
