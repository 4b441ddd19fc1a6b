#include "migration/multifd_send.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/multifd_codec.h"
#include "migration/multifd_sched.h"
#include "util/clock.h"
#include "util/sock_io.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/zero_copy.h"

/* Packets a channel holds: its packets of pages (multifd_sched.h) and
 * the SYNC packets queued behind them, so that a sync point does not
 * wait for the write. */
#define MF_QUEUE (2 * MULTIFD_SCHED_AHEAD + 2)

struct mf_channel {
	struct multifd_send *mf;
	unsigned id;
	pthread_t thread;
	bool thread_started;
	int fd;                    /* -1 until connected; guarded by lock */
	/* Packets to send, oldest at head (offsets, flags, packet_num);
	 * guarded by lock.  A channel writes them in order, so a SYNC
	 * separates the sections on it (see multifd_send_sync). */
	struct multifd_packet job[MF_QUEUE];
	unsigned head, count;
	unsigned page_jobs;        /* of count, those with pages */
	struct multifd_codec *codec;
	uint8_t header[MULTIFD_PACKET_BYTES];
	uint8_t *zbuf;             /* compressed payload */
	struct iovec *iov;         /* header + pages */
	struct zero_copy zc;       /* zero-copy-send: the thread's own */
};

struct multifd_send {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	bool quit;
	struct error *err;
	struct transport_addr addr;
	struct multifd_send_config cfg;
	struct guest_ram *ram;
	struct mig_stats *stats;
	const atomic_bool *guest_running;
	struct qemu_file *main;
	unsigned n;
	struct mf_channel *ch;
	struct multifd_sched_load *load; /* pick_locked's, lock held */

	/* the migration thread's own */
	struct multifd_packet batch;
	uint64_t packet_num;
	unsigned next;

	atomic_uint_fast64_t wire_bytes;
	atomic_uint_fast64_t pending_bytes;
	/* Packets of pages written: their pages' bytes, and what went on
	 * the wire for them (the ratio multifd_send_pending_bytes uses). */
	atomic_uint_fast64_t raw_done;
	atomic_uint_fast64_t wire_done;
};

/* Shuts every channel and the main stream down (lock held). */
static void shutdown_all_locked(struct multifd_send *mf)
{
	for (unsigned i = 0; i < mf->n; i++)
		if (mf->ch[i].fd >= 0)
			shutdown(mf->ch[i].fd, SHUT_RDWR);
	if (mf->main)
		qemu_file_shutdown(mf->main);
}

/* A channel failed: the first error stays, everything stops. */
static void fail(struct multifd_send *mf, struct error *err)
{
	pthread_mutex_lock(&mf->lock);
	if (!mf->err && !mf->quit)
		mf->err = err;
	else
		error_free(err);
	mf->quit = true;
	shutdown_all_locked(mf);
	pthread_cond_broadcast(&mf->work);
	pthread_cond_broadcast(&mf->done);
	pthread_mutex_unlock(&mf->lock);
}

static void count_wire(struct mf_channel *c, uint64_t n)
{
	struct mig_stats *s = c->mf->stats;
	STAT_ADD(c->mf->wire_bytes, n);
	STAT_ADD(s->transferred, n);
	STAT_ADD(s->multifd_bytes, n);
	if (atomic_load_explicit(c->mf->guest_running, memory_order_relaxed))
		STAT_ADD(s->precopy_bytes, n);
	else
		STAT_ADD(s->downtime_bytes, n);
}

static bool stopped(void *opaque)
{
	struct multifd_send *mf = opaque;
	pthread_mutex_lock(&mf->lock);
	bool quit = mf->quit;
	pthread_mutex_unlock(&mf->lock);
	return quit;
}

/*
 * The header and the pages in c->iov[0..niov).  With zero-copy-send, as
 * QEMU 7.2: the header copied, the pages sent from guest RAM, and after a
 * SYNC every send acknowledged before the channel goes on (so that no
 * copy of a page in flight is older than the sync point), a flush in
 * which the kernel copied after all counted as QEMU counts it.
 */
static bool write_packet(struct mf_channel *c, int niov, struct error **errp)
{
	struct multifd_send *mf = c->mf;
	bool ok;
	if (!mf->cfg.zero_copy) {
		ok = sock_sendv_all(c->fd, c->iov, niov);
	} else {
		ok = sock_send_all(c->fd, c->header, MULTIFD_PACKET_BYTES) &&
		     zero_copy_sendv(&c->zc, c->iov + 1, niov - 1);
	}
	if (ok)
		return true;
	if (errno == ENOBUFS && mf->cfg.zero_copy)
		error_setf_code(errp, errno,
				"Process can't lock enough memory for using MSG_ZEROCOPY");
	else
		error_setf_code(errp, errno, "Unable to write to socket: %s",
				strerror(errno));
	return false;
}

