/*
 * DESIGN
 *
 * Threads: one caller (the RAM save loop) and nworkers workers.
 *
 * Work moves in batches of up to BATCH_PAGES pages through one queue: a
 * ring of nbatches batches in submission order, addressed by 64-bit
 * sequence numbers (batch seq lives in batch[seq % nbatches]):
 *
 *   emitted <= taken <= published <= emitted + nbatches
 *   [emitted, taken)    claimed by a worker, finished or not
 *   [taken, published)  queued, waiting for a worker
 *   published           the batch the caller is filling (fill pages so far)
 *
 * A batch goes FILLING (caller) -> queued (published++) -> claimed by one
 * worker (taken++) -> done (worker sets ->done) -> emitted by the caller
 * (emitted++), and only then is filled again.  Whoever holds a batch in
 * that cycle is its only user, so slots need no lock; the hand-overs do:
 *
 * - publish: caller sets ->npages, then under mu published++ and signals
 *   work_cv: one lock per batch, not per page.
 * - claim: a worker under mu takes seq = taken++.
 * - done: the worker stores ->done (release) under mu and signals done_cv
 *   if the caller sleeps on it; the caller polls ->done with an acquire
 *   load (no lock) and only locks to sleep.
 *
 * Buffer owners: each worker owns its compressor (struct page_deflate: its
 * z_stream, libdeflate or igzip state); each slot owns the copy of its page
 * and its output record, both preallocated, so nothing is allocated or can
 * fail after compress_pool_new().
 *
 * mu guards published (written by the caller under mu), taken, quit and
 * caller_waiting.  The caller alone uses emitted and fill.  ->done is
 * atomic.
 *
 * Ordering promised: the caller emits batch emitted, slot by slot, before
 * batch emitted + 1, so records leave in submission order whatever order
 * the workers finish in.  Head-of-line blocking is bounded by one batch per
 * worker.
 *
 * Shutdown: quit under mu, broadcast work_cv, join every worker, free.
 */
#include "migration/compress_pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define PAGE_BYTES PAGE_DEFLATE_PAGE_BYTES
#define BATCH_PAGES 16       /* pages per hand-over */
#define BATCHES_PER_WORKER 2 /* one being compressed, one queued */

/* RAM record flags (shared/docs/qemu-7.2-stream.md §8.1). */
#define RAM_SAVE_FLAG_ZERO 0x002
#define RAM_SAVE_FLAG_CONTINUE 0x020
#define RAM_SAVE_FLAG_COMPRESS_PAGE 0x100

struct cp_slot {
	uint64_t offset;   /* caller: page offset in its block */
	uint32_t rec_len;  /* worker: bytes of rec used */
	bool is_zero;      /* worker: rec is a ZERO record */
	uint8_t page[PAGE_BYTES]; /* caller: the copy taken at submit */
	uint8_t rec[COMPRESS_POOL_MAX_RECORD_BYTES]; /* worker: the record */
};

struct cp_batch {
	unsigned npages;  /* caller, before publishing: slots used */
	atomic_bool done; /* worker (release): every slot's record is ready */
	struct cp_slot slot[BATCH_PAGES];
};

struct cp_worker {
	struct compress_pool *pool;
	struct page_deflate *pd; /* this worker's compressor */
	pthread_t tid;
	bool started;            /* tid is valid and must be joined */
};

struct compress_pool {
	compress_emit_fn *emit; /* receives records, on the caller's thread */
	void *opaque;           /* emit's first argument */
	enum page_deflate_engine engine;

	unsigned nbatches;      /* ring size */
	struct cp_batch *batch; /* the ring, in submission order */
	unsigned nworkers;
	struct cp_worker *worker;

	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* workers: published > taken or quit */
	pthread_cond_t done_cv; /* caller: a batch became done */
	uint64_t published;     /* mu (caller writes): batches queued */
	uint64_t taken;         /* mu: batches claimed by workers */
	bool quit;              /* mu: workers exit */
	bool caller_waiting;    /* mu: the caller sleeps on done_cv */

