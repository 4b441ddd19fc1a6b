/*
 * The monitors' sockets: `unix:PATH,server=on,wait=off` and
 * `tcp:HOST:PORT,server=on,wait=off` as -monitor, -qmp and -chardev take
 * them, listening, and one accept loop with one connection cap for HMP and
 * QMP.  Threads: see the DESIGN comment in chardev.c.
 */
#ifndef QMIG_MONITOR_CHARDEV_H
#define QMIG_MONITOR_CHARDEV_H

#include <stdbool.h>

#include "machine/vm.h"
#include "util/error.h"

struct chardev_spec {
	bool is_unix;
	char *path;          /* unix */
	char *host, *port;   /* tcp */
	bool server, wait;   /* wait: on unless wait=off, as QEMU's */
	char *text;          /* as given, for QEMU's "-monitor TEXT: " */
	const char *option;  /* "-monitor", "-qmp": the caller sets it */
};

/* Parses "unix:PATH,server=on,wait=off" or "tcp:HOST:PORT,...". */
bool chardev_spec_parse(const char *text, struct chardev_spec *spec,
			struct error **errp);
void chardev_spec_release(struct chardev_spec *spec);

/* Binds and listens on the spec's socket (a unix one with mode 0600);
 * returns the listening fd or -1. */
int chardev_listen(const struct chardev_spec *spec, struct error **errp);

/*
 * Monitor connections open at once, HMP and QMP sockets of one VM
 * together.  QEMU has no cap; each session costs a thread (QMP two), so
 * without one, 2000 idle clients made 2003 threads.
 */
#define MONITOR_MAX_CONNECTIONS 64
#define MONITOR_STR_(x) #x
#define MONITOR_STR(x) MONITOR_STR_(x)
/* Why a client past the cap is closed (each front end frames it). */
#define MONITOR_REFUSAL_TEXT \
	"too many monitor connections (the limit is " \
	MONITOR_STR(MONITOR_MAX_CONNECTIONS) ")"

/*
 * Starts a detached thread that accepts connections on listen_fd for the
 * life of the process, once chardev_open_sessions() was called; first_fd,
 * unless -1, is a client accepted during start-up (wait=on, already
 * counted as a session) that goes to on_connect before the others.  A
 * connection takes one of vm's MONITOR_MAX_CONNECTIONS slots and goes to
 * on_connect(ctx, fd), which owns fd from then on; it returns false if it
 * could not start a session (then it has closed fd, and the slot is given
 * back).  A session gives its slot back with chardev_session_end() once it
 * has closed its fd.  With every slot taken, the client reads `refusal`
 * (one line) and is closed, and the thread goes on accepting.  what names
 * the thread kind in the error.  On failure the caller still owns
 * listen_fd.
 */
bool chardev_accept_start(struct vm *vm, int listen_fd, int first_fd,
			  bool (*on_connect)(void *ctx, int fd), void *ctx,
			  const char *what, const char *refusal,
			  struct error **errp);

/*
 * Every monitor of the command line listens now: the accept threads start
 * their sessions.  Until then a client's connection waits in the listen
 * backlog and gets no greeting, as with QEMU, whose monitors run only once
 * its main loop does, after every -chardev/-monitor/-qmp was created; so a
 * client that got a greeting may connect to any other monitor at once.
 */
void chardev_open_sessions(struct vm *vm);

/*
 * QEMU's filename of a listening socket (info chardev, query-chardev):
 * "unix:PATH,server=on", or "tcp:HOST:PORT,server=on" with the address
 * the socket is bound to, so that a port 0 shows the port it got.
 */
char *chardev_filename(const struct chardev_spec *spec, int listen_fd);

/*
 * QEMU's wait=on: tells on stderr where the socket listens (QEMU's info
 * line, "QEMU waiting for connection on: disconnected:FILENAME") and
 * waits for the first client before start-up goes on.  Returns its fd,
 * already counted as a session (chardev_session_end() ends it), or -1
 * after setting *errp.
 */
int chardev_wait_first_client(struct vm *vm, const struct chardev_spec *spec,
			      int listen_fd, const char *filename,
			      struct error **errp);

/* A session started by chardev_accept_start() has ended. */
void chardev_session_end(struct vm *vm);

#endif
