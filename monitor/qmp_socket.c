/*
 * QMP socket front end (contract in qmp_socket.h).
 *
 * DESIGN
 * Threads: one listener per socket; per connection a reader (receives,
 * feeds the session, runs the commands) and a writer (sends the outbox).
 * Buffers: the outbox belongs to the connection, guarded by out_lock;
 * the session's send callback only appends to it, so that events
 * emitted by engine threads under vm->lock never wait for a client.
 * Descriptors received with input belong to the reader thread until
 * getfd takes one (then the fd registry owns it).
 * Ordering: replies and events enter the outbox in the order they are
 * produced and leave it in that order.
 * Shutdown: on EOF, error, or an overfull outbox the reader unregisters
 * the session (no more events), tells the writer to finish, joins it,
 * closes the socket, frees the connection and gives back its slot
 * (chardev_session_end).  After `quit` the reader
 * waits for every session's outbox to drain (qmp_server_flush, bounded),
 * then exits the process with status 0, as QEMU does.
 */
#include "monitor/qmp_socket.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migration/transport.h"
#include "util/strbuf.h"
#include "util/sock_io.h"
#include "util/xalloc.h"

struct qmp_conn {
	int fd;
	struct qmp_session session;

	pthread_mutex_t out_lock;   /* guards the four fields below */
	pthread_cond_t out_cond;    /* outbox changed / writer idle */
	struct strbuf out;          /* bytes not yet taken by the writer */
	bool writing;               /* the writer is sending a batch */
	bool closing;               /* the reader is done: writer exits */
	bool dead;                  /* send failed or outbox overflowed */
	pthread_t writer;

	int fds[QMP_MAX_FDS_PER_MSG]; /* reader only: the latest fds */
	int nfds;
};

static void conn_send(void *opaque, const char *buf, size_t len)
{
	struct qmp_conn *c = opaque;
	pthread_mutex_lock(&c->out_lock);
	if (!c->dead) {
		if (c->out.len + len > QMP_MAX_OUTBOX_BYTES) {
			/* A client that does not read is dropped. */
			c->dead = true;
			shutdown(c->fd, SHUT_RDWR);
		} else {
			strbuf_add(&c->out, buf, len);
		}
	}
	pthread_cond_broadcast(&c->out_cond);
	pthread_mutex_unlock(&c->out_lock);
}

static void close_fds(struct qmp_conn *c)
{
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
}

/* QEMU's tcp_get_msgfds: the first fd, the others are closed. */
static int conn_take_fd(void *opaque)
{
	struct qmp_conn *c = opaque;
	if (!c->nfds)
		return -1;
	int fd = c->fds[0];
	for (int i = 1; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
	return fd;
}

static void *writer_thread(void *opaque)
{
	struct qmp_conn *c = opaque;
	struct strbuf batch;
	strbuf_init(&batch);
	pthread_mutex_lock(&c->out_lock);
	for (;;) {
		while (!c->out.len && !c->closing)
			pthread_cond_wait(&c->out_cond, &c->out_lock);
		if (!c->out.len)
			break;
		struct strbuf tmp = batch;
		batch = c->out;
		c->out = tmp;
		strbuf_reset(&c->out);
		c->writing = true;
		pthread_mutex_unlock(&c->out_lock);
		bool ok = c->dead || sock_send_all(c->fd, batch.buf, batch.len);
		strbuf_reset(&batch);
		pthread_mutex_lock(&c->out_lock);
		c->writing = false;
		if (!ok && !c->dead) {
			c->dead = true;
			shutdown(c->fd, SHUT_RDWR);
		}
		pthread_cond_broadcast(&c->out_cond);
	}
	pthread_mutex_unlock(&c->out_lock);
	strbuf_release(&batch);
	return NULL;
}

/* Waits until everything queued so far has been sent (or the client is
 * gone). */
static void conn_flush(void *opaque, int64_t deadline_ns)
{
	struct qmp_conn *c = opaque;
	struct timespec until = { .tv_sec = deadline_ns / 1000000000,
				  .tv_nsec = deadline_ns % 1000000000 };
	pthread_mutex_lock(&c->out_lock);
	while ((c->out.len || c->writing) && !c->dead)
		if (pthread_cond_timedwait(&c->out_cond, &c->out_lock,
					   &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&c->out_lock);
}

static const struct qmp_session_ops conn_ops = {
	.send = conn_send,
	.take_fd = conn_take_fd,
	.flush = conn_flush,
};

/* Reads once; keeps descriptors that came along.  Bytes read, 0 at EOF,
 * -1 on error. */
static ssize_t conn_recv(struct qmp_conn *c, char *buf, size_t cap)
{
	union {
		char space[CMSG_SPACE(sizeof(int) * QMP_MAX_FDS_PER_MSG)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.space,
			      .msg_controllen = sizeof(control.space) };
	ssize_t n;
	do
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int fds[QMP_MAX_FDS_PER_MSG];
		if (count > QMP_MAX_FDS_PER_MSG)
			count = QMP_MAX_FDS_PER_MSG;
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)count);
		/* New descriptors replace unclaimed older ones (QEMU). */
		close_fds(c);
		memcpy(c->fds, fds, sizeof(int) * (size_t)count);
		c->nfds = count;
	}
	return n;
}