	uint64_t emitted;       /* caller: oldest batch not yet emitted */
	unsigned fill;          /* caller: pages in batch published */
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

static bool page_is_zero(const uint8_t *page)
{
	return page[0] == 0 && !memcmp(page, page + 1, PAGE_BYTES - 1);
}

static void compress_slot(struct page_deflate *pd, struct cp_slot *s)
{
	if (page_is_zero(s->page)) {
		put_be64(s->rec, s->offset | RAM_SAVE_FLAG_ZERO |
					 RAM_SAVE_FLAG_CONTINUE);
		s->rec[8] = 0;
		s->rec_len = 9;
		s->is_zero = true;
		return;
	}
	size_t n = page_deflate_compress(pd, s->page, s->rec + 12);
	put_be64(s->rec, s->offset | RAM_SAVE_FLAG_COMPRESS_PAGE |
				 RAM_SAVE_FLAG_CONTINUE);
	put_be32(s->rec + 8, (uint32_t)n);
	s->rec_len = 12 + n;
	s->is_zero = false;
}

static void *worker_main(void *arg)
{
	struct cp_worker *w = arg;
	struct compress_pool *pool = w->pool;

	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->quit && pool->taken == pool->published)
			pthread_cond_wait(&pool->work_cv, &pool->mu);
		if (pool->quit)
			break;
		struct cp_batch *b = &pool->batch[pool->taken++ % pool->nbatches];
		unsigned npages = b->npages;
		pthread_mutex_unlock(&pool->mu);

		for (unsigned i = 0; i < npages; i++)
			compress_slot(w->pd, &b->slot[i]);

		pthread_mutex_lock(&pool->mu);
		atomic_store_explicit(&b->done, true, memory_order_release);
		if (pool->caller_waiting)
			pthread_cond_signal(&pool->done_cv);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

/* Hands the filling batch (if it has pages) to the workers. */
static void publish(struct compress_pool *pool)
{
	if (pool->fill == 0)
		return;
	struct cp_batch *b = &pool->batch[pool->published % pool->nbatches];
	b->npages = pool->fill;
	pool->fill = 0;
	pthread_mutex_lock(&pool->mu);
	pool->published++;
	pthread_cond_signal(&pool->work_cv);
	pthread_mutex_unlock(&pool->mu);
}

static bool batch_done(struct cp_batch *b)
{
	return atomic_load_explicit(&b->done, memory_order_acquire);
}

static void wait_batch(struct compress_pool *pool, struct cp_batch *b)
{
	if (batch_done(b))
		return;
	pthread_mutex_lock(&pool->mu);
	while (!batch_done(b)) {
		pool->caller_waiting = true;
		pthread_cond_wait(&pool->done_cv, &pool->mu);
	}
	pool->caller_waiting = false;
	pthread_mutex_unlock(&pool->mu);
}

/* Emits the oldest batch, which must be done, and frees it for filling. */
static void emit_oldest(struct compress_pool *pool)
{
	struct cp_batch *b = &pool->batch[pool->emitted % pool->nbatches];
	for (unsigned i = 0; i < b->npages; i++) {
		const struct cp_slot *s = &b->slot[i];
		pool->emit(pool->opaque, s->offset, s->rec, s->rec_len,
			   s->is_zero);
	}
	atomic_store_explicit(&b->done, false, memory_order_relaxed);
	b->npages = 0;
	pool->emitted++;
}

/* Emits finished batches in order; with wait, every published one. */
static void emit_ready(struct compress_pool *pool, bool wait)
{
	while (pool->emitted < pool->published) {
		struct cp_batch *b =
			&pool->batch[pool->emitted % pool->nbatches];
		if (wait)
			wait_batch(pool, b);
		else if (!batch_done(b))
			return;
		emit_oldest(pool);
	}
}

bool compress_pool_submit(struct compress_pool *pool, uint64_t offset,
			  const uint8_t *page, bool wait)
{
	assert(offset % PAGE_BYTES == 0);
	if (pool->fill == 0) {
		/* Starting a batch: it must have been emitted. */
		emit_ready(pool, false);
		if (pool->published - pool->emitted == pool->nbatches) {
			if (!wait)
				return false;
			wait_batch(pool, &pool->batch[pool->emitted %
						      pool->nbatches]);
			emit_oldest(pool);
		}
	}
	struct cp_batch *b = &pool->batch[pool->published % pool->nbatches];
	struct cp_slot *s = &b->slot[pool->fill++];
	s->offset = offset;
	memcpy(s->page, page, PAGE_BYTES);
	if (pool->fill == BATCH_PAGES)
		publish(pool);
	return true;
}

void compress_pool_collect(struct compress_pool *pool, bool drain)
{
	if (drain)
		publish(pool);
	emit_ready(pool, drain);
}

enum page_deflate_engine compress_pool_engine(const struct compress_pool *pool)
{
	return pool->engine;
}

void compress_pool_free(struct compress_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->quit = true;
	pthread_cond_broadcast(&pool->work_cv);
	pthread_mutex_unlock(&pool->mu);
	for (unsigned i = 0; i < pool->nworkers; i++) {
		if (pool->worker[i].started)
			pthread_join(pool->worker[i].tid, NULL);
		page_deflate_free(pool->worker[i].pd);
	}
	pthread_cond_destroy(&pool->done_cv);
	pthread_cond_destroy(&pool->work_cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->worker);
	free(pool->batch);
	free(pool);
}

struct compress_pool *compress_pool_new_engine(unsigned threads, int level,
					       enum page_deflate_engine engine,
					       compress_emit_fn *emit,
					       void *opaque,
					       struct error **errp)
{
	if (threads < 1 || threads > COMPRESS_POOL_MAX_THREADS) {
		error_setf(errp, "compress thread count %u is not in 1..%d",
			   threads, COMPRESS_POOL_MAX_THREADS);
		return NULL;
	}
	if (level < 0 || level > PAGE_DEFLATE_MAX_LEVEL) {
		error_setf(errp, "compression level %d is not in 0..%d", level,
			   PAGE_DEFLATE_MAX_LEVEL);
		return NULL;
	}
	assert(emit);

