/*
 * DESIGN
 *
 * Threads: one caller (the RAM save loop) and nworkers workers.
 *
 * Work moves in batches of up to BATCH_PAGES pages through a batch_queue
 * (codec/batch_queue.h: a ring in submission order, one lock round
 * trip per batch and hand-over, not per page).  A batch goes FILLING
 * (caller) -> queued -> claimed by one worker -> done -> taken out by the
 * caller, slot by slot (retired with its last slot), and only then is
 * filled again.  Whoever holds a batch in that cycle is its only user, so
 * slots need no lock.
 *
 * Buffer owners: each worker owns its compressor (struct page_deflate: its
 * z_stream, libdeflate or igzip state); each slot owns the copy of its page
 * and its output payload, both preallocated, so nothing is allocated or can
 * fail after compress_pool_new().  A retired batch's payloads stay intact
 * until submit fills the batch again: that is how long take's data lives.
 *
 * The caller alone uses fill, taken, inflight and the queue's producer
 * side.
 *
 * Ordering promised: take hands out the oldest batch, slot by slot,
 * before the next one, so payloads leave in submission order whatever
 * order the workers finish in.  Head-of-line blocking is bounded by the
 * ring.
 *
 * Shutdown: quit the queue, join every worker, free.
 */
#include "codec/compress_pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec/batch_queue.h"
#include "util/thread.h"
#include "util/xalloc.h"

#define PAGE_BYTES PAGE_DEFLATE_PAGE_BYTES
#define BATCH_PAGES 16       /* pages per hand-over */

struct cp_slot {
	uint64_t offset;   /* caller: page offset in its block */
	uint32_t out_len;  /* worker: bytes of out used (0 when is_zero) */
	bool is_zero;      /* worker: the page was all zero */
	uint8_t page[PAGE_BYTES]; /* caller: the copy taken at submit */
	uint8_t out[PAGE_DEFLATE_MAX_BYTES]; /* worker: the zlib stream */
};

struct cp_batch {
	unsigned npages;  /* caller, before publishing: slots used */
	struct cp_slot slot[BATCH_PAGES];
};

struct cp_worker {
	struct compress_pool *pool;
	struct page_deflate *pd; /* this worker's compressor */
	pthread_t tid;
	bool started;            /* tid is valid and must be joined */
};

struct compress_pool {
	enum page_deflate_engine engine;

	struct batch_queue queue;
	struct cp_batch *batch; /* batch seq at seq % slots */
	unsigned nworkers;
	struct cp_worker *worker;

	unsigned fill;          /* caller: pages in the filling batch */
	unsigned taken;         /* caller: slots of the oldest batch taken */
	uint64_t inflight;      /* caller: pages submitted, not taken out */
};

static struct cp_batch *batch_at(struct compress_pool *pool, uint64_t seq)
{
	return &pool->batch[seq % batch_queue_slots(&pool->queue)];
}

static bool page_is_zero(const uint8_t *page)
{
	return page[0] == 0 && !memcmp(page, page + 1, PAGE_BYTES - 1);
}

static void compress_slot(struct page_deflate *pd, struct cp_slot *s)
{
	s->is_zero = page_is_zero(s->page);
	s->out_len = s->is_zero
		? 0 : (uint32_t)page_deflate_compress(pd, s->page, s->out);
}

static void *worker_main(void *arg)
{
	struct cp_worker *w = arg;
	struct compress_pool *pool = w->pool;
	uint64_t seq;

	while (batch_queue_claim(&pool->queue, &seq)) {
		struct cp_batch *b = batch_at(pool, seq);
		for (unsigned i = 0; i < b->npages; i++)
			compress_slot(w->pd, &b->slot[i]);
		batch_queue_finish(&pool->queue, seq);
	}
	return NULL;
}

/* Hands the filling batch (if it has pages) to the workers. */
static void publish(struct compress_pool *pool)
{
	if (pool->fill == 0)
		return;
	batch_at(pool, batch_queue_filling(&pool->queue))->npages = pool->fill;
	pool->fill = 0;
	batch_queue_publish(&pool->queue);
}

