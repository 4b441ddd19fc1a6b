/*
 * decompress_pool: the destination side of the `compress` capability
 * (shared/docs/qemu-7.2-stream.md §10.1, §10.3).  Worker threads inflate
 * COMPRESS_PAGE payloads straight into guest RAM, and copy raw pages whose
 * first touch the loader hands them (decompress_pool_submit_page).
 *
 * What a payload must be, exactly as QEMU 7.2 decides it: one zlib stream
 * (RFC 1950) that zlib's inflate, given the payload and the 4096-byte page
 * in one call, takes to its end (Z_STREAM_END), Adler-32 included.
 * - Bytes after the end of the stream, within the length, are ignored.
 * - A stream that ends after fewer than 4096 bytes of output is accepted
 *   (QEMU 7.2 does) and overwrites only the beginning of the page.
 * - Anything else (corrupt data, raw deflate, gzip, empty, a preset
 *   dictionary, more than 4096 bytes of output) fails the load with
 *   "decompress data failed" (code EPERM: QEMU prints its -1 as
 *   "Operation not permitted").  Output never goes outside the page.
 *
 * Ordering promised: once decompress_pool_wait_page(offset) returns, no
 * compressed record submitted earlier for that page is still being
 * applied, so the caller's own write (PAGE, ZERO, XBZRLE) lands after it.
 * Two compressed records for one page are applied in submission order
 * (decompress_pool_submit() waits for the older one).  So, unlike QEMU
 * 7.2, a later record of a page is never overtaken by an older compressed
 * one, whatever the section layout.
 *
 * Thread safety: one caller thread (the RAM loader) calls every function;
 * the workers only touch the pages they were given.  Guest RAM pages with
 * a record in flight must not be read or written by anyone else until
 * decompress_pool_wait_page() or decompress_pool_flush() returns.
 */
#ifndef QMIG_CODEC_DECOMPRESS_POOL_H
#define QMIG_CODEC_DECOMPRESS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/page.h"
#include "util/error.h"

#define DECOMPRESS_POOL_MAX_THREADS 255 /* QEMU's decompress-threads max */
/* Largest payload QEMU 7.2 accepts. */
#define DECOMPRESS_POOL_MAX_PAYLOAD_BYTES CODEC_DEFLATE_BOUND

struct decompress_pool;

/* How the workers inflate (the migration parameter x-decompress-engine). */
enum decompress_engine {
	/* libdeflate, about twice as fast, and zlib again for every payload
	 * libdeflate refuses, so that a refusal is always zlib's */
	DECOMPRESS_LIBDEFLATE,
	DECOMPRESS_ZLIB,       /* zlib alone, as QEMU 7.2 */
	DECOMPRESS__COUNT
};

/* "libdeflate", "zlib". */
const char *decompress_engine_name(enum decompress_engine engine);
/* The engine called name, or -1. */
int decompress_engine_lookup(const char *name);

/*
 * Starts threads (1..DECOMPRESS_POOL_MAX_THREADS) workers writing into
 * ram[0..ram_size) (ram_size a non-zero multiple of 4096), inflating with
 * engine.  The pool does not own ram, which must outlive it.  NULL with
 * *errp set on a bad argument or when a thread, an inflate state or the
 * payload buffers (about 0.5 MiB a thread) cannot be created.
 */
struct decompress_pool *decompress_pool_new_engine(unsigned threads,
						   uint8_t *ram,
						   uint64_t ram_size,
						   enum decompress_engine engine,
						   struct error **errp);
/* The same with DECOMPRESS_LIBDEFLATE. */
struct decompress_pool *decompress_pool_new(unsigned threads, uint8_t *ram,
					    uint64_t ram_size,
					    struct error **errp);

/* The engine the pool was made with. */
enum decompress_engine decompress_pool_engine(const struct decompress_pool *pool);

/*
 * Stops and joins the workers (records in flight are finished or dropped;
 * their pages are then undefined) and frees the pool.  NULL is fine.
 */
void decompress_pool_free(struct decompress_pool *pool);

/*
 * Queues the len bytes at data (copied before returning) to be inflated
 * into the page at offset (page-aligned, asserted).  Waits first for an
 * older record of the same page.  Fails, taking nothing, with QEMU's
 * "Invalid compressed data length: N" when len > 4110 (the caller checks
 * this first, as QEMU does, but the pool does not rely on it) or "Illegal
 * RAM offset N" when the page is outside ram.  A payload that does not
 * inflate is reported by decompress_pool_flush(), not here.
 */
bool decompress_pool_submit(struct decompress_pool *pool, uint64_t offset,
			    const uint8_t *data, size_t len,
			    struct error **errp);

/*
 * Queues a whole raw page (4096 bytes at page, copied before returning)
 * to be copied into the page at offset, in order with the page's other
 * records, as decompress_pool_submit().  For a loader whose first touches
 * of RAM are 4 KiB page faults (~4 us each): a worker takes them on
 * another core while the loader reads on.  Fails as submit() does on an
 * offset outside ram.
 */
bool decompress_pool_submit_page(struct decompress_pool *pool,
				 uint64_t offset, const uint8_t *page,
				 struct error **errp);

/*
 * Returns once no submitted record for the page at offset is in flight.
 * The caller calls it before writing any record to a page.  Costs one
 * atomic load when no record for the page (or for a page sharing its hash
 * bucket) is in flight.
 */
void decompress_pool_wait_page(struct decompress_pool *pool,
			       uint64_t offset);

/*
 * Waits for every submitted record (called at every EOS and at the end of
 * the load).  false with *errp set ("decompress data failed", code EPERM)
 * if any record since the pool was created failed to inflate; the failure
 * stays, as the load is over.
 */
bool decompress_pool_flush(struct decompress_pool *pool, struct error **errp);

#endif
