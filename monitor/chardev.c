/*
 * Character-device sockets as the monitors use them: the -monitor, -qmp
 * and -chardev socket syntax, listening (through migration/transport.c,
 * which gives unix sockets mode 0600), and the accept loop with the
 * connection cap that HMP and QMP share.
 *
 * DESIGN
 * Threads: one detached accept thread per listening socket, for the life
 * of the process; it hands each connection to the front end's
 * on_connect(), which starts that session's own thread.  The count of
 * open sessions is vm->monitor_connections, an atomic: the accept thread
 * takes a slot before on_connect(), a session gives it back when it ends.
 * No lock is held across accept() or a session.
 */
#include "monitor/chardev.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/transport.h"
#include "util/sock_io.h"
#include "util/xalloc.h"

bool chardev_spec_parse(const char *text, struct chardev_spec *spec,
			struct error **errp)
{
	memset(spec, 0, sizeof(*spec));
	spec->wait = true; /* QEMU's default for a server */
	char *copy = xstrdup(text);
	char *opts = strchr(copy, ',');
	if (opts)
		*opts++ = '\0';
	bool ok = true;
	struct transport_addr addr;
	if (!strncmp(copy, "unix:", 5)) {
		spec->is_unix = true;
		spec->path = xstrdup(copy + 5);
	} else if (!strncmp(copy, "tcp:", 4) &&
		   transport_parse(copy, &addr, NULL)) {
		spec->host = addr.host;
		spec->port = addr.port;
		addr.host = addr.port = NULL;
		transport_addr_release(&addr);
	} else {
		error_setf(errp, "unsupported monitor device '%s' (stdio, unix:PATH,server=on,wait=off, tcp:HOST:PORT,server=on,wait=off, none)",
			   text);
		ok = false;
	}
	char *save = NULL;
	for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; ok && o;
	     o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "server") || !strcmp(o, "server=on"))
			spec->server = true;
		else if (!strcmp(o, "server=off"))
			spec->server = false;
		else if (!strcmp(o, "wait=off") || !strcmp(o, "nowait"))
			spec->wait = false;
		else if (!strcmp(o, "wait=on") || !strcmp(o, "wait"))
			spec->wait = true;
		else {
			error_setf(errp, "unsupported monitor option '%s'", o);
			ok = false;
		}
	}
	if (ok && !spec->server) {
		error_setf(errp, "monitor sockets must be servers: add ',server=on,wait=off' to '%s'",
			   text);
		ok = false;
	}
	free(copy);
	if (ok)
		spec->text = xstrdup(text);
	else
		chardev_spec_release(spec);
	return ok;
}

void chardev_spec_release(struct chardev_spec *spec)
{
	free(spec->path);
	free(spec->host);
	free(spec->port);
	free(spec->text);
	memset(spec, 0, sizeof(*spec));
}

int chardev_listen(const struct chardev_spec *spec, struct error **errp)
{
	struct transport_addr addr = { 0 };
	bool is_stream;
	pid_t child;
	if (spec->is_unix) {
		addr.kind = TRANSPORT_UNIX;
		addr.path = xstrdup(spec->path);
	} else {
		addr.kind = TRANSPORT_TCP;
		addr.host = xstrdup(spec->host);
		addr.port = xstrdup(spec->port);
	}
	/* (it gives a unix socket file mode 0600) */
	int fd = transport_listen(&addr, NULL, &is_stream, &child, errp);
	transport_addr_release(&addr);
	/* transport_listen's backlog of 1 suits migration, not monitors. */
	if (fd >= 0)
		(void)listen(fd, 16);
	return fd;
}

char *chardev_filename(const struct chardev_spec *spec, int listen_fd)
{
	if (spec->is_unix)
		return xasprintf("unix:%s,server=on", spec->path);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		return xasprintf("tcp:%s:%s,server=on", host, port);
	return xasprintf("tcp:%s:%s,server=on", spec->host, spec->port);
}

struct listener {
	struct vm *vm;
	int fd;
	int first_fd; /* a wait=on client accepted at start-up, or -1 */
	bool (*on_connect)(void *ctx, int fd);
	void *ctx;
	const char *refusal;
};

/*
 * Sends the refusal line and closes.  Nothing here may wait for the
 * client: the send cannot block (a new socket's buffer is empty, and
 * MSG_DONTWAIT), and input the client has already sent is read away
 * first, because closing with unread input resets the connection, which
 * can destroy the line before the client reads it.
 */
static void refuse(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	char sink[4096];
	for (int i = 0; i < 16; i++)
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

int chardev_wait_first_client(struct vm *vm, const struct chardev_spec *spec,
			      int listen_fd, const char *filename,
			      struct error **errp)
{
	/* QEMU's words, "QEMU" included: scripts look for this line. */
	if (spec->option)
		fprintf(stderr, "qmig: %s %s: info: ", spec->option, spec->text);
	else
		fprintf(stderr, "qmig: info: ");
	fprintf(stderr, "QEMU waiting for connection on: disconnected:%s\n",
		filename);
	fflush(stderr);
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			atomic_fetch_add(&vm->monitor_connections, 1);
			return fd;
		}
		if (errno != EINTR && errno != ECONNABORTED) {
			error_setf(errp, "cannot accept a monitor connection: %s",
				   strerror(errno));
			return -1;
		}
	}
}

void chardev_session_end(struct vm *vm)
{
	atomic_fetch_sub(&vm->monitor_connections, 1);
}

void chardev_open_sessions(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->monitors_open = true;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->lock);
}

static void wait_sessions_open(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->monitors_open)
		pthread_cond_wait(&vm->changed, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static void *listener_thread(void *opaque)
{
	struct listener *l = opaque;
	wait_sessions_open(l->vm);
	if (l->first_fd >= 0 && !l->on_connect(l->ctx, l->first_fd))
		chardev_session_end(l->vm);
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		if (atomic_fetch_add(&l->vm->monitor_connections, 1) >=
		    MONITOR_MAX_CONNECTIONS) {
			chardev_session_end(l->vm);
			refuse(fd, l->refusal);
			continue;
		}
		if (!l->on_connect(l->ctx, fd))
			chardev_session_end(l->vm);
	}
	close(l->fd);
	free(l);
	return NULL;
}

bool chardev_accept_start(struct vm *vm, int listen_fd, int first_fd,
			  bool (*on_connect)(void *ctx, int fd), void *ctx,
			  const char *what, const char *refusal,
			  struct error **errp)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	l->vm = vm;
	l->fd = listen_fd;
	l->first_fd = first_fd;
	l->on_connect = on_connect;
	l->ctx = ctx;
	l->refusal = refusal;
	pthread_t t;
	int rc = pthread_create(&t, NULL, listener_thread, l);
	if (rc) {
		error_setf(errp, "cannot create a %s thread: %s", what,
			   strerror(rc));
		free(l);
		return false;
	}
	pthread_detach(t);
	return true;
}