bool compress_pool_submit(struct compress_pool *pool, uint64_t offset,
			  const uint8_t *page)
{
	assert(offset % PAGE_BYTES == 0);
	/* Full only between batches: a started batch has its free slots. */
	if (pool->fill == 0 && batch_queue_full(&pool->queue))
		return false;
	struct cp_batch *b = batch_at(pool, batch_queue_filling(&pool->queue));
	struct cp_slot *s = &b->slot[pool->fill++];
	s->offset = offset;
	memcpy(s->page, page, PAGE_BYTES);
	pool->inflight++;
	if (pool->fill == BATCH_PAGES)
		publish(pool);
	return true;
}

bool compress_pool_take(struct compress_pool *pool, bool wait,
			struct compress_payload *out)
{
	struct batch_queue *q = &pool->queue;
	if (wait)
		publish(pool);
	uint64_t seq = batch_queue_oldest(q);
	if (seq == batch_queue_filling(q))
		return false; /* nothing with the workers */
	if (pool->taken == 0) {
		/* A batch's first slot: the worker's stores become visible. */
		if (wait)
			batch_queue_wait_done(q, seq);
		else if (!batch_queue_is_done(q, seq))
			return false;
	}
	struct cp_batch *b = batch_at(pool, seq);
	const struct cp_slot *s = &b->slot[pool->taken++];
	out->offset = s->offset;
	out->is_zero = s->is_zero;
	out->len = s->out_len;
	out->data = s->out;
	pool->inflight--;
	if (pool->taken == b->npages) {
		/* Free for filling; s->out lives on until submit refills it. */
		pool->taken = 0;
		b->npages = 0;
		batch_queue_retire(q);
	}
	return true;
}

uint64_t compress_pool_inflight_pages(const struct compress_pool *pool)
{
	return pool->inflight;
}

enum page_deflate_engine compress_pool_engine(const struct compress_pool *pool)
{
	return pool->engine;
}

void compress_pool_free(struct compress_pool *pool)
{
	if (!pool)
		return;
	batch_queue_quit(&pool->queue);
	for (unsigned i = 0; i < pool->nworkers; i++) {
		if (pool->worker[i].started)
			pthread_join(pool->worker[i].tid, NULL);
		page_deflate_free(pool->worker[i].pd);
	}
	batch_queue_destroy(&pool->queue);
	free(pool->worker);
	free(pool->batch);
	free(pool);
}

struct compress_pool *compress_pool_new_engine(unsigned threads, int level,
					       enum page_deflate_engine engine,
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
	struct compress_pool *pool = xcalloc(1, sizeof(*pool));
	pool->engine = engine;
	pool->nworkers = threads;
	unsigned slots = batch_queue_slots_for(threads);
	batch_queue_init(&pool->queue, slots);
	pool->worker = xcalloc(threads, sizeof(*pool->worker));
	pool->batch = batch_queue_alloc_batches(slots, sizeof(*pool->batch),
						"compression", threads, errp);
	if (!pool->batch)
		goto fail;

	for (unsigned i = 0; i < threads; i++) {
		struct cp_worker *w = &pool->worker[i];
		w->pool = pool;
		w->pd = page_deflate_new(engine, level, errp);
		if (!w->pd)
			goto fail;
	}
	for (unsigned i = 0; i < threads; i++) {
		struct cp_worker *w = &pool->worker[i];
		if (!thread_start(&w->tid, worker_main, w, "compress", errp))
			goto fail;
		w->started = true;
	}
	return pool;

fail:
	compress_pool_free(pool);
	return NULL;
}

struct compress_pool *compress_pool_new(unsigned threads, int level,
					struct error **errp)
{
	if (level < 0 || level > PAGE_DEFLATE_MAX_LEVEL) {
		error_setf(errp, "compression level %d is not in 0..%d", level,
			   PAGE_DEFLATE_MAX_LEVEL);
		return NULL;
	}
	return compress_pool_new_engine(threads, level, page_deflate_pick(level),
					errp);
}