/* After a SYNC with zero-copy-send: every send acknowledged. */
static bool flush_zero_copy(struct mf_channel *c, struct error **errp)
{
	int ret = zero_copy_flush(&c->zc, stopped, c->mf);
	if (ret < 0) {
		error_setf_code(errp, errno, "Unable to write to socket: %s",
				strerror(errno));
		return false;
	}
	if (ret == 1)
		STAT_ADD(c->mf->stats->zero_copy_fallbacks, 1);
	return true;
}

/* Builds and writes one packet; false with *errp on failure. */
static bool send_packet(struct mf_channel *c, struct multifd_packet *p,
			struct error **errp)
{
	struct multifd_send *mf = c->mf;
	int niov = 1;
	c->iov[0] = (struct iovec){ c->header, MULTIFD_PACKET_BYTES };
	if (p->pages) {
		p->flags |= multifd_method_flag(mf->cfg.method);
		if (c->codec) {
			const uint8_t *pages[MULTIFD_PACKET_PAGES];
			for (uint32_t i = 0; i < p->pages; i++)
				pages[i] = mf->ram->host + p->offset[i];
			long len = multifd_codec_compress(c->codec, pages,
							  p->pages, c->zbuf,
							  errp);
			if (len < 0)
				return false;
			p->next_packet_size = (uint32_t)len;
			c->iov[niov++] = (struct iovec){ c->zbuf, (size_t)len };
		} else {
			p->next_packet_size = p->pages * RAM_PAGE_SIZE;
			/* Straight from guest RAM: a page written meanwhile is
			 * dirty again and goes once more. */
			for (uint32_t i = 0; i < p->pages; i++)
				c->iov[niov++] = (struct iovec){
					mf->ram->host + p->offset[i],
					RAM_PAGE_SIZE };
		}
	}
	multifd_packet_encode(c->header, p, GUEST_RAM_BLOCK_NAME);
	if (!write_packet(c, niov, errp))
		return false;
	uint64_t wire = MULTIFD_PACKET_BYTES + (uint64_t)p->next_packet_size;
	count_wire(c, wire);
	if (p->pages) {
		STAT_ADD(mf->raw_done, (uint64_t)p->pages * RAM_PAGE_SIZE);
		STAT_ADD(mf->wire_done, wire);
	}
	return true;
}

static bool connect_channel(struct mf_channel *c, struct error **errp)
{
	struct multifd_send *mf = c->mf;
	pid_t child;
	int fd = transport_connect(&mf->addr, NULL, &child, errp);
	if (fd < 0)
		return false;
	pthread_mutex_lock(&mf->lock);
	c->fd = fd;
	bool quit = mf->quit;
	pthread_mutex_unlock(&mf->lock);
	if (quit) { /* cancelled while connecting */
		error_setf(errp, "multifd %u: cancelled", c->id);
		return false;
	}
	uint8_t init[MULTIFD_INIT_BYTES];
	multifd_init_encode(init, (uint8_t)c->id);
	if (!sock_send_all(fd, init, sizeof(init))) {
		error_setf_code(errp, errno, "Unable to write to socket: %s",
				strerror(errno));
		return false;
	}
	count_wire(c, sizeof(init));
	return true;
}

static void *channel_thread(void *opaque)
{
	struct mf_channel *c = opaque;
	struct multifd_send *mf = c->mf;
	struct error *err = NULL;

	if (!connect_channel(c, &err)) {
		fail(mf, err);
		return NULL;
	}
	if (mf->cfg.zero_copy && !zero_copy_enable(&c->zc, c->fd)) {
		error_setf_code(&err, errno,
				"Zero copy send feature not detected in host kernel");
		fail(mf, err);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&mf->lock);
		while (!c->count && !mf->quit)
			pthread_cond_wait(&mf->work, &mf->lock);
		if (mf->quit) {
			pthread_mutex_unlock(&mf->lock);
			break;
		}
		struct multifd_packet p = c->job[c->head];
		pthread_mutex_unlock(&mf->lock);

		uint64_t raw = (uint64_t)p.pages * RAM_PAGE_SIZE;
		if (!send_packet(c, &p, &err) ||
		    (mf->cfg.zero_copy && (p.flags & MULTIFD_FLAG_SYNC) &&
		     !flush_zero_copy(c, &err))) {
			fail(mf, err);
			break;
		}
		atomic_fetch_sub_explicit(&mf->pending_bytes, raw,
					  memory_order_relaxed);
		pthread_mutex_lock(&mf->lock);
		c->head = (c->head + 1) % MF_QUEUE;
		c->count--;
		if (p.pages)
			c->page_jobs--;
		pthread_cond_broadcast(&mf->done);
		pthread_mutex_unlock(&mf->lock);
	}
	return NULL;
}

