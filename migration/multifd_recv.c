#include "migration/multifd_recv.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/multifd_codec.h"
#include "util/bitmap.h"
#include "util/clock.h"
#include "util/sock_io.h"
#include "util/xalloc.h"

/* How long a closed main stream with no channel in sight must stay so
 * before the migration fails for want of channels. */
#define NO_CHANNEL_GRACE_NS (15 * 1000000000LL)

/* Page writes are serialised per stripe of pages (see the header). */
#define PAGE_STRIPES 64
/* In page_packet: a channel is inflating into the page itself.  Packet
 * numbers are kept below it (a peer's 2^63 would otherwise read as busy
 * for ever). */
#define PAGE_BUSY (1ULL << 63)
#define PACKET_NUM(p) ((p)->packet_num & ~PAGE_BUSY)

struct mr_slot {
	bool taken;     /* a channel with this id connected */
	bool at_sync;   /* stopped at a SYNC packet */
	bool ended;     /* its connection is over */
};

struct multifd_recv {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned n;
	enum multifd_method method;
	struct guest_ram *ram;
	multifd_recv_fail_fn *fail;
	multifd_recv_pending_fn *pending;
	void *opaque;
	bool quit, failed;
	int main_fd;             /* -1: not known */
	uint64_t round;          /* sync points passed */
	struct mr_slot *slot;
	int fds[256 + 64];       /* every channel socket, for stop */
	unsigned nfds;
	/* The newest packet each page came in, and the stripe locks under
	 * which a page is written: see "QEMU 7.2 sends a page twice". */
	uint64_t *page_packet;
	pthread_mutex_t stripe[PAGE_STRIPES];
	pthread_cond_t stripe_free[PAGE_STRIPES]; /* a PAGE_BUSY cleared */
	/* The loader's known-zero map and huge probe once attached, and
	 * whether a channel stored a page before it could see them. */
	_Atomic(_Atomic uint64_t *) known_zero;
	_Atomic(struct huge_probe *) huge;
	atomic_bool stored;
};

struct multifd_recv *multifd_recv_new(unsigned channels,
				      enum multifd_method method,
				      struct guest_ram *ram,
				      multifd_recv_fail_fn *fail,
				      multifd_recv_pending_fn *pending,
				      void *opaque)
{
	struct multifd_recv *mr = xcalloc(1, sizeof(*mr));
	pthread_mutex_init(&mr->lock, NULL);
	pthread_cond_init(&mr->cond, NULL);
	mr->n = channels;
	mr->method = method;
	mr->ram = ram;
	mr->fail = fail;
	mr->pending = pending;
	mr->opaque = opaque;
	mr->slot = xcalloc(channels, sizeof(*mr->slot));
	mr->main_fd = -1;
	mr->page_packet = xcalloc(ram->size_bytes / RAM_PAGE_SIZE,
				  sizeof(*mr->page_packet));
	for (unsigned i = 0; i < PAGE_STRIPES; i++) {
		pthread_mutex_init(&mr->stripe[i], NULL);
		pthread_cond_init(&mr->stripe_free[i], NULL);
	}
	return mr;
}

static void stop_locked(struct multifd_recv *mr)
{
	mr->quit = true;
	for (unsigned i = 0; i < mr->nfds; i++)
		shutdown(mr->fds[i], SHUT_RDWR);
	pthread_cond_broadcast(&mr->cond);
}

void multifd_recv_stop(struct multifd_recv *mr)
{
	pthread_mutex_lock(&mr->lock);
	stop_locked(mr);
	pthread_mutex_unlock(&mr->lock);
}

/* The first error fails the migration; later ones (and errors after a
 * stop: sockets shut down on purpose) are dropped. */
/* The error is recorded before the sockets are shut: the source sees
 * the shutdown, and the closes it answers with must not become the
 * destination's reason (`multifd 0: the channel closed ...` for a source
 * with one channel too many). */
