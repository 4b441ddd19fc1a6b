/*
 * The hand-over queue both page pools use (compress_pool on the source,
 * decompress_pool on the destination): one producer thread fills batches
 * of work in order, worker threads claim whole batches, and the producer
 * retires them in the same order once they are done.
 *
 * The queue holds sequence numbers and synchronisation only; each pool
 * keeps its own array of batches and finds batch seq at
 * seq % batch_queue_slots().  At any time
 *
 *   retired <= taken <= published <= retired + slots
 *   [retired, taken)    claimed by a worker, done or not
 *   [taken, published)  queued, waiting for a worker
 *   published           the batch the producer is filling
 *
 * Whoever holds a batch in that cycle (producer while filling, then one
 * worker, then the producer again from done to retire) is its only user,
 * so the batch's contents need no lock.  Each hand-over costs one mutex
 * round trip per batch: publish (producer), claim and finish (worker).
 * The producer reads "done" with an acquire load and locks only to sleep.
 *
 * Threads: batch_queue_claim() and batch_queue_finish() are the workers';
 * every other call is the producer's.
 */
#ifndef QMIG_CODEC_BATCH_QUEUE_H
#define QMIG_CODEC_BATCH_QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct batch_queue {
	unsigned slots;           /* ring size */
	atomic_bool *done;        /* per slot: worker stores true (release) */

	pthread_mutex_t mu;
	pthread_cond_t work_cv;   /* workers: published > taken, or quit */
	pthread_cond_t done_cv;   /* producer: some batch became done */
	uint64_t published;       /* mu (the producer writes) */
	uint64_t taken;           /* mu */
	bool quit;                /* mu: workers return from claim */
	bool producer_waiting;    /* mu: the producer sleeps on done_cv */

	uint64_t retired;         /* producer only */
};

/*
 * Ring size for `workers` threads: deep enough that the workers never run
 * dry while the producer is busy elsewhere (scanning zero pages, writing
 * the stream), bounded so that 255 threads do not pin gigabytes.  Measured
 * on the idle-guest migration: 8 batches a worker ran 4-5 % faster than 2;
 * 16 and 32 gained nothing more.
 */
unsigned batch_queue_slots_for(unsigned workers);

struct error;

/* The pool's batches: `slots` of `size` bytes each, zeroed by calloc so
 * that untouched batches cost no resident memory.  This is the pool's one
 * big allocation (tens of MiB for 255 threads, the user's choice), so it
 * fails with "cannot allocate N bytes of WHAT buffers for T threads" and
 * fails the migration, not the VM, as in QEMU 7.2. */
void *batch_queue_alloc_batches(unsigned slots, size_t size,
				const char *what, unsigned threads,
				struct error **errp);

void batch_queue_init(struct batch_queue *q, unsigned slots);
/* Workers must have been joined. */
void batch_queue_destroy(struct batch_queue *q);

static inline unsigned batch_queue_slots(const struct batch_queue *q)
{
	return q->slots;
}

/* ---- producer ---- */

/* Sequence number of the batch being filled. */
static inline uint64_t batch_queue_filling(const struct batch_queue *q)
{
	return q->published;
}

/* Oldest batch not retired; equal to filling() when none is out. */
static inline uint64_t batch_queue_oldest(const struct batch_queue *q)
{
	return q->retired;
}

/* Every slot is published and not retired: the filling one is not free. */
static inline bool batch_queue_full(const struct batch_queue *q)
{
	return q->published - q->retired == q->slots;
}

/* Hands the filling batch to the workers. */
void batch_queue_publish(struct batch_queue *q);

/* Whether published batch seq is done (acquire: its results are visible). */
bool batch_queue_is_done(struct batch_queue *q, uint64_t seq);

/* Sleeps until cond(arg) holds; cond is re-checked whenever a batch ends. */
void batch_queue_wait(struct batch_queue *q, bool (*cond)(void *), void *arg);

/* Sleeps until published batch seq is done. */
void batch_queue_wait_done(struct batch_queue *q, uint64_t seq);

/* Frees the oldest batch, which must be done, for filling again. */
void batch_queue_retire(struct batch_queue *q);

/* Workers return false from claim from now on. */
void batch_queue_quit(struct batch_queue *q);

/* ---- workers ---- */

/* Sleeps until a batch is queued and claims it; false once quit. */
bool batch_queue_claim(struct batch_queue *q, uint64_t *seq);

/* Marks claimed batch seq done (release) and wakes a waiting producer. */
void batch_queue_finish(struct batch_queue *q, uint64_t seq);

#endif
