/*
 * DESIGN
 *
 * Threads: one caller (the RAM loader) and nworkers workers.
 *
 * Work moves in batches of up to BATCH_JOBS payloads through a batch_queue
 * (codec/batch_queue.h: a ring in submission order, one lock round
 * trip per batch and hand-over).  A batch is published when full, or when
 * the caller has to wait for one of its pages (wait_page, flush); it is
 * refilled only once done and retired.  The holder of a batch (caller
 * while filling, then one worker) is its only user, so jobs need no lock.
 *
 * Buffer owners: each worker owns its z_stream (inflateInit'ed once, reset
 * per payload) and its libdeflate decompressor.  Each job owns a copy of
 * its payload.  Guest RAM belongs to the caller; a worker writes only the
 * page of the job it runs, with 4096 bytes of output room, so no inflate
 * can write past it.
 *
 * Per-page ordering: inflight[] counts the jobs in flight per hash bucket
 * of the page number.  The caller increments at submit; the worker
 * decrements (release) after inflating.  wait_page() returns at once when
 * its bucket reads 0 (acquire, so the worker's writes to the page are
 * visible); otherwise it publishes the filling batch and sleeps until the
 * bucket is 0 (workers wake it at every batch end).  Another page in the
 * same bucket only makes the wait longer, never wrong.  submit() calls
 * wait_page() first, so two records of one page never run at the same time
 * or out of order.
 *
 * failed is atomic: a worker sets it before finishing its batch (so the
 * caller sees it once the batch is done) and reads it to skip the work of
 * a load that is lost anyway.  inflight[] is atomic; fill and the queue's
 * producer side are the caller's.
 *
 * Shutdown: quit the queue, join every worker, free.
 */
#include "codec/decompress_pool.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "codec/batch_queue.h"
#include "util/thread.h"
#include "util/xalloc.h"

#define PAGE_BYTES CODEC_PAGE_SIZE
#define BATCH_JOBS 16        /* payloads per hand-over */
#define INFLIGHT_BUCKETS 4096 /* power of two; sharing one only delays */

struct dp_job {
	uint64_t offset; /* page offset in ram */
	uint32_t len;    /* payload bytes, <= DECOMPRESS_POOL_MAX_PAYLOAD_BYTES */
	bool raw;        /* a whole page to copy, not to inflate */
	uint8_t data[DECOMPRESS_POOL_MAX_PAYLOAD_BYTES]; /* payload copy */
};

struct dp_batch {
	unsigned njobs;   /* caller, before publishing: jobs used */
	struct dp_job job[BATCH_JOBS];
};

struct dp_worker {
	struct decompress_pool *pool;
	z_stream zs;    /* this worker's inflate state */
	bool zs_ready;  /* inflateInit succeeded: inflateEnd at free */
	struct libdeflate_decompressor *fast; /* NULL: zlib only */
	pthread_t tid;
	bool started;   /* tid is valid and must be joined */
};

struct decompress_pool {
	uint8_t *ram;      /* guest RAM, the caller's */
	uint64_t ram_size; /* bytes, a multiple of PAGE_BYTES */

	struct batch_queue queue;
	struct dp_batch *batch; /* batch seq at seq % slots */
	unsigned nworkers;
	struct dp_worker *worker;
	enum decompress_engine engine;
	atomic_uint inflight[INFLIGHT_BUCKETS]; /* jobs in flight per bucket */
	atomic_bool failed;     /* some payload did not inflate */

	unsigned fill;          /* caller: jobs in the filling batch */
};

static struct dp_batch *batch_at(struct decompress_pool *pool, uint64_t seq)
{
	return &pool->batch[seq % batch_queue_slots(&pool->queue)];
}

static atomic_uint *bucket(struct decompress_pool *pool, uint64_t offset)
{
	uint64_t pfn = offset / PAGE_BYTES;
	/* Fibonacci hashing: neighbouring pages land in different buckets. */
	uint64_t h = (pfn * 0x9E3779B97F4A7C15ULL) >> 52;
	return &pool->inflight[h & (INFLIGHT_BUCKETS - 1)];
}

/*
 * libdeflate inflates about twice as fast as zlib.  It decides like zlib's
 * one-call rule on every stream qmig, QEMU and the tests produce (complete
 * stream within the page, trailing bytes ignored, short output accepted,
 * Adler-32 and preset-dictionary checks); where it refuses, zlib is asked
 * again, so a refusal is always zlib's.  The one known difference: for
 * hand-made streams whose Huffman code is incomplete but never used beyond
 * its complete part, libdeflate accepts what zlib refuses (the page is
 * still written only inside its 4096 bytes).  DECOMPRESS_ZLIB
 * (x-decompress-engine zlib) uses zlib alone.
 */