static void channel_failed(struct multifd_recv *mr, struct error *err)
{
	pthread_mutex_lock(&mr->lock);
	bool report = !mr->quit && !mr->failed;
	mr->failed = true;
	pthread_mutex_unlock(&mr->lock);
	if (report)
		mr->fail(mr->opaque, err);
	else
		error_free(err);
	multifd_recv_stop(mr);
}

/* A read that came short: errno 0 means EOF. */
static void read_error(unsigned id, struct error **errp)
{
	if (errno == 0)
		error_setf_code(errp, EIO,
				"multifd %u: the channel ended inside a packet",
				id);
	else
		error_setf_code(errp, errno,
				"multifd %u: Unable to read from socket: %s", id,
				strerror(errno));
}

/* Reads len bytes; *eof (when eof_ok) for a clean EOF before the first. */
static bool read_or_fail(int fd, void *buf, size_t len, unsigned id,
			 bool eof_ok, bool *eof, struct error **errp)
{
	struct iovec iov = { buf, len };
	if (fd_readv_exact(fd, &iov, 1))
		return true;
	if (errno == 0 && eof_ok && iov.iov_len == len) {
		*eof = true;
		return false;
	}
	read_error(id, errp);
	return false;
}

/* Stops at a sync point until the loader passes it; false on quit. */
static bool wait_at_sync(struct multifd_recv *mr, unsigned id)
{
	pthread_mutex_lock(&mr->lock);
	uint64_t round = mr->round;
	mr->slot[id].at_sync = true;
	pthread_cond_broadcast(&mr->cond);
	while (mr->round == round && !mr->quit)
		pthread_cond_wait(&mr->cond, &mr->lock);
	bool ok = !mr->quit;
	pthread_mutex_unlock(&mr->lock);
	return ok;
}

/* The loader's map and probe, once attached; notes that a channel
 * stores pages (see multifd_recv_attach). */
static void attached(struct multifd_recv *mr, _Atomic uint64_t **known_zero,
		     struct huge_probe **huge)
{
	/* stored, then the map */
	if (!atomic_load_explicit(&mr->stored, memory_order_relaxed))
		atomic_store(&mr->stored, true);
	*known_zero = atomic_load(&mr->known_zero);
	*huge = atomic_load(&mr->huge);
}

/* Before a page is written: its first store may probe a huge page, and
 * it is no longer known to be zero.  Under the page's stripe lock. */
static void before_store(_Atomic uint64_t *known_zero,
			 struct huge_probe *huge, uint64_t offset)
{
	if (huge)
		huge_probe_touch(huge, offset);
	uint64_t page = offset / RAM_PAGE_SIZE;
	if (known_zero && atomic_bitmap_test_bit(known_zero, page))
		atomic_bitmap_clear_bit_relaxed(known_zero, page);
}

/*
 * Where a packet's pages are inflated or read: straight into guest RAM
 * where this packet is the newest yet to bring the page and no other
 * channel is writing into it (the page is marked PAGE_BUSY until
 * release_pages), else into the bounce buffer for store_pages to judge.
 * The direct way saves the copy (32 ms a GiB of the zstd link run's
 * destination; with none, every page's).
 */
static void claim_pages(struct multifd_recv *mr,
			const struct multifd_packet *p, uint8_t *bounce,
			uint8_t **to, bool *direct)
{
	_Atomic uint64_t *known_zero;
	struct huge_probe *huge;
	attached(mr, &known_zero, &huge);
	for (uint32_t i = 0; i < p->pages; i++) {
		uint64_t page = p->offset[i] / RAM_PAGE_SIZE;
		pthread_mutex_t *stripe = &mr->stripe[page % PAGE_STRIPES];
		pthread_mutex_lock(stripe);
		/* a page twice in one packet: the bounce way for the second */
		direct[i] = !(mr->page_packet[page] & PAGE_BUSY) &&
			    PACKET_NUM(p) > mr->page_packet[page];
		if (direct[i]) {
			before_store(known_zero, huge, p->offset[i]);
			mr->page_packet[page] = PACKET_NUM(p) | PAGE_BUSY;
		}
		pthread_mutex_unlock(stripe);
		to[i] = direct[i] ? mr->ram->host + p->offset[i]
				  : bounce + (size_t)i * RAM_PAGE_SIZE;
	}
}

