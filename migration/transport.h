/*
 * Migration transports, by URI as QEMU 7.2 spells them:
 *   tcp:HOST:PORT   (HOST may be [v6addr]; port 0 picks one when listening)
 *   unix:PATH
 *   exec:COMMAND    (sh -c COMMAND; the source writes to its stdin, the
 *                    destination reads its stdout)
 *   fd:NAME         (a descriptor the monitor received with getfd)
 *
 * Parsing is separate from connecting, so that `migrate` can refuse a bad
 * URI synchronously (QEMU's errors) while the connect itself runs on the
 * migration thread.
 */
#ifndef QMIG_MIGRATION_TRANSPORT_H
#define QMIG_MIGRATION_TRANSPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

enum transport_kind { TRANSPORT_TCP, TRANSPORT_UNIX, TRANSPORT_EXEC,
		      TRANSPORT_FD };

struct transport_addr {
	enum transport_kind kind;
	char *host;     /* TCP: host without brackets */
	char *port;     /* TCP: service string */
	char *path;     /* UNIX: socket path; EXEC: command; FD: name */
};

/*
 * fd:NAME -- where named descriptors come from: the store of the monitor
 * that gave the command (QMP getfd, monitor/fd_registry.h), passed with the
 * command, never process-wide.  has(opaque, name) tells whether the name
 * is known (checked when the command runs, so that an unknown name is its
 * error, as in QEMU; has may be NULL: then only take decides, at connect);
 * take(opaque, name) removes the descriptor from the
 * store and returns it (the transport owns it from then on), or -1.  Both
 * may run on any thread; opaque must outlive every migration that uses it.
 * Outgoing, the descriptor is the stream; incoming, it is the already
 * connected stream too (no accept).  Without names, or for an unknown
 * name: QEMU's "File descriptor named 'NAME' has not been found".
 */
struct transport_fd_names {
	bool (*has)(void *opaque, const char *name);
	int (*take)(void *opaque, const char *name);
	void *opaque;
};

/* "File descriptor named 'NAME' has not been found" unless addr is no fd:
 * URI, names or names->has is NULL (checked only at connect), or names
 * has it. */
bool transport_check_fd_name(const struct transport_addr *addr,
			     const struct transport_fd_names *names,
			     struct error **errp);

/* QEMU's errors: "Parameter 'uri' expects a valid migration protocol",
 * "error parsing address '127.0.0.1'". */
/* The URI starts with tcp:, unix:, exec: or fd:. */
bool transport_scheme_known(const char *uri);

bool transport_parse(const char *uri, struct transport_addr *addr,
		     struct error **errp);
void transport_addr_release(struct transport_addr *addr);

/* What a listening destination reports: "tcp:127.0.0.1:41234". */
char *transport_addr_describe(const struct transport_addr *addr);

/*
 * Outgoing: returns a connected, blocking fd (or -1 with QEMU's message,
 * e.g. "Failed to connect to '127.0.0.1:1': Connection refused").  For exec
 * *child is the command's pid (reap with transport_reap); else -1.  An
 * fd: URI takes its descriptor from fds (may be NULL: none known).
 */
int transport_connect(const struct transport_addr *addr,
		      const struct transport_fd_names *fds, pid_t *child,
		      struct error **errp);

/*
 * Incoming, first half: binds and listens (tcp, unix) and returns the
 * listening fd; for tcp port 0 addr->port is updated to the real port.
 * A unix socket file is replaced if it exists and gets mode 0600 before
 * it accepts connections (the monitors' sockets too).
 * exec starts the command and returns its stdout directly (*is_stream
 * true: no accept needed), and so does fd: from fds (may be NULL).
 */
int transport_listen(struct transport_addr *addr,
		     const struct transport_fd_names *fds, bool *is_stream,
		     pid_t *child, struct error **errp);
/* Incoming, second half: waits for the one connection. */
int transport_accept(int listen_fd, struct error **errp);

/* Waits for an exec child; returns its wait status (0 for -1, and -1
 * if it cannot be waited for). */
int transport_reap(pid_t child);

/*
 * Outgoing exec:, once the last byte is written and before fd is closed:
 * a pipe takes a small stream whole even when the command never reads it,
 * so the writes succeeding proves nothing.  Waits until the command has
 * read everything still in the pipe (true) or has closed its end with
 * bytes left unread (false: the stream was not taken).  *stop turning
 * true (migrate_cancel) ends the wait early with false.
 */
bool transport_exec_drained(int fd, const atomic_bool *stop);

/*
 * Outgoing socket without return path, once the last byte is written:
 * waits until the kernel holds none of the stream (SIOCOUTQ: TCP's unsent
 * and unacknowledged bytes, a unix socket's bytes the peer has not read),
 * then up to a second for the destination to close it (which it does once
 * it has loaded everything), so that the downtime ends when the
 * destination has everything rather than when the last byte entered our
 * buffer.  A queue that does not shrink for a second (a destination that
 * stopped reading) ends the wait as if drained.  true also when fd cannot
 * tell (not a socket); false when *stop turned true first.
 */
bool transport_socket_drained(int fd, const atomic_bool *stop);

/*
 * Without a return path, how a destination closes the stream is all a
 * source hears of how its load ended.  A failing qmig destination closes
 * with a reset (transport_reset_on_close), as any socket closed with
 * bytes unread does; a loaded one closes cleanly.  The source asks
 * transport_socket_was_reset once the close came: true for a reset.
 */
void transport_reset_on_close(int fd);
bool transport_socket_was_reset(int fd);

/*
 * Whether an exec command's wait status means success (it exited 0);
 * otherwise false with "Command 'CMD' exited with status N" or "Command
 * 'CMD' was killed by signal N (NAME)".  (QEMU 7.2 reaps the command
 * without looking at the status and fails only when a write breaks, which
 * its streams, larger than a pipe, nearly always meet; it has no message
 * of its own for this.)
 */
bool transport_exec_status_ok(const char *cmd, int wait_status,
			      struct error **errp);

#endif
