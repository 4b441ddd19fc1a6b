#include "migration/incoming_accept.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/transport.h"
#include "util/xalloc.h"

/* Connections served at once: channels (up to 255) and a few extra. */
#define MAX_CONNS 320

struct conn {
	struct incoming_accept *ia;
	int fd;            /* -1 once handed over or closed */
	pthread_t thread;
};

struct incoming_accept {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int listen_fd;
	struct multifd_recv *mr;
	incoming_make_mr_fn *make_mr;
	void *make_mr_opaque;
	bool mr_made;
	pthread_t acceptor;
	bool stopping;
	int main_fd;           /* -1 until the main stream came */
	bool main_seen;        /* ... and stays seen after it is taken */
	struct qemu_file *main_file;
	struct error *err;
	struct conn *conns[MAX_CONNS];
	unsigned nconns;
	/* connections accepted and not yet the main stream, closed, or (for
	 * a channel) ended */
	unsigned unsettled;
};

void incoming_accept_fail(void *opaque, struct error *err)
{
	struct incoming_accept *ia = opaque;
	pthread_mutex_lock(&ia->lock);
	if (!ia->err)
		ia->err = err;
	else
		error_free(err);
	if (ia->main_file)
		qemu_file_shutdown(ia->main_file);
	struct multifd_recv *mr = ia->mr;
	pthread_cond_broadcast(&ia->cond);
	pthread_mutex_unlock(&ia->lock);
	/* Outside ia->lock: multifd_recv_sync holds the channels' lock
	 * while it asks ia (the pending callback) for its lock. */
	if (mr)
		multifd_recv_stop(mr);
}

/* The first word, without taking it from the stream; false if fewer
 * than four bytes ever come. */
static bool peek_magic(int fd, uint32_t *magic)
{
	uint8_t b[4];
	ssize_t n;
	do
		n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	*magic = 0;
	if (n != (ssize_t)sizeof(b))
		return false;
	*magic = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		 (uint32_t)b[2] << 8 | b[3];
	return true;
}

static void extra_connection(void)
{
	/* QEMU 7.2's words for it (socket_accept_incoming_migration). */
	fprintf(stderr,
		"qmig: Extra incoming migration connection; ignoring\n");
}

static void *conn_thread(void *opaque)
{
	struct conn *c = opaque;
	struct incoming_accept *ia = c->ia;
	uint32_t magic;
	bool whole = peek_magic(c->fd, &magic);
	/* A connection that closed before its first four bytes while a
	 * channel is still to come is that channel, from a source that gave
	 * up; never the main stream, which may still be on its way (its
	 * bytes come later than that close when the machine is busy).
	 * Asked before ia->lock: the channels' lock comes first. */
	bool lost_channel = !whole && ia->mr &&
			    multifd_recv_channel_missing(ia->mr);

	pthread_mutex_lock(&ia->lock);
	int fd = c->fd;
	c->fd = -1;
	bool stopping = ia->stopping;
	if (!stopping && magic != MULTIFD_MAGIC && !lost_channel &&
	    !ia->main_seen) {
		ia->main_seen = true;
		ia->main_fd = fd;
		ia->unsettled--;
		pthread_cond_broadcast(&ia->cond);
		pthread_mutex_unlock(&ia->lock);
		return NULL;
	}
	pthread_mutex_unlock(&ia->lock);

	/* Any other connection while a channel is still to come is taken as
	 * that channel, as QEMU 7.2 takes every connection after the first:
	 * a lost one's handshake (or a wrong magic) fails the migration when
	 * read, where it would otherwise wait for it at the next sync point. */
	if (!stopping && ia->mr && (magic == MULTIFD_MAGIC || lost_channel ||
				    multifd_recv_channel_missing(ia->mr))) {
		/* Settled: the channels count it from here on (a sync
		 * waits for a missing channel only while one is pending). */
		pthread_mutex_lock(&ia->lock);
		ia->unsettled--;
		pthread_mutex_unlock(&ia->lock);
		multifd_recv_run_channel(ia->mr, fd);
		return NULL;
	}
	if (stopping) {
		close(fd);
	} else if (magic == MULTIFD_MAGIC) {
		extra_connection();
		close(fd);
		struct error *err = NULL;
		error_setf_code(&err, EINVAL,
				"multifd: the source opened a multifd channel, but the multifd capability is off on this destination");
		incoming_accept_fail(ia, err);
	} else {
		extra_connection();
		close(fd);
	}
	pthread_mutex_lock(&ia->lock);
	ia->unsettled--;
	pthread_mutex_unlock(&ia->lock);
	return NULL;
}

bool incoming_accept_pending(void *opaque)
{
	struct incoming_accept *ia = opaque;
	pthread_mutex_lock(&ia->lock);
	/* Under the lock: the acceptor takes it before accept(), so a
	 * connection is either still queued or counted. */
	struct pollfd p = { .fd = ia->listen_fd, .events = POLLIN };
	bool pending = ia->unsettled || poll(&p, 1, 0) == 1;
	pthread_mutex_unlock(&ia->lock);
	return pending;
}

/* Until a connection is queued (true) or the acceptor stops (false);
 * looks at `stopping` every 100 ms. */