	struct compress_pool *pool = xcalloc(1, sizeof(*pool));
	pool->emit = emit;
	pool->opaque = opaque;
	pool->engine = engine;
	pool->nworkers = threads;
	pool->nbatches = threads * BATCHES_PER_WORKER + 1;
	/* calloc: untouched batches cost no resident memory. */
	pool->batch = xcalloc(pool->nbatches, sizeof(*pool->batch));
	pool->worker = xcalloc(threads, sizeof(*pool->worker));
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->work_cv, NULL);
	pthread_cond_init(&pool->done_cv, NULL);

	for (unsigned i = 0; i < threads; i++) {
		struct cp_worker *w = &pool->worker[i];
		w->pool = pool;
		w->pd = page_deflate_new(engine, level, errp);
		if (!w->pd)
			goto fail;
	}
	for (unsigned i = 0; i < threads; i++) {
		struct cp_worker *w = &pool->worker[i];
		int rc = pthread_create(&w->tid, NULL, worker_main, w);
		if (rc) {
			error_setf_code(errp, rc,
					"cannot create compression thread: %s",
					strerror(rc));
			goto fail;
		}
		w->started = true;
		pthread_setname_np(w->tid, "compress");
	}
	return pool;

fail:
	compress_pool_free(pool);
	return NULL;
}

struct compress_pool *compress_pool_new(unsigned threads, int level,
					compress_emit_fn *emit, void *opaque,
					struct error **errp)
{
	if (level < 0 || level > PAGE_DEFLATE_MAX_LEVEL) {
		error_setf(errp, "compression level %d is not in 0..%d", level,
			   PAGE_DEFLATE_MAX_LEVEL);
		return NULL;
	}
	return compress_pool_new_engine(threads, level, page_deflate_pick(level),
					emit, opaque, errp);
}
