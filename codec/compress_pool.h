/*
 * compress_pool: the source side of the `compress` capability
 * (shared/docs/qemu-7.2-stream.md §10).  Worker threads turn guest pages
 * into payloads: one complete zlib stream of the page (at most
 * CODEC_DEFLATE_BOUND bytes), or "all zero" when the page is (found by
 * the worker, as in QEMU 7.2).  The pool writes no wire bytes: the caller
 * puts the record header around each payload (COMPRESS_PAGE or ZERO).
 *
 * A page goes submit -> a worker -> take, and nothing calls back:
 *
 *   while (!compress_pool_submit(pool, offset, page))
 *           take one payload (wait) and write it, or give up (busy);
 *   ...
 *   while (compress_pool_take(pool, drain, &p))
 *           write p;
 *
 * Contract:
 * - One caller thread: every call but the workers' own is the caller's.
 * - submit copies the page before it returns: that is the moment its
 *   contents are taken; the caller may let the guest write it again.
 * - Payloads come out of take strictly in submission order, so two
 *   submissions of the same page reach the stream in the order their
 *   contents were taken.
 * - take with wait returns every submitted page before it returns false;
 *   the caller drains at the end of every RAM section (before EOS), so no
 *   compressed record spills into the next section.  Within one section the
 *   caller must not send another record for a page it submitted there:
 *   QEMU 7.2's destination may apply an older compressed record after a
 *   newer one of the same section (§10.3).
 * - Nothing fails after compress_pool_new(): the level is fixed, buffers are
 *   preallocated and every engine falls back to a stored block.
 */
#ifndef QMIG_CODEC_COMPRESS_POOL_H
#define QMIG_CODEC_COMPRESS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/page_deflate.h"
#include "util/error.h"

#define COMPRESS_POOL_MAX_THREADS 255 /* QEMU's compress-threads maximum */

/* One finished page, as take hands it out. */
struct compress_payload {
	uint64_t offset;     /* the page's offset in its block, as submitted */
	bool is_zero;        /* the page was all zero: len is 0 */
	size_t len;          /* bytes at data, <= CODEC_DEFLATE_BOUND */
	const uint8_t *data; /* the zlib stream; valid until the next submit */
};

struct compress_pool;

/*
 * Starts threads (1..COMPRESS_POOL_MAX_THREADS) workers compressing at
 * level (0..9) with the engine page_deflate_pick(level) chooses.  NULL
 * with *errp set on a bad argument or when a thread, a compressor or the
 * page buffers (about 1 MiB a thread) cannot be created.
 */
struct compress_pool *compress_pool_new(unsigned threads, int level,
					struct error **errp);

/* As compress_pool_new(), with the engine given (tests, benchmarks). */
struct compress_pool *compress_pool_new_engine(unsigned threads, int level,
					       enum page_deflate_engine engine,
					       struct error **errp);

/*
 * Stops and joins the workers and frees everything.  Payloads not yet
 * taken are dropped: drain first to keep them.  NULL is fine.
 */
void compress_pool_free(struct compress_pool *pool);

/*
 * Takes a copy of the CODEC_PAGE_SIZE bytes at page, to be compressed and
 * handed out by take for offset (page-aligned, asserted).  Returns false
 * and takes nothing when every buffer of the pool holds a page not yet
 * taken out: the caller takes payloads (with wait, the oldest batch's
 * free a buffer) and submits again, or sends the page on the normal path
 * and counts it busy (QEMU's compress-wait-thread off).
 */
bool compress_pool_submit(struct compress_pool *pool, uint64_t offset,
			  const uint8_t *page);

/*
 * The oldest payload not taken yet, in submission order, into *out.
 * wait=false: false when it is not finished, or no submitted page is with
 * the workers yet (they get pages a batch at a time).  wait=true: hands
 * every submitted page to the workers and sleeps until the oldest is
 * finished; false only when the pool holds no page at all.
 */
bool compress_pool_take(struct compress_pool *pool, bool wait,
			struct compress_payload *out);

/*
 * Pages taken by submit whose payloads have not been taken out yet: the
 * bytes the stream will still get from the pool (caller's thread).
 */
uint64_t compress_pool_inflight_pages(const struct compress_pool *pool);

/* The engine the workers use. */
enum page_deflate_engine compress_pool_engine(const struct compress_pool *pool);

#endif
