/*
 * DESIGN
 *
 * Threads: one caller (the RAM loader) and nworkers workers.
 *
 * Work moves in batches of up to BATCH_JOBS payloads through one queue: a
 * ring of nbatches batches in submission order, addressed by 64-bit
 * sequence numbers (batch seq lives in batch[seq % nbatches]):
 *
 *   retired <= taken <= published <= retired + nbatches
 *   [retired, taken)    claimed by a worker, finished or not
 *   [taken, published)  queued, waiting for a worker
 *   published           the batch the caller is filling (fill jobs so far)
 *
 * A batch is published when full, or when the caller has to wait for one
 * of its pages (wait_page, flush); it is refilled only once done.  The
 * holder of a batch (caller while filling, then one worker) is its only
 * user, so jobs need no lock.  Hand-overs lock mu once per batch: publish
 * (caller), claim (worker), done (worker stores ->done with release under
 * mu and signals done_cv if the caller sleeps).
 *
 * Buffer owners: each worker owns its z_stream (inflateInit'ed once, reset
 * per payload).  Each job owns a copy of its payload.  Guest RAM belongs to
 * the caller; a worker writes only the page of the job it runs, with
 * avail_out = 4096, so zlib cannot write past it.
 *
 * Per-page ordering: inflight[] counts the jobs in flight per hash bucket
 * of the page number.  The caller increments at submit; the worker
 * decrements (release) after inflating.  wait_page() returns at once when
 * its bucket reads 0 (acquire, so the worker's writes to the page are
 * visible); otherwise it publishes the filling batch and sleeps on done_cv
 * until the bucket is 0.  Another page in the same bucket only makes the
 * wait longer, never wrong.  submit() calls wait_page() first, so two
 * records of one page never run at the same time or out of order.
 *
 * mu guards published (written by the caller under mu), taken, quit,
 * caller_waiting and failed.  retired and fill are the caller's.  ->done
 * and inflight[] are atomic.
 *
 * Shutdown: quit under mu, broadcast work_cv, join every worker, free.
 */
#include "migration/decompress_pool.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "util/xalloc.h"

#define PAGE_BYTES 4096
#define BATCH_JOBS 16        /* payloads per hand-over */
#define BATCHES_PER_WORKER 2 /* one being inflated, one queued */
#define INFLIGHT_BUCKETS 4096 /* power of two; >> jobs that fit in the ring */

struct dp_job {
	uint64_t offset; /* page offset in ram */
	uint32_t len;    /* payload bytes, <= DECOMPRESS_POOL_MAX_PAYLOAD_BYTES */
	uint8_t data[DECOMPRESS_POOL_MAX_PAYLOAD_BYTES]; /* payload copy */
};

struct dp_batch {
	unsigned njobs;   /* caller, before publishing: jobs used */
	atomic_bool done; /* worker (release): every job applied or failed */
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

	unsigned nbatches;      /* ring size */
	struct dp_batch *batch; /* the ring, in submission order */
	unsigned nworkers;
	struct dp_worker *worker;
	atomic_uint inflight[INFLIGHT_BUCKETS]; /* jobs in flight per bucket */

	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* workers: published > taken or quit */
	pthread_cond_t done_cv; /* caller: a batch became done */
	uint64_t published;     /* mu (caller writes): batches queued */
	uint64_t taken;         /* mu: batches claimed by workers */
	bool quit;              /* mu: workers exit */
	bool caller_waiting;    /* mu: the caller sleeps on done_cv */
	bool failed;            /* mu: some payload did not inflate */

	uint64_t retired;       /* caller: oldest batch not known done */
	unsigned fill;          /* caller: jobs in batch published */
};

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
 * still written only inside its 4096 bytes).  QMIG_INFLATE=zlib uses zlib
 * alone.
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

	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->quit && pool->taken == pool->published)
			pthread_cond_wait(&pool->work_cv, &pool->mu);
		if (pool->quit)
			break;
		struct dp_batch *b = &pool->batch[pool->taken++ % pool->nbatches];
		unsigned njobs = b->njobs;
		/* After a failure the load is lost: skip the work. */
		bool skip = pool->failed;
		pthread_mutex_unlock(&pool->mu);

		bool ok = true;
		for (unsigned i = 0; i < njobs; i++) {
			const struct dp_job *job = &b->job[i];
			uint8_t *page = pool->ram + job->offset;
			if (!skip && ok)
				ok = (w->fast && fast_inflate(w->fast, job, page)) ||
				     inflate_job(&w->zs, job, page);
			atomic_fetch_sub_explicit(bucket(pool, job->offset), 1,
						  memory_order_release);
		}

		pthread_mutex_lock(&pool->mu);
		if (!ok)
			pool->failed = true;
		atomic_store_explicit(&b->done, true, memory_order_release);
		if (pool->caller_waiting)
			pthread_cond_signal(&pool->done_cv);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

static void publish(struct decompress_pool *pool)
{
	if (pool->fill == 0)
		return;
	struct dp_batch *b = &pool->batch[pool->published % pool->nbatches];
	b->njobs = pool->fill;
	pool->fill = 0;
	pthread_mutex_lock(&pool->mu);
	pool->published++;
	pthread_cond_signal(&pool->work_cv);
	pthread_mutex_unlock(&pool->mu);
}

