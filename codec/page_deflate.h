/*
 * page_deflate: one 4 KiB guest page into one complete zlib stream
 * (RFC 1950), the payload of a COMPRESS_PAGE record
 * (shared/docs/qemu-7.2-stream.md §10.1).  Codec only: it touches the
 * caller's buffers and its own compressor state, nothing else.
 *
 * Several deflate libraries can produce the stream; QEMU 7.2's destination
 * inflates it with zlib, which reads the output of all of them (checked page
 * by page in tests/unit/test_compress_pool.c).  An engine is chosen once per
 * compressor (page_deflate_pick()), never per call:
 *
 *   level 0      stored block written here: byte-identical to zlib's level 0
 *                (78 01 | 01 00 10 ff ef | page | Adler-32, 4107 bytes)
 *   level 1      ISA-L igzip level 1: fastest, output within 5% of zlib
 *                level 1 on real guest memory (docs/compression.md)
 *   level 2..9   libdeflate at the same level: faster than zlib and smaller
 *   fallback     zlib (deflate), the reference
 *
 * A caller may instead use one engine for every level (the migration
 * parameter x-compress-engine: igzip caps the level at 3, its maximum;
 * level 0 is then igzip's own level 0, not stored).  The zlib engine
 * reproduces QEMU 7.2's payload bytes exactly (QEMU calls zlib with the
 * same parameters); the other engines differ in bytes only.
 *
 * Output limit: whatever the engine, a payload is at most
 * PAGE_DEFLATE_MAX_BYTES (4110, the largest length QEMU 7.2's destination
 * accepts).  An engine whose output would be longer (libdeflate on random
 * data) is replaced for that page by the stored form (4107 bytes), so
 * page_deflate_compress() cannot fail.
 *
 * Thread safety: a struct page_deflate is used by one thread at a time;
 * different ones are independent.
 */
#ifndef QMIG_CODEC_PAGE_DEFLATE_H
#define QMIG_CODEC_PAGE_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/page.h"
#include "util/error.h"

#define PAGE_DEFLATE_PAGE_BYTES CODEC_PAGE_SIZE
/* QEMU 7.2's destination rejects longer data. */
#define PAGE_DEFLATE_MAX_BYTES CODEC_DEFLATE_BOUND
#define PAGE_DEFLATE_MAX_LEVEL 9

enum page_deflate_engine {
	PAGE_DEFLATE_STORED,     /* level 0 only: stored block, no library */
	PAGE_DEFLATE_ZLIB,       /* deflate() of the system zlib */
	PAGE_DEFLATE_LIBDEFLATE, /* libdeflate_zlib_compress() */
	PAGE_DEFLATE_IGZIP,      /* ISA-L isal_deflate_stateless() */
	PAGE_DEFLATE__COUNT
};

/* "stored", "zlib", "libdeflate", "igzip". */
const char *page_deflate_engine_name(enum page_deflate_engine engine);

/* The engine for level (0..9): the table above. */
enum page_deflate_engine page_deflate_pick(int level);

/* The engine called name ("zlib", ...; see _name()), or -1. */
int page_deflate_engine_lookup(const char *name);

struct page_deflate;

/*
 * A compressor for level 0..9 using engine.  NULL with *errp set when the
 * library cannot allocate its state or refuses the level.
 */
struct page_deflate *page_deflate_new(enum page_deflate_engine engine,
				      int level, struct error **errp);
void page_deflate_free(struct page_deflate *pd); /* NULL is fine */

enum page_deflate_engine page_deflate_engine(const struct page_deflate *pd);

/*
 * Compresses the PAGE_DEFLATE_PAGE_BYTES bytes at page into out
 * (PAGE_DEFLATE_MAX_BYTES bytes of room) as one zlib stream; returns its
 * length, 1..PAGE_DEFLATE_MAX_BYTES.  Never fails.
 */
size_t page_deflate_compress(struct page_deflate *pd, const uint8_t *page,
			     uint8_t *out);

/* The stored (level 0) form of page in out; returns
 * CODEC_DEFLATE_STORED_BYTES. */
size_t page_deflate_stored(const uint8_t *page, uint8_t *out);

#endif