static void *reader_thread(void *opaque)
{
	struct qmp_conn *c = opaque;
	struct vm *vm = c->session.vm; /* for the slot, after c is freed */
	char buf[4096];

	qmp_session_greet(&c->session);
	for (;;) {
		ssize_t n = conn_recv(c, buf, sizeof(buf));
		if (n <= 0)
			break;
		qmp_session_feed(&c->session, buf, (size_t)n);
		if (c->session.quit) {
			/* SHUTDOWN goes to every client, as in QEMU. */
			qmp_server_flush(c->session.server);
			fflush(stdout);
			_exit(0);
		}
		pthread_mutex_lock(&c->out_lock);
		bool dead = c->dead;
		pthread_mutex_unlock(&c->out_lock);
		if (dead)
			break;
	}
	qmp_session_release(&c->session);
	pthread_mutex_lock(&c->out_lock);
	c->closing = true;
	pthread_cond_broadcast(&c->out_cond);
	pthread_mutex_unlock(&c->out_lock);
	pthread_join(c->writer, NULL);
	close_fds(c);
	close(c->fd);
	strbuf_release(&c->out);
	pthread_mutex_destroy(&c->out_lock);
	pthread_cond_destroy(&c->out_cond);
	free(c);
	chardev_session_end(vm);
	return NULL;
}

static bool start_conn(void *ctx, int fd)
{
	struct qmp_server *srv = ctx;
	struct qmp_conn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	pthread_mutex_init(&c->out_lock, NULL);
	pthread_cond_init(&c->out_cond, NULL);
	strbuf_init(&c->out);
	if (pthread_create(&c->writer, NULL, writer_thread, c))
		goto fail;
	qmp_session_init(&c->session, srv, &conn_ops, c);
	pthread_t t;
	if (pthread_create(&t, NULL, reader_thread, c)) {
		qmp_session_release(&c->session);
		pthread_mutex_lock(&c->out_lock);
		c->closing = true;
		pthread_cond_broadcast(&c->out_cond);
		pthread_mutex_unlock(&c->out_lock);
		pthread_join(c->writer, NULL);
		goto fail;
	}
	pthread_detach(t);
	return true;
fail:
	close(fd);
	strbuf_release(&c->out);
	free(c);
	return false;
}

/* A QMP error object, so that a client reading JSON gets the reason. */
static const char refusal[] =
	"{\"error\": {\"class\": \"GenericError\", \"desc\": \""
	MONITOR_REFUSAL_TEXT "\"}}\r\n";

bool qmp_socket_start_fd(struct qmp_server *srv, int listen_fd,
			 const char *label, const char *filename,
			 struct error **errp)
{
	if (!chardev_accept_start(srv->vm, listen_fd, -1, start_conn, srv,
				  "QMP", refusal, errp))
		return false;
	qmp_server_add_chardev(srv, label, filename);
	return true;
}

bool qmp_socket_start(struct qmp_server *srv, const struct chardev_spec *spec,
		      const char *label, struct error **errp)
{
	int fd = chardev_listen(spec, errp);
	if (fd < 0)
		return false;
	char *filename = chardev_filename(spec, fd);
	if (spec->wait) {
		/* listed before its first client can ask */
		qmp_server_add_chardev(srv, label, filename);
		int first = chardev_wait_first_client(srv->vm, spec, fd,
						      filename, errp);
		bool ok = first >= 0 &&
			  chardev_accept_start(srv->vm, fd, first, start_conn,
					       srv, "QMP", refusal, errp);
		if (!ok && first >= 0) {
			close(first);
			chardev_session_end(srv->vm);
		}
		if (!ok)
			close(fd);
		free(filename);
		return ok;
	}
	bool ok = qmp_socket_start_fd(srv, fd, label, filename, errp);
	if (!ok)
		close(fd);
	free(filename);
	return ok;
}