static bool fast_inflate(struct libdeflate_decompressor *d,
			 const struct dp_job *job, uint8_t *page)
{
	size_t in_used, out_used;
	return libdeflate_zlib_decompress_ex(d, job->data, job->len, page,
					     PAGE_BYTES, &in_used, &out_used) ==
	       LIBDEFLATE_SUCCESS;
}

/* QEMU 7.2's rule: one inflate call that must reach the stream's end. */
static bool inflate_job(z_stream *zs, const struct dp_job *job, uint8_t *page)
{
	if (inflateReset(zs) != Z_OK)
		return false;
	zs->next_in = (Bytef *)job->data;
	zs->avail_in = job->len;
	zs->next_out = page;
	zs->avail_out = PAGE_BYTES;
	return inflate(zs, Z_NO_FLUSH) == Z_STREAM_END;
}

static void *worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct decompress_pool *pool = w->pool;
	uint64_t seq;

	while (batch_queue_claim(&pool->queue, &seq)) {
		struct dp_batch *b = batch_at(pool, seq);
		/* After a failure the load is lost: skip the work. */
		bool ok = !atomic_load_explicit(&pool->failed,
						memory_order_relaxed);
		for (unsigned i = 0; i < b->njobs; i++) {
			const struct dp_job *job = &b->job[i];
			uint8_t *page = pool->ram + job->offset;
			if (ok && job->raw)
				memcpy(page, job->data, PAGE_BYTES);
			else if (ok)
				ok = (w->fast && fast_inflate(w->fast, job, page)) ||
				     inflate_job(&w->zs, job, page);
			atomic_fetch_sub_explicit(bucket(pool, job->offset), 1,
						  memory_order_release);
		}
		if (!ok)
			atomic_store_explicit(&pool->failed, true,
					      memory_order_relaxed);
		/* finish() releases: the caller sees failed once done. */
		batch_queue_finish(&pool->queue, seq);
	}
	return NULL;
}

static void publish(struct decompress_pool *pool)
{
	if (pool->fill == 0)
		return;
	batch_at(pool, batch_queue_filling(&pool->queue))->njobs = pool->fill;
	pool->fill = 0;
	batch_queue_publish(&pool->queue);
}

static bool cond_bucket_idle(void *arg)
{
	return atomic_load_explicit((atomic_uint *)arg,
				    memory_order_acquire) == 0;
}

void decompress_pool_wait_page(struct decompress_pool *pool, uint64_t offset)
{
	atomic_uint *b = bucket(pool, offset);
	if (cond_bucket_idle(b))
		return;
	publish(pool); /* the page may be in the batch being filled */
	batch_queue_wait(&pool->queue, cond_bucket_idle, b);
}

/* Makes the filling batch free: retires done batches, waits if full. */
static void reserve_batch(struct decompress_pool *pool)
{
	struct batch_queue *q = &pool->queue;
	while (batch_queue_oldest(q) < batch_queue_filling(q) &&
	       batch_queue_is_done(q, batch_queue_oldest(q)))
		batch_queue_retire(q);
	if (!batch_queue_full(q))
		return;
	batch_queue_wait_done(q, batch_queue_oldest(q));
	batch_queue_retire(q);
}

static bool submit(struct decompress_pool *pool, uint64_t offset,
		   const uint8_t *data, size_t len, bool raw,
		   struct error **errp)
{
	assert(offset % PAGE_BYTES == 0);
	if (len > DECOMPRESS_POOL_MAX_PAYLOAD_BYTES) {
		error_setf_code(errp, EINVAL,
				"Invalid compressed data length: %zu", len);
		return false;
	}
	if (offset >= pool->ram_size) {
		error_setf_code(errp, EINVAL, "Illegal RAM offset %" PRIx64,
				offset);
		return false;
	}
	decompress_pool_wait_page(pool, offset);
	if (pool->fill == 0)
		reserve_batch(pool);
	struct dp_batch *b = batch_at(pool, batch_queue_filling(&pool->queue));
	struct dp_job *job = &b->job[pool->fill++];
	job->offset = offset;
	job->len = (uint32_t)len;
	job->raw = raw;
	memcpy(job->data, data, len);
	atomic_fetch_add_explicit(bucket(pool, offset), 1,
				  memory_order_relaxed);
	if (pool->fill == BATCH_JOBS)
		publish(pool);
	return true;
}

bool decompress_pool_submit(struct decompress_pool *pool, uint64_t offset,
			    const uint8_t *data, size_t len,
			    struct error **errp)
{
	return submit(pool, offset, data, len, false, errp);
}