/* After inflating (or failing to): the claimed pages are free again. */
static void release_pages(struct multifd_recv *mr,
			  const struct multifd_packet *p, const bool *direct)
{
	for (uint32_t i = 0; i < p->pages; i++) {
		if (!direct[i])
			continue;
		uint64_t page = p->offset[i] / RAM_PAGE_SIZE;
		unsigned s = (unsigned)(page % PAGE_STRIPES);
		pthread_mutex_lock(&mr->stripe[s]);
		mr->page_packet[page] &= ~PAGE_BUSY;
		pthread_cond_broadcast(&mr->stripe_free[s]);
		pthread_mutex_unlock(&mr->stripe[s]);
	}
}

/* Each page of a read packet not inflated in place into guest RAM
 * (direct NULL: none was), unless a newer packet already brought that
 * page (packet numbers grow with the order in which the source queued its
 * packets); a page another channel is inflating into is waited for. */
static void store_pages(struct multifd_recv *mr, const struct multifd_packet *p,
			const uint8_t *bounce, const bool *direct)
{
	_Atomic uint64_t *known_zero;
	struct huge_probe *huge;
	attached(mr, &known_zero, &huge);
	for (uint32_t i = 0; i < p->pages; i++) {
		if (direct && direct[i])
			continue;
		uint64_t page = p->offset[i] / RAM_PAGE_SIZE;
		unsigned s = (unsigned)(page % PAGE_STRIPES);
		pthread_mutex_lock(&mr->stripe[s]);
		while (mr->page_packet[page] & PAGE_BUSY)
			pthread_cond_wait(&mr->stripe_free[s], &mr->stripe[s]);
		if (PACKET_NUM(p) >= mr->page_packet[page]) {
			before_store(known_zero, huge, p->offset[i]);
			memcpy(mr->ram->host + p->offset[i],
			       bounce + (size_t)i * RAM_PAGE_SIZE, RAM_PAGE_SIZE);
			mr->page_packet[page] = PACKET_NUM(p);
		}
		pthread_mutex_unlock(&mr->stripe[s]);
	}
}

/* Without compression: each page read from the socket where
 * claim_pages put it, guest RAM or the bounce buffer (one readv). */
static bool read_raw_pages(int fd, unsigned id, uint8_t *const *pages,
			   uint32_t n, struct error **errp)
{
	struct iovec iov[MULTIFD_PACKET_PAGES];
	for (uint32_t i = 0; i < n; i++)
		iov[i] = (struct iovec){ pages[i], RAM_PAGE_SIZE };
	if (fd_readv_exact(fd, iov, (int)n))
		return true;
	read_error(id, errp);
	return false;
}

/* The payload of a packet with pages: read or inflated in place where
 * claim_pages allows, else into the bounce buffer, then stored. */
static bool read_pages(struct multifd_recv *mr, int fd, unsigned id,
		       const struct multifd_packet *p,
		       struct multifd_codec *codec, uint8_t *zbuf,
		       uint8_t *bounce, struct error **errp)
{
	bool eof = false;
	if (codec && !read_or_fail(fd, zbuf, p->next_packet_size, id, false,
				   &eof, errp))
		return false;
	uint8_t *pages[MULTIFD_PACKET_PAGES];
	bool direct[MULTIFD_PACKET_PAGES];
	claim_pages(mr, p, bounce, pages, direct);
	bool ok = codec ? multifd_codec_decompress(codec, zbuf,
						   p->next_packet_size, pages,
						   p->pages, errp)
			: read_raw_pages(fd, id, pages, p->pages, errp);
	release_pages(mr, p, direct);
	if (ok)
		store_pages(mr, p, bounce, direct);
	return ok;
}

