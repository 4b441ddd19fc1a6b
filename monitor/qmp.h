/*
 * QMP, the JSON monitor protocol (QEMU 7.2's, as libvirt drives it):
 * one session per client connection, a server that holds the sessions
 * and delivers events to them, and the command table.
 *
 * Protocol (shared/docs/monitor-reference.md §10): the greeting, then
 * `qmp_capabilities` before anything else; each request is a JSON object
 * {"execute": NAME, "arguments"?: {...}, "id"?: any}; each reply and
 * event is one line ending in "\r\n": {"return": ...} or {"error":
 * {"class", "desc"}}, with the request's id echoed.  Events go only to
 * sessions that finished negotiation.
 *
 * A session does no I/O itself: the front end (monitor/qmp_socket.c, or
 * a test) feeds it bytes and gives it a `send` callback that must queue
 * without blocking for long, because events are sent from engine threads
 * that hold vm->lock.
 *
 * DESIGN (threads and locks)
 *   - A session is fed by one thread at a time (its reader).  Commands run
 *     on that thread, with vm->lock held except where the row says
 *     otherwise (human-monitor-command takes it inside the HMP layer).
 *   - server->lock guards the session list and each session's
 *     `negotiated` flag, and is taken by the event broadcaster, which may
 *     run with vm->lock held.  Order: vm->lock, then server->lock, then
 *     whatever the send callback takes.  Never take vm->lock while
 *     holding server->lock.
 *   - The fd registry has its own lock (monitor/fd_registry.h).
 */
#ifndef QMIG_MONITOR_QMP_H
#define QMIG_MONITOR_QMP_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "migration/transport.h"
#include "machine/vm.h"
#include "monitor/fd_registry.h"
#include "monitor/qmp_json.h"
#include "util/error.h"

/* What QEMU says in the greeting and query-version. */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 22
#define QMP_PACKAGE "qmig " QMIG_VERSION

struct qmp_session;

struct qmp_server {
	struct vm *vm;
	pthread_mutex_t lock;          /* sessions, session->negotiated */
	struct qmp_session *sessions;  /* linked through ->next */
	struct fd_registry fds;        /* getfd/closefd, fd: URIs */
};

/* The front end's side of a session. */
struct qmp_session_ops {
	/* Queues one message (ends in "\r\n"); must not block for long. */
	void (*send)(void *opaque, const char *buf, size_t len);
	/* getfd: the descriptor that came with the latest input, or -1.
	 * Ownership passes to the caller.  NULL: never any. */
	int (*take_fd)(void *opaque);
	/* Optional: false hides a command (CommandNotFound), e.g. a fuzzer
	 * that must not start migrations or write files.  NULL: all. */
	bool (*allow)(void *opaque, const char *command);
	/* Optional: waits until what was queued is sent, or until
	 * deadline_ns (CLOCK_REALTIME), whichever comes first. */
	void (*flush)(void *opaque, int64_t deadline_ns);
};

struct qmp_session {
	struct qmp_server *server;
	struct vm *vm;
	const struct qmp_session_ops *ops;
	void *opaque;
	struct qmp_streamer in;
	bool negotiated;          /* server->lock; qmp_capabilities done */
	bool oob;                 /* negotiated with "enable": ["oob"] */
	bool quit;                /* `quit` ran: flush, then exit(0) */
	const char *error_class;  /* the failing command's class */
	struct qmp_session *next; /* server->lock */
};

/*
 * Sets up the server and makes it vm's event sink (vm->event_fn), so
 * that MIGRATION, STOP, RESUME... reach every negotiated session.
 */
void qmp_server_init(struct qmp_server *srv, struct vm *vm);

/* The server's getfd registry as the fd:NAME names of a migration that a
 * QMP command starts (the server outlives every migration). */
struct transport_fd_names qmp_server_fd_names(struct qmp_server *srv);

/*
 * Sends an event to every negotiated session now: {"timestamp":
 * {"seconds", "microseconds"}, "event": NAME, "data"?: data}.  data
 * (may be NULL) is borrowed.  May be called with vm->lock held.
 */
void qmp_server_emit(struct qmp_server *srv, const char *event,
		     const json_t *data);

/* Before the process exits (quit, a host signal): what every session
 * has queued, its last events, reaches its client, for at most
 * QMP_EXIT_FLUSH_MS in all (a client that does not read is left). */
#define QMP_EXIT_FLUSH_MS 1000
void qmp_server_flush(struct qmp_server *srv);

/* Records a monitor character device for query-chardev and `info
 * chardev` (vm->chardevs; takes vm->lock). */
void qmp_server_add_chardev(struct qmp_server *srv, const char *label,
			    const char *filename);

/* {"qemu": {"micro", "minor", "major"}, "package"}: query-version and
 * the greeting. */
json_t *qmp_version_json(void);

/* A new session, registered with the server (events from now on once
 * negotiated).  Sends nothing: call qmp_session_greet(). */
void qmp_session_init(struct qmp_session *s, struct qmp_server *srv,
		      const struct qmp_session_ops *ops, void *opaque);
/* Unregisters and frees what the session holds; send is not called
 * after this returns. */
void qmp_session_release(struct qmp_session *s);

void qmp_session_greet(struct qmp_session *s);
/* Input bytes; runs each complete request and sends its reply. */
void qmp_session_feed(struct qmp_session *s, const char *data, size_t len);
/* Runs one parsed request (value owned by the callee), or reports a
 * parse error (value NULL).  What qmp_session_feed() calls. */
void qmp_session_handle(struct qmp_session *s, json_t *value,
			const char *parse_error);

/* ---- the command table (monitor/qmp_commands.c) ---- */

enum qmp_arg_type {
	QMP_ARG_STR,
	QMP_ARG_BOOL,
	QMP_ARG_INT,      /* int64 */
	QMP_ARG_ARRAY,
	QMP_ARG_ANY,      /* checked by the command's visit function */
};

struct qmp_arg {
	const char *name;
	enum qmp_arg_type type;
	bool optional;
};

#define QMP_MAX_ARGS 6

/* Command flags. */
/* Row flags: these, and the CMD_* preconditions of
 * monitor/preconditions.h (bits 16 and up). */
#define QMP_CMD_UNLOCKED  (1u << 0) /* runs without vm->lock */
#define QMP_CMD_PARAMS    (1u << 1) /* members are migration parameters */

struct qmp_command {
	const char *name;
	struct qmp_arg args[QMP_MAX_ARGS]; /* ends at name == NULL */
	unsigned flags;
	/*
	 * Optional: the deeper checks QEMU's input visitor makes (element
	 * types, enum values), after the members' own types and before the
	 * "Parameter 'x' is unexpected" check.
	 */
	bool (*visit)(struct qmp_session *s, json_t *args,
		      struct error **errp);
	/* Returns the "return" value (new reference), or NULL and *errp. */
	json_t *(*handler)(struct qmp_session *s, json_t *args,
			   struct error **errp);
};

extern const struct qmp_command qmp_commands[]; /* ends at name == NULL */
const struct qmp_command *qmp_find_command(const char *name);

#endif
