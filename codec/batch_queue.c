#include "codec/batch_queue.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/xalloc.h"

#define SLOTS_PER_WORKER 8 /* see batch_queue_slots_for() */
#define SLOTS_BOUND 64     /* beyond 8 workers, 2 a worker */

unsigned batch_queue_slots_for(unsigned workers)
{
	unsigned deep = workers * SLOTS_PER_WORKER;
	if (deep > SLOTS_BOUND)
		deep = SLOTS_BOUND;
	/* Each worker can hold one batch with one more queued behind it. */
	if (deep < workers * 2)
		deep = workers * 2;
	return deep + 1; /* + the one being filled */
}

void *batch_queue_alloc_batches(unsigned slots, size_t size,
				const char *what, unsigned threads,
				struct error **errp)
{
	void *batches = calloc(slots, size);
	if (!batches)
		error_setf_code(errp, ENOMEM,
				"cannot allocate %zu bytes of %s buffers for %u threads",
				slots * size, what, threads);
	return batches;
}

void batch_queue_init(struct batch_queue *q, unsigned slots)
{
	assert(slots >= 2);
	q->slots = slots;
	q->done = xcalloc(slots, sizeof(*q->done));
	for (unsigned i = 0; i < slots; i++)
		atomic_init(&q->done[i], false);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work_cv, NULL);
	pthread_cond_init(&q->done_cv, NULL);
	q->published = 0;
	q->taken = 0;
	q->quit = false;
	q->producer_waiting = false;
	q->retired = 0;
}

void batch_queue_destroy(struct batch_queue *q)
{
	pthread_cond_destroy(&q->done_cv);
	pthread_cond_destroy(&q->work_cv);
	pthread_mutex_destroy(&q->mu);
	free(q->done);
	q->done = NULL;
}

static atomic_bool *done_flag(struct batch_queue *q, uint64_t seq)
{
	return &q->done[seq % q->slots];
}

void batch_queue_publish(struct batch_queue *q)
{
	assert(!batch_queue_full(q));
	pthread_mutex_lock(&q->mu);
	q->published++;
	pthread_cond_signal(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
}

bool batch_queue_is_done(struct batch_queue *q, uint64_t seq)
{
	return atomic_load_explicit(done_flag(q, seq), memory_order_acquire);
}

void batch_queue_wait(struct batch_queue *q, bool (*cond)(void *), void *arg)
{
	if (cond(arg))
		return;
	pthread_mutex_lock(&q->mu);
	while (!cond(arg)) {
		q->producer_waiting = true;
		pthread_cond_wait(&q->done_cv, &q->mu);
	}
	q->producer_waiting = false;
	pthread_mutex_unlock(&q->mu);
}

struct done_arg {
	struct batch_queue *q;
	uint64_t seq;
};

static bool cond_done(void *arg)
{
	struct done_arg *a = arg;
	return batch_queue_is_done(a->q, a->seq);
}

void batch_queue_wait_done(struct batch_queue *q, uint64_t seq)
{
	struct done_arg a = { q, seq };
	batch_queue_wait(q, cond_done, &a);
}

void batch_queue_retire(struct batch_queue *q)
{
	assert(q->retired < q->published);
	assert(batch_queue_is_done(q, q->retired));
	/* Relaxed: the next worker to see this slot gets it through the
	 * publish/claim hand-over under mu. */
	atomic_store_explicit(done_flag(q, q->retired), false,
			      memory_order_relaxed);
	q->retired++;
}

void batch_queue_quit(struct batch_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->quit = true;
	pthread_cond_broadcast(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
}

bool batch_queue_claim(struct batch_queue *q, uint64_t *seq)
{
	pthread_mutex_lock(&q->mu);
	while (!q->quit && q->taken == q->published)
		pthread_cond_wait(&q->work_cv, &q->mu);
	bool ok = !q->quit;
	if (ok)
		*seq = q->taken++;
	pthread_mutex_unlock(&q->mu);
	return ok;
}

void batch_queue_finish(struct batch_queue *q, uint64_t seq)
{
	pthread_mutex_lock(&q->mu);
	/* Under mu: a producer that saw "not done" and is about to sleep
	 * holds mu until it waits, so this signal cannot fall between. */
	atomic_store_explicit(done_flag(q, seq), true, memory_order_release);
	if (q->producer_waiting)
		pthread_cond_signal(&q->done_cv);
	pthread_mutex_unlock(&q->mu);
}