static bool wait_connection(struct incoming_accept *ia)
{
	for (;;) {
		struct pollfd p = { .fd = ia->listen_fd, .events = POLLIN };
		int n = poll(&p, 1, 100);
		pthread_mutex_lock(&ia->lock);
		bool stopping = ia->stopping;
		pthread_mutex_unlock(&ia->lock);
		if (stopping)
			return false;
		if (n == 1 && (p.revents & POLLIN))
			return true;
		if (n == 1 || (n < 0 && errno != EINTR))
			return true; /* an error: accept() will say which */
	}
}

static void *acceptor_thread(void *opaque)
{
	struct incoming_accept *ia = opaque;
	while (wait_connection(ia)) {
		struct error *err = NULL;
		/* accept() under the lock, and the count in the same hold:
		 * incoming_accept_pending() never sees a connection that has
		 * left the queue but is not counted yet. */
		pthread_mutex_lock(&ia->lock);
		int fd = transport_accept(ia->listen_fd, &err);
		if (ia->stopping) {
			pthread_mutex_unlock(&ia->lock);
			if (fd >= 0)
				close(fd);
			error_free(err);
			return NULL;
		}
		if (fd < 0) {
			/* No main stream can come any more. */
			if (!ia->main_seen && !ia->err) {
				ia->err = err;
				err = NULL;
			}
			pthread_cond_broadcast(&ia->cond);
			pthread_mutex_unlock(&ia->lock);
			error_free(err);
			return NULL;
		}
		if (!ia->mr_made) {
			ia->mr = ia->make_mr(ia->make_mr_opaque, ia);
			ia->mr_made = true;
		}
		struct conn *c = NULL;
		if (ia->nconns < MAX_CONNS) {
			c = xcalloc(1, sizeof(*c));
			c->ia = ia;
			c->fd = fd;
			ia->unsettled++;
			if (pthread_create(&c->thread, NULL, conn_thread, c)) {
				ia->unsettled--;
				free(c);
				c = NULL;
			} else {
				ia->conns[ia->nconns++] = c;
			}
		}
		pthread_mutex_unlock(&ia->lock);
		if (!c) {
			extra_connection();
			close(fd);
		}
	}
	return NULL;
}

struct incoming_accept *incoming_accept_start(int listen_fd,
					      incoming_make_mr_fn *make_mr,
					      void *opaque,
					      struct error **errp)
{
	struct incoming_accept *ia = xcalloc(1, sizeof(*ia));
	pthread_mutex_init(&ia->lock, NULL);
	pthread_cond_init(&ia->cond, NULL);
	ia->listen_fd = listen_fd;
	ia->make_mr = make_mr;
	ia->make_mr_opaque = opaque;
	ia->main_fd = -1;
	int rc = pthread_create(&ia->acceptor, NULL, acceptor_thread, ia);
	if (rc) {
		error_setf(errp, "cannot create the accept thread: %s",
			   strerror(rc));
		close(listen_fd);
		pthread_cond_destroy(&ia->cond);
		pthread_mutex_destroy(&ia->lock);
		free(ia);
		return NULL;
	}
	return ia;
}

int incoming_accept_main(struct incoming_accept *ia, struct error **errp)
{
	pthread_mutex_lock(&ia->lock);
	while (ia->main_fd < 0 && !ia->err)
		pthread_cond_wait(&ia->cond, &ia->lock);
	int fd = ia->main_fd;
	ia->main_fd = -1;
	if (fd < 0)
		error_setf_code(errp, ia->err->code, "%s", ia->err->msg);
	pthread_mutex_unlock(&ia->lock);
	return fd;
}

struct multifd_recv *incoming_accept_multifd(struct incoming_accept *ia)
{
	pthread_mutex_lock(&ia->lock);
	struct multifd_recv *mr = ia->mr;
	pthread_mutex_unlock(&ia->lock);
	return mr;
}

void incoming_accept_set_main_file(struct incoming_accept *ia,
				   struct qemu_file *f)
{
	pthread_mutex_lock(&ia->lock);
	ia->main_file = f;
	if (f && ia->err)
		qemu_file_shutdown(f);
	pthread_mutex_unlock(&ia->lock);
}

bool incoming_accept_failed(struct incoming_accept *ia, struct error **errp)
{
	pthread_mutex_lock(&ia->lock);
	struct error *err = ia->err;
	ia->err = NULL;
	pthread_mutex_unlock(&ia->lock);
	if (!err)
		return false;
	error_propagate(errp, err);
	return true;
}

void incoming_accept_stop(struct incoming_accept *ia)
{
	pthread_mutex_lock(&ia->lock);
	ia->stopping = true;
	ia->main_file = NULL;
	/* Wakes accept() and any peek still waiting for a first word. */
	shutdown(ia->listen_fd, SHUT_RDWR);
	for (unsigned i = 0; i < ia->nconns; i++)
		if (ia->conns[i]->fd >= 0)
			shutdown(ia->conns[i]->fd, SHUT_RDWR);
	pthread_mutex_unlock(&ia->lock);
	pthread_join(ia->acceptor, NULL);
	for (unsigned i = 0; i < ia->nconns; i++) {
		pthread_join(ia->conns[i]->thread, NULL);
		free(ia->conns[i]);
	}
	if (ia->main_fd >= 0)
		close(ia->main_fd);
	close(ia->listen_fd);
	error_free(ia->err);
	pthread_cond_destroy(&ia->cond);
	pthread_mutex_destroy(&ia->lock);
	free(ia);
}