bool decompress_pool_submit_page(struct decompress_pool *pool,
				 uint64_t offset, const uint8_t *page,
				 struct error **errp)
{
	return submit(pool, offset, page, PAGE_BYTES, true, errp);
}

bool decompress_pool_flush(struct decompress_pool *pool, struct error **errp)
{
	struct batch_queue *q = &pool->queue;
	publish(pool);
	while (batch_queue_oldest(q) < batch_queue_filling(q)) {
		batch_queue_wait_done(q, batch_queue_oldest(q));
		batch_queue_retire(q);
	}
	if (atomic_load_explicit(&pool->failed, memory_order_relaxed)) {
		error_setf_code(errp, EPERM, "decompress data failed");
		return false;
	}
	return true;
}

void decompress_pool_free(struct decompress_pool *pool)
{
	if (!pool)
		return;
	batch_queue_quit(&pool->queue);
	for (unsigned i = 0; i < pool->nworkers; i++) {
		struct dp_worker *w = &pool->worker[i];
		if (w->started)
			pthread_join(w->tid, NULL);
		if (w->zs_ready)
			inflateEnd(&w->zs);
		libdeflate_free_decompressor(w->fast);
	}
	batch_queue_destroy(&pool->queue);
	free(pool->worker);
	free(pool->batch);
	free(pool);
}

static const char *const engine_names[DECOMPRESS__COUNT] = {
	[DECOMPRESS_LIBDEFLATE] = "libdeflate",
	[DECOMPRESS_ZLIB] = "zlib",
};

const char *decompress_engine_name(enum decompress_engine engine)
{
	assert(engine < DECOMPRESS__COUNT);
	return engine_names[engine];
}

int decompress_engine_lookup(const char *name)
{
	for (int e = 0; e < DECOMPRESS__COUNT; e++)
		if (!strcmp(name, engine_names[e]))
			return e;
	return -1;
}

enum decompress_engine decompress_pool_engine(const struct decompress_pool *pool)
{
	return pool->engine;
}

struct decompress_pool *decompress_pool_new(unsigned threads, uint8_t *ram,
					    uint64_t ram_size,
					    struct error **errp)
{
	return decompress_pool_new_engine(threads, ram, ram_size,
					  DECOMPRESS_LIBDEFLATE, errp);
}

struct decompress_pool *decompress_pool_new_engine(unsigned threads,
						   uint8_t *ram,
						   uint64_t ram_size,
						   enum decompress_engine engine,
						   struct error **errp)
{
	if (threads < 1 || threads > DECOMPRESS_POOL_MAX_THREADS) {
		error_setf(errp, "decompress thread count %u is not in 1..%d",
			   threads, DECOMPRESS_POOL_MAX_THREADS);
		return NULL;
	}
	if (ram_size == 0 || ram_size % PAGE_BYTES) {
		error_setf(errp, "RAM size %" PRIu64
			   " is not a non-zero multiple of %d",
			   ram_size, PAGE_BYTES);
		return NULL;
	}
	assert(ram);

	struct decompress_pool *pool = xcalloc(1, sizeof(*pool));
	pool->ram = ram;
	pool->ram_size = ram_size;
	pool->nworkers = threads;
	pool->engine = engine;
	unsigned slots = batch_queue_slots_for(threads);
	batch_queue_init(&pool->queue, slots);
	pool->worker = xcalloc(threads, sizeof(*pool->worker));
	pool->batch = batch_queue_alloc_batches(slots, sizeof(*pool->batch),
						"decompression", threads, errp);
	if (!pool->batch)
		goto fail;
	for (unsigned i = 0; i < INFLIGHT_BUCKETS; i++)
		atomic_init(&pool->inflight[i], 0);
	atomic_init(&pool->failed, false);

	for (unsigned i = 0; i < threads; i++) {
		struct dp_worker *w = &pool->worker[i];
		w->pool = pool;
		int rc = inflateInit(&w->zs);
		if (rc != Z_OK) {
			error_setf(errp, "inflateInit failed: %s (%d)",
				   w->zs.msg ? w->zs.msg : "no message", rc);
			goto fail;
		}
		w->zs_ready = true;
		if (engine == DECOMPRESS_LIBDEFLATE)
			w->fast = libdeflate_alloc_decompressor();
	}
	for (unsigned i = 0; i < threads; i++) {
		struct dp_worker *w = &pool->worker[i];
		if (!thread_start(&w->tid, worker_main, w, "decompress", errp))
			goto fail;
		w->started = true;
	}
	return pool;

fail:
	decompress_pool_free(pool);
	return NULL;
}