/* Handshake, then packets until EOF; false with *errp on an error. */
static bool run(struct multifd_recv *mr, int fd, int *idp,
		struct error **errp)
{
	uint8_t init[MULTIFD_INIT_BYTES];
	bool eof = false;
	if (!read_or_fail(fd, init, sizeof(init), 0, true, &eof, errp)) {
		/* A source that gave up (cancelled, failed) before it
		 * wrote the handshake: QEMU 7.2 fails here too. */
		if (eof)
			error_setf_code(errp, EIO,
					"multifd: a channel closed before its handshake");
		return false;
	}
	int id = multifd_init_parse(init, mr->n, errp);
	if (id < 0)
		return false;
	pthread_mutex_lock(&mr->lock);
	bool dup = mr->slot[id].taken;
	mr->slot[id].taken = true;
	pthread_mutex_unlock(&mr->lock);
	if (dup) {
		error_setf_code(errp, EINVAL,
				"multifd: channel %d connected twice", id);
		return false;
	}
	*idp = id;

	struct multifd_codec *codec = NULL;
	uint8_t *zbuf = NULL;
	if (mr->method != MULTIFD_NONE) {
		codec = multifd_codec_new_decompress(mr->method, (unsigned)id,
						     errp);
		if (!codec)
			return false;
		zbuf = xmalloc(MULTIFD_COMPRESSED_MAX);
	}
	uint8_t *hdr = xmalloc(MULTIFD_PACKET_BYTES);
	uint8_t *bounce = xmalloc((size_t)MULTIFD_PACKET_PAGES * RAM_PAGE_SIZE);
	struct multifd_packet *p = xmalloc(sizeof(*p));
	bool ok = true;
	while (ok) {
		if (!read_or_fail(fd, hdr, MULTIFD_PACKET_BYTES, (unsigned)id,
				  true, &eof, errp)) {
			ok = eof;
			break;
		}
		ok = multifd_packet_parse(hdr, GUEST_RAM_BLOCK_NAME,
					  mr->ram->size_bytes, mr->method,
					  (unsigned)id, p, errp) &&
		     (!p->pages ||
		      read_pages(mr, fd, (unsigned)id, p, codec, zbuf, bounce,
				 errp));
		if (ok && (p->flags & MULTIFD_FLAG_SYNC) &&
		    !wait_at_sync(mr, (unsigned)id))
			break;
	}
	free(p);
	free(hdr);
	free(bounce);
	free(zbuf);
	multifd_codec_free(codec);
	return ok;
}

void multifd_recv_run_channel(struct multifd_recv *mr, int fd)
{
	pthread_mutex_lock(&mr->lock);
	bool room = mr->nfds < sizeof(mr->fds) / sizeof(mr->fds[0]) &&
		    !mr->quit;
	if (room)
		mr->fds[mr->nfds++] = fd;
	pthread_mutex_unlock(&mr->lock);
	if (!room) {
		close(fd);
		return;
	}
	struct error *err = NULL;
	int id = -1;
	bool ok = run(mr, fd, &id, &err);
	pthread_mutex_lock(&mr->lock);
	if (id >= 0)
		mr->slot[id].ended = true;
	pthread_cond_broadcast(&mr->cond);
	pthread_mutex_unlock(&mr->lock);
	if (!ok)
		channel_failed(mr, err);
}

void multifd_recv_set_main_fd(struct multifd_recv *mr, int fd)
{
	pthread_mutex_lock(&mr->lock);
	mr->main_fd = fd;
	pthread_mutex_unlock(&mr->lock);
}