static void copy_addr(struct transport_addr *dst,
		      const struct transport_addr *src)
{
	dst->kind = src->kind;
	dst->host = src->host ? xstrdup(src->host) : NULL;
	dst->port = src->port ? xstrdup(src->port) : NULL;
	dst->path = src->path ? xstrdup(src->path) : NULL;
}

struct multifd_send *multifd_send_start(const struct transport_addr *addr,
					const struct multifd_send_config *cfg,
					struct guest_ram *ram,
					struct mig_stats *stats,
					const atomic_bool *guest_running,
					struct qemu_file *main,
					struct error **errp)
{
	struct multifd_send *mf = xcalloc(1, sizeof(*mf));
	pthread_mutex_init(&mf->lock, NULL);
	pthread_cond_init(&mf->work, NULL);
	pthread_cond_init(&mf->done, NULL);
	copy_addr(&mf->addr, addr);
	mf->cfg = *cfg;
	mf->ram = ram;
	mf->stats = stats;
	mf->guest_running = guest_running;
	mf->main = main;
	mf->n = cfg->channels;
	mf->ch = xcalloc(mf->n, sizeof(*mf->ch));
	mf->load = xcalloc(mf->n, sizeof(*mf->load));
	for (unsigned i = 0; i < mf->n; i++) {
		struct mf_channel *c = &mf->ch[i];
		c->mf = mf;
		c->id = i;
		c->fd = -1;
		c->iov = xcalloc(MULTIFD_PACKET_PAGES + 1, sizeof(*c->iov));
		if (cfg->method != MULTIFD_NONE) {
			c->zbuf = xmalloc(MULTIFD_COMPRESSED_MAX);
			c->codec = multifd_codec_new_compress(cfg->method,
							      cfg->level, i,
							      errp);
			if (!c->codec)
				goto fail;
		}
	}
	for (unsigned i = 0; i < mf->n; i++) {
		struct mf_channel *c = &mf->ch[i];
		/* QEMU's names, so that `top -H` tells them apart (ids are
		 * below 256: multifd-channels is a u8) */
		char name[16];
		snprintf(name, sizeof(name), "multifdsend_%u", i & 0xff);
		if (!thread_start(&c->thread, channel_thread, c, name, errp))
			goto fail;
		c->thread_started = true;
	}
	return mf;
fail:
	multifd_send_finish(mf);
	return NULL;
}

/* Queues p on c (lock held, c->count < MF_QUEUE), numbered in the order
 * packets are queued, which is the order the destination keeps. */
static void push_locked(struct multifd_send *mf, struct mf_channel *c,
			const struct multifd_packet *p)
{
	struct multifd_packet *slot = &c->job[(c->head + c->count) % MF_QUEUE];
	*slot = *p;
	slot->packet_num = mf->packet_num++;
	c->count++;
	if (p->pages)
		c->page_jobs++;
	pthread_cond_broadcast(&mf->work);
}

/* The channel for the next packet of pages (lock held), NULL when
 * every one is full (multifd_sched_pick). */
static struct mf_channel *pick_locked(struct multifd_send *mf)
{
	struct multifd_sched_load *load = mf->load;
	for (unsigned i = 0; i < mf->n; i++)
		load[i] = (struct multifd_sched_load){ mf->ch[i].page_jobs,
						       mf->ch[i].count };
	unsigned i = multifd_sched_pick(load, mf->n, mf->next, MF_QUEUE);
	return i < mf->n ? &mf->ch[i] : NULL;
}

/* Hands p to a channel (pick_locked), waiting for one; false on failure. */
static bool hand_over(struct multifd_send *mf, struct multifd_packet *p)
{
	pthread_mutex_lock(&mf->lock);
	for (;;) {
		if (mf->quit) {
			pthread_mutex_unlock(&mf->lock);
			return false;
		}
		struct mf_channel *c = pick_locked(mf);
		if (c) {
			push_locked(mf, c, p);
			mf->next = (c->id + 1) % mf->n;
			STAT_ADD(mf->pending_bytes,
				 (uint64_t)p->pages * RAM_PAGE_SIZE);
			pthread_mutex_unlock(&mf->lock);
			return true;
		}
		pthread_cond_wait(&mf->done, &mf->lock);
	}
}

bool multifd_send_queue_page(struct multifd_send *mf, uint64_t offset)
{
	mf->batch.offset[mf->batch.pages++] = offset;
	if (mf->batch.pages < MULTIFD_PACKET_PAGES)
		return true;
	bool ok = hand_over(mf, &mf->batch);
	mf->batch.pages = 0;
	return ok;
}