static bool batch_done(struct dp_batch *b)
{
	return atomic_load_explicit(&b->done, memory_order_acquire);
}

/* Sleeps until cond(pool, arg) holds; workers signal at every batch end. */
static void wait_until(struct decompress_pool *pool,
		       bool (*cond)(struct decompress_pool *, void *),
		       void *arg)
{
	if (cond(pool, arg))
		return;
	pthread_mutex_lock(&pool->mu);
	while (!cond(pool, arg)) {
		pool->caller_waiting = true;
		pthread_cond_wait(&pool->done_cv, &pool->mu);
	}
	pool->caller_waiting = false;
	pthread_mutex_unlock(&pool->mu);
}

static bool cond_batch_done(struct decompress_pool *pool, void *arg)
{
	return batch_done(arg);
}

static bool cond_bucket_idle(struct decompress_pool *pool, void *arg)
{
	return atomic_load_explicit((atomic_uint *)arg,
				    memory_order_acquire) == 0;
}

void decompress_pool_wait_page(struct decompress_pool *pool, uint64_t offset)
{
	atomic_uint *b = bucket(pool, offset);
	if (cond_bucket_idle(pool, b))
		return;
	publish(pool); /* the page may be in the batch being filled */
	wait_until(pool, cond_bucket_idle, b);
}

/* Makes batch published free for filling: retires done batches. */
static void reserve_batch(struct decompress_pool *pool)
{
	while (pool->retired < pool->published &&
	       batch_done(&pool->batch[pool->retired % pool->nbatches]))
		pool->retired++;
	if (pool->published - pool->retired < pool->nbatches)
		return;
	wait_until(pool, cond_batch_done,
		   &pool->batch[pool->retired % pool->nbatches]);
	pool->retired++;
}

bool decompress_pool_submit(struct decompress_pool *pool, uint64_t offset,
			    const uint8_t *data, size_t len,
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
	if (pool->fill == 0) {
		reserve_batch(pool);
		struct dp_batch *nb =
			&pool->batch[pool->published % pool->nbatches];
		atomic_store_explicit(&nb->done, false, memory_order_relaxed);
	}
	struct dp_batch *b = &pool->batch[pool->published % pool->nbatches];
	struct dp_job *job = &b->job[pool->fill++];
	job->offset = offset;
	job->len = (uint32_t)len;
	memcpy(job->data, data, len);
	atomic_fetch_add_explicit(bucket(pool, offset), 1,
				  memory_order_relaxed);
	if (pool->fill == BATCH_JOBS)
		publish(pool);
	return true;
}

bool decompress_pool_flush(struct decompress_pool *pool, struct error **errp)
{
	publish(pool);
	while (pool->retired < pool->published) {
		wait_until(pool, cond_batch_done,
			   &pool->batch[pool->retired % pool->nbatches]);
		pool->retired++;
	}
	pthread_mutex_lock(&pool->mu);
	bool failed = pool->failed;
	pthread_mutex_unlock(&pool->mu);
	if (failed) {
		error_setf_code(errp, EPERM, "decompress data failed");
		return false;
	}
	return true;
}

void decompress_pool_free(struct decompress_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->quit = true;
	pthread_cond_broadcast(&pool->work_cv);
	pthread_mutex_unlock(&pool->mu);
	for (unsigned i = 0; i < pool->nworkers; i++) {
		struct dp_worker *w = &pool->worker[i];
		if (w->started)
			pthread_join(w->tid, NULL);
		if (w->zs_ready)
			inflateEnd(&w->zs);
		libdeflate_free_decompressor(w->fast);
	}
	pthread_cond_destroy(&pool->done_cv);
	pthread_cond_destroy(&pool->work_cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->worker);
	free(pool->batch);
	free(pool);
}

struct decompress_pool *decompress_pool_new(unsigned threads, uint8_t *ram,
					    uint64_t ram_size,
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
	pool->nbatches = threads * BATCHES_PER_WORKER + 1;
	pool->batch = xcalloc(pool->nbatches, sizeof(*pool->batch));
	pool->worker = xcalloc(threads, sizeof(*pool->worker));
	for (unsigned i = 0; i < INFLIGHT_BUCKETS; i++)
		atomic_init(&pool->inflight[i], 0);
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->work_cv, NULL);
	pthread_cond_init(&pool->done_cv, NULL);

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
		const char *force = getenv("QMIG_INFLATE");
		if (!force || strcmp(force, "zlib"))
			w->fast = libdeflate_alloc_decompressor();
	}
	for (unsigned i = 0; i < threads; i++) {
		struct dp_worker *w = &pool->worker[i];
		int rc = pthread_create(&w->tid, NULL, worker_main, w);
		if (rc) {
			error_setf_code(errp, rc,
					"cannot create decompression thread: %s",
					strerror(rc));
			goto fail;
		}
		w->started = true;
		pthread_setname_np(w->tid, "decompress");
	}
	return pool;

fail:
	decompress_pool_free(pool);
	return NULL;
}