bool multifd_recv_channel_missing(struct multifd_recv *mr)
{
	pthread_mutex_lock(&mr->lock);
	bool missing = !mr->quit && mr->nfds < mr->n;
	pthread_mutex_unlock(&mr->lock);
	return missing;
}

/* Waits for a change; while a channel is missing, wakes every 100 ms to
 * time the quiet spell (nothing else would wake us). */
static void wait_change_locked(struct multifd_recv *mr)
{
	if (mr->nfds >= mr->n || mr->main_fd < 0) {
		pthread_cond_wait(&mr->cond, &mr->lock);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&mr->cond, &mr->lock, &ts);
}

bool multifd_recv_sync(struct multifd_recv *mr, struct error **errp)
{
	int64_t quiet_since = 0;
	pthread_mutex_lock(&mr->lock);
	for (;;) {
		if (mr->quit)
			break;
		unsigned stopped = 0;
		int gone = -1;
		for (unsigned i = 0; i < mr->n; i++) {
			if (mr->slot[i].at_sync)
				stopped++;
			else if (mr->slot[i].ended)
				gone = (int)i;
		}
		if (stopped == mr->n)
			break;
		if (gone >= 0) {
			pthread_mutex_unlock(&mr->lock);
			error_setf_code(errp, EIO,
					"multifd %d: the channel closed before the sync point",
					gone);
			return false;
		}
		unsigned known = mr->nfds; /* handed over, handshake or not */
		if (known < mr->n && !mr->pending(mr->opaque)) {
			/* A source opens its channels right after the main
			 * stream, but something in between (a proxy) may
			 * pass them on later: only a quiet spell of
			 * NO_CHANNEL_GRACE_NS decides, with none or only
			 * some of them there (a source cancelled before it
			 * connected them all).  Whether the main stream has
			 * closed does not matter: a source without multifd
			 * that keeps writing fills its socket and waits for
			 * a reader that waits here. */
			int64_t now = clock_now_ns();
			if (!quiet_since)
				quiet_since = now;
			if (now - quiet_since < NO_CHANNEL_GRACE_NS) {
				wait_change_locked(mr);
				continue;
			}
			pthread_mutex_unlock(&mr->lock);
			if (known)
				error_setf_code(errp, EIO,
						"multifd: only %u of the %u channels connected",
						known, mr->n);
			else
				error_setf_code(errp, EINVAL,
						"multifd: the source opened no multifd channel (is the multifd capability on at the source?)");
			return false;
		}
		quiet_since = 0;
		wait_change_locked(mr);
	}
	bool ok = !mr->quit;
	if (ok) {
		for (unsigned i = 0; i < mr->n; i++)
			mr->slot[i].at_sync = false;
		mr->round++;
		pthread_cond_broadcast(&mr->cond);
	}
	pthread_mutex_unlock(&mr->lock);
	if (!ok)
		error_setf_code(errp, EIO, "multifd: the channels stopped");
	return ok;
}

bool multifd_recv_attach(struct multifd_recv *mr, _Atomic uint64_t *known_zero,
			 struct huge_probe *huge)
{
	atomic_store(&mr->huge, huge);
	/* Sequentially consistent both ways: a channel that stored a page
	 * without seeing the map has set `stored` before we look at it. */
	atomic_store(&mr->known_zero, known_zero);
	return !atomic_load(&mr->stored);
}

void multifd_recv_free(struct multifd_recv *mr)
{
	if (!mr)
		return;
	for (unsigned i = 0; i < mr->nfds; i++)
		close(mr->fds[i]);
	free(mr->slot);
	free(mr->page_packet);
	for (unsigned i = 0; i < PAGE_STRIPES; i++) {
		pthread_mutex_destroy(&mr->stripe[i]);
		pthread_cond_destroy(&mr->stripe_free[i]);
	}
	pthread_cond_destroy(&mr->cond);
	pthread_mutex_destroy(&mr->lock);
	free(mr);
}
