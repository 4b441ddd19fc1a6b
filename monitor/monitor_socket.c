#include "monitor/monitor_socket.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/migration.h"
#include "migration/transport.h"
#include "monitor/line_reader.h"
#include "monitor/monitor.h"
#include "util/strbuf.h"
#include "util/sock_io.h"
#include "util/xalloc.h"

#define PROMPT "(qmig) "

bool chardev_spec_parse(const char *text, struct chardev_spec *spec,
			struct error **errp)
{
	memset(spec, 0, sizeof(*spec));
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
	if (ok && spec->wait) {
		error_setf(errp, "'wait=on' is not supported: use ',wait=off' in '%s'",
			   text);
		ok = false;
	}
	free(copy);
	if (!ok)
		chardev_spec_release(spec);
	return ok;
}

void chardev_spec_release(struct chardev_spec *spec)
{
	free(spec->path);
	free(spec->host);
	free(spec->port);
	memset(spec, 0, sizeof(*spec));
}

struct session {
	struct vm *vm;
	int fd;
};

/* Sends text with "\n" turned into "\r\n", as QEMU's monitor writes. */
static bool send_text(int fd, const char *text, size_t len)
{
	struct strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			strbuf_addch(&sb, '\r');
		strbuf_addch(&sb, text[i]);
	}
	bool ok = sock_send_all(fd, sb.buf, sb.len);
	strbuf_release(&sb);
	return ok;
}

static void *session_thread(void *opaque)
{
	struct session *s = opaque;
	struct monitor mon;
	monitor_init(&mon, s->vm, MONITOR_MODE_SOCKET);
	char banner[128];
	snprintf(banner, sizeof(banner),
		 "qmig %s monitor - type 'help' for more information\n",
		 QMIG_VERSION);
	bool ok = send_text(s->fd, banner, strlen(banner)) &&
		  sock_send_all(s->fd, PROMPT, strlen(PROMPT));

	/* A line runs only once its '\n' has come, and only if it is whole
	 * (line_reader.h); what follows the last '\n' at EOF is dropped. */
	struct line_reader in;
	line_reader_init(&in, true);
	char buf[4096];
	while (ok && !mon.quit) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t off = 0;
		while (off < (size_t)n && ok && !mon.quit) {
			off += line_reader_feed(&in, buf + off, (size_t)n - off);
			if (!in.complete)
				break;
			mon.line_no++;
			if (line_reader_check(&in, &mon))
				monitor_run_line(&mon, in.line.buf);
			line_reader_next(&in);
			ok = send_text(s->fd, mon.out.buf, mon.out.len);
			strbuf_reset(&mon.out);
			if (mon.quit)
				break;
			ok = ok && sock_send_all(s->fd, PROMPT, strlen(PROMPT));
		}
	}
	bool quit = mon.quit;
	struct vm *vm = s->vm;
	line_reader_release(&in);
	monitor_release(&mon);
	close(s->fd);
	free(s);
	chardev_session_end(vm);
	if (quit) {
		/* QEMU exits at once on `quit`; so do we. */
		pthread_mutex_lock(&vm->lock);
		migration_reap_locked(vm);
		pthread_mutex_unlock(&vm->lock);
		fflush(stdout);
		exit(0);
	}
	return NULL;
}

struct listener {
	struct vm *vm;
	int fd;
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

void chardev_session_end(struct vm *vm)
{
	atomic_fetch_sub(&vm->monitor_connections, 1);
}

static void *listener_thread(void *opaque)
{
	struct listener *l = opaque;
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

bool chardev_accept_start(struct vm *vm, int listen_fd,
			  bool (*on_connect)(void *ctx, int fd), void *ctx,
			  const char *what, const char *refusal,
			  struct error **errp)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	l->vm = vm;
	l->fd = listen_fd;
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

/* One HMP session thread per connection. */
static bool start_session(void *ctx, int fd)
{
	struct session *s = xcalloc(1, sizeof(*s));
	s->vm = ctx;
	s->fd = fd;
	pthread_t t;
	if (pthread_create(&t, NULL, session_thread, s)) {
		close(fd);
		free(s);
		return false;
	}
	pthread_detach(t);
	return true;
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

bool monitor_socket_start(struct vm *vm, const struct chardev_spec *spec,
			  struct error **errp)
{
	int fd = chardev_listen(spec, errp);
	if (fd < 0)
		return false;
	if (!chardev_accept_start(vm, fd, start_session, vm, "monitor",
				  "Error: " MONITOR_REFUSAL_TEXT "\r\n", errp)) {
		close(fd);
		return false;
	}
	return true;
}
