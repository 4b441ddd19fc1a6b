/*
 * codec/batch_queue: ring sizing, and one producer with real worker
 * threads: every batch is claimed exactly once, retired in submission
 * order, and its results are visible to the producer once it reads done.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/batch_queue.h"

static void test_slots_for(void **state)
{
	(void)state;
	/* 8 a worker + the filling one, bounded at 64 + 1 ... */
	assert_int_equal(batch_queue_slots_for(1), 9);
	assert_int_equal(batch_queue_slots_for(2), 17);
	assert_int_equal(batch_queue_slots_for(8), 65);
	assert_int_equal(batch_queue_slots_for(16), 65);
	/* ... but never under one claimed and one queued a worker. */
	assert_int_equal(batch_queue_slots_for(40), 81);
	assert_int_equal(batch_queue_slots_for(255), 511);
}

#define ROUNDS 20000

struct shared {
	struct batch_queue q;
	/* Per slot: written by the producer before publish, by the one
	 * worker that claims it, read by the producer after done. */
	uint64_t input[65];
	uint64_t output[65];
	unsigned claims[65];
};

static void *worker(void *arg)
{
	struct shared *sh = arg;
	uint64_t seq;
	while (batch_queue_claim(&sh->q, &seq)) {
		unsigned slot = seq % batch_queue_slots(&sh->q);
		sh->output[slot] = sh->input[slot] * 3 + 1;
		sh->claims[slot]++;
		batch_queue_finish(&sh->q, seq);
	}
	return NULL;
}

/* Waits for the oldest batch, checks its result is the next in order. */
static void retire_oldest(struct shared *sh, uint64_t *next_expected)
{
	uint64_t old = batch_queue_oldest(&sh->q);
	batch_queue_wait_done(&sh->q, old);
	assert_int_equal(sh->output[old % batch_queue_slots(&sh->q)],
			 *next_expected * 3 + 1);
	(*next_expected)++;
	batch_queue_retire(&sh->q);
}

static void run_workers(unsigned nworkers)
{
	static struct shared sh;
	memset(&sh, 0, sizeof(sh));
	batch_queue_init(&sh.q, batch_queue_slots_for(nworkers));
	unsigned slots = batch_queue_slots(&sh.q);
	assert_true(slots <= 65);
	pthread_t tid[4];
	for (unsigned i = 0; i < nworkers; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, worker, &sh), 0);

	uint64_t next_expected = 0; /* value of the next batch to retire */
	for (uint64_t v = 0; v < ROUNDS; v++) {
		if (batch_queue_full(&sh.q))
			retire_oldest(&sh, &next_expected);
		sh.input[batch_queue_filling(&sh.q) % slots] = v;
		batch_queue_publish(&sh.q);
	}
	while (batch_queue_oldest(&sh.q) < batch_queue_filling(&sh.q))
		retire_oldest(&sh, &next_expected);
	assert_int_equal(next_expected, ROUNDS);
	batch_queue_quit(&sh.q);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_join(tid[i], NULL);
	unsigned claims = 0;
	for (unsigned i = 0; i < slots; i++)
		claims += sh.claims[i];
	assert_int_equal(claims, ROUNDS);
	batch_queue_destroy(&sh.q);
}

static void test_one_worker(void **state)
{
	(void)state;
	run_workers(1);
}

static void test_four_workers(void **state)
{
	(void)state;
	run_workers(4);
}

static void *idle_worker(void *arg)
{
	uint64_t seq;
	return batch_queue_claim(arg, &seq) ? arg : NULL;
}

static void test_quit_wakes_idle_workers(void **state)
{
	(void)state;
	struct batch_queue q;
	batch_queue_init(&q, batch_queue_slots_for(2));
	pthread_t a, b;
	assert_int_equal(pthread_create(&a, NULL, idle_worker, &q), 0);
	assert_int_equal(pthread_create(&b, NULL, idle_worker, &q), 0);
	batch_queue_quit(&q);
	void *ra, *rb;
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	assert_null(ra);
	assert_null(rb);
	batch_queue_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_for),
		cmocka_unit_test(test_one_worker),
		cmocka_unit_test(test_four_workers),
		cmocka_unit_test(test_quit_wakes_idle_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