/* Until every channel wrote all it holds, or quit (lock held). */
static void wait_written_locked(struct multifd_send *mf)
{
	for (unsigned i = 0; i < mf->n && !mf->quit; i++)
		while (mf->ch[i].count && !mf->quit)
			pthread_cond_wait(&mf->done, &mf->lock);
}

bool multifd_send_sync(struct multifd_send *mf, bool written)
{
	if (mf->batch.pages) {
		bool ok = hand_over(mf, &mf->batch);
		mf->batch.pages = 0;
		if (!ok)
			return false;
	}
	pthread_mutex_lock(&mf->lock);
	/* One SYNC packet per channel, queued after that channel's last
	 * packet of pages: the next section's packets on that channel come
	 * after it (hand_over waits for an empty queue). */
	const struct multifd_packet sync = { .flags = MULTIFD_FLAG_SYNC };
	for (unsigned i = 0; i < mf->n; i++) {
		struct mf_channel *c = &mf->ch[i];
		while (c->count == MF_QUEUE && !mf->quit)
			pthread_cond_wait(&mf->done, &mf->lock);
		if (mf->quit)
			break;
		push_locked(mf, c, &sync);
	}
	if (written)
		wait_written_locked(mf);
	bool ok = !mf->quit;
	pthread_mutex_unlock(&mf->lock);
	return ok;
}

bool multifd_send_wait_written(struct multifd_send *mf)
{
	pthread_mutex_lock(&mf->lock);
	wait_written_locked(mf);
	bool ok = !mf->quit;
	pthread_mutex_unlock(&mf->lock);
	return ok;
}

uint64_t multifd_send_wire_bytes(struct multifd_send *mf)
{
	return mf ? STAT_GET(mf->wire_bytes) : 0;
}

uint64_t multifd_send_pending_bytes(struct multifd_send *mf)
{
	if (!mf)
		return 0;
	return multifd_sched_pending_wire(STAT_GET(mf->pending_bytes),
					  STAT_GET(mf->raw_done),
					  STAT_GET(mf->wire_done));
}

/* How long the end waits for the destination to close its channels. */
#define MF_CLOSE_WAIT_MS 1000

/* The socket error once the peer has closed fd (or the deadline passed):
 * ECONNRESET for a channel closed with bytes unread, 0 for a clean end. */
static int error_after_close(int fd, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - clock_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };
		if (left <= 0 || poll(&p, 1, (int)left) != 0)
			break;
	}
	int code = 0;
	socklen_t len = sizeof(code);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &len) < 0)
		return 0;
	return code;
}

bool multifd_send_reset_by_peer(struct multifd_send *mf)
{
	int64_t deadline = clock_now_ms() + MF_CLOSE_WAIT_MS;
	struct error *err = NULL;
	for (unsigned i = 0; i < mf->n && !err; i++) {
		/* Closed only by multifd_send_finish, which comes later. */
		pthread_mutex_lock(&mf->lock);
		int fd = mf->ch[i].fd;
		pthread_mutex_unlock(&mf->lock);
		int code = fd >= 0 ? error_after_close(fd, deadline) : 0;
		if (code)
			error_setf_code(&err, code,
					"Unable to write to socket: %s",
					strerror(code));
	}
	if (!err)
		return false;
	fail(mf, err);
	return true;
}

bool multifd_send_failed(struct multifd_send *mf, struct error **errp)
{
	pthread_mutex_lock(&mf->lock);
	bool failed = mf->err != NULL;
	if (failed)
		error_setf_code(errp, mf->err->code, "%s", mf->err->msg);
	pthread_mutex_unlock(&mf->lock);
	return failed;
}

void multifd_send_shutdown(struct multifd_send *mf)
{
	pthread_mutex_lock(&mf->lock);
	mf->quit = true;
	shutdown_all_locked(mf);
	pthread_cond_broadcast(&mf->work);
	pthread_cond_broadcast(&mf->done);
	pthread_mutex_unlock(&mf->lock);
}

void multifd_send_finish(struct multifd_send *mf)
{
	if (!mf)
		return;
	pthread_mutex_lock(&mf->lock);
	mf->quit = true;
	mf->main = NULL; /* the caller closes it */
	pthread_cond_broadcast(&mf->work);
	pthread_cond_broadcast(&mf->done);
	pthread_mutex_unlock(&mf->lock);
	for (unsigned i = 0; i < mf->n; i++) {
		struct mf_channel *c = &mf->ch[i];
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		if (c->fd >= 0)
			close(c->fd);
		multifd_codec_free(c->codec);
		free(c->zbuf);
		free(c->iov);
	}
	free(mf->ch);
	free(mf->load);
	error_free(mf->err);
	transport_addr_release(&mf->addr);
	pthread_cond_destroy(&mf->work);
	pthread_cond_destroy(&mf->done);
	pthread_mutex_destroy(&mf->lock);
	free(mf);
}
