/*
 * compress_pool: the source side of the `compress` capability
 * (shared/docs/qemu-7.2-stream.md §10).  Worker threads turn guest pages
 * into finished RAM records, which the caller writes into its stream:
 *
 *   COMPRESS_PAGE: be64 (offset | 0x100 | 0x020) | be32 len | len bytes,
 *                  one complete zlib stream of the page (len <= 4110)
 *   ZERO:          be64 (offset | 0x002 | 0x020) | u8 0
 *                  when the page is all zero (found by the worker, as in
 *                  QEMU 7.2)
 *
 * Every record carries CONTINUE: the caller must have named the block in
 * an earlier record of the stream (QEMU 7.2 sends the first page of a block
 * on the normal path for that reason).
 *
 * Contract:
 * - One caller thread: compress_pool_submit() and compress_pool_collect()
 *   are called from the same thread (the RAM save loop); emit runs on that
 *   thread, inside those two calls, never on a worker.
 * - submit copies the page before it returns: that is the moment its
 *   contents are taken; the caller may let the guest write it again.
 * - Records reach emit strictly in submission order, so two submissions of
 *   the same page reach the stream in the order their contents were taken.
 * - Records of pages submitted before a drain are all emitted by the drain;
 *   the caller drains at the end of every RAM section (before EOS), so no
 *   compressed record spills into the next section.  Within one section the
 *   caller must not send another record for a page it submitted there:
 *   QEMU 7.2's destination may apply an older compressed record after a
 *   newer one of the same section (§10.3).
 * - Nothing fails after compress_pool_new(): the level is fixed, buffers are
 *   preallocated and every engine falls back to a stored block.
 */
#ifndef QMIG_MIGRATION_COMPRESS_POOL_H
#define QMIG_MIGRATION_COMPRESS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/page_deflate.h"
#include "util/error.h"

#define COMPRESS_POOL_MAX_THREADS 255 /* QEMU's compress-threads maximum */
/* Header (8) + be32 length (4) + payload. */
#define COMPRESS_POOL_MAX_RECORD_BYTES (8 + 4 + PAGE_DEFLATE_MAX_BYTES)

/*
 * Receives one finished record: record[0..len) goes into the stream as is.
 * offset is the page's offset in its block (also in the record's header);
 * is_zero tells a ZERO record (9 bytes) from a COMPRESS_PAGE one.  record
 * is valid only during the call.
 */
typedef void compress_emit_fn(void *opaque, uint64_t offset,
			      const uint8_t *record, size_t len, bool is_zero);

struct compress_pool;

/*
 * Starts threads (1..COMPRESS_POOL_MAX_THREADS) workers compressing at
 * level (0..9) with the engine page_deflate_pick(level) chooses.  emit and
 * opaque receive every record (see the contract).  NULL with *errp set on a
 * bad argument or when a thread, a compressor or the page buffers (about
 * 1 MiB a thread) cannot be created.
 */
struct compress_pool *compress_pool_new(unsigned threads, int level,
					compress_emit_fn *emit, void *opaque,
					struct error **errp);

/* As compress_pool_new(), with the engine given (tests, benchmarks). */
struct compress_pool *compress_pool_new_engine(unsigned threads, int level,
					       enum page_deflate_engine engine,
					       compress_emit_fn *emit,
					       void *opaque,
					       struct error **errp);

/*
 * Stops and joins the workers and frees everything.  Records not yet
 * emitted are dropped: drain first to keep them.  NULL is fine.
 */
void compress_pool_free(struct compress_pool *pool);

/*
 * Takes a copy of the 4096 bytes at page, to be compressed and emitted as
 * the record for offset (page-aligned, asserted).  May first emit finished
 * records of earlier pages.  When every buffer of the pool is in use:
 * wait=true blocks until the oldest batch is compressed (and emits it);
 * wait=false returns false and takes nothing - the caller sends the page
 * on the normal path and counts it busy (QEMU's compress-wait-thread off).
 * Returns true when the page was taken.
 */
bool compress_pool_submit(struct compress_pool *pool, uint64_t offset,
			  const uint8_t *page, bool wait);

/*
 * Emits the records that are finished, in submission order, stopping at
 * the first unfinished one.  drain=true hands all submitted pages to the
 * workers and waits until every record has been emitted.
 */
void compress_pool_collect(struct compress_pool *pool, bool drain);

/*
 * Pages taken by submit whose records have not been emitted yet: the
 * bytes the stream will still get from the pool (caller's thread).
 */
uint64_t compress_pool_inflight_pages(const struct compress_pool *pool);

/* The engine the workers use. */
enum page_deflate_engine compress_pool_engine(const struct compress_pool *pool);

#endif
