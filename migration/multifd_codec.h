/*
 * A multifd channel's compressor or decompressor (multifd-compression
 * zlib or zstd; none needs neither).  As in QEMU 7.2 each channel keeps
 * ONE stream for the whole migration: a packet's payload is the next
 * piece of that stream, its pages compressed in order and flushed at the
 * last one (zlib Z_SYNC_FLUSH, zstd ZSTD_e_flush), so that the receiver
 * can inflate each packet on arrival while keeping the dictionary.
 *
 * zlib at level 1 compresses with ISA-L's igzip (the same stream format,
 * zlib header included, about three times faster), as the `compress`
 * capability does at level 1; other levels and every decompressor use zlib.
 *
 * Threads: a codec belongs to its channel's thread.
 */
#ifndef QMIG_MIGRATION_MULTIFD_CODEC_H
#define QMIG_MIGRATION_MULTIFD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/multifd_wire.h"
#include "util/error.h"

struct multifd_codec {
	enum multifd_method method;
	unsigned id;          /* the channel, for messages */
	void *stream;         /* z_stream, an igzip stream, ZSTD_CStream or
			       * ZSTD_DStream */
	bool igzip;           /* zlib level 1: ISA-L's deflate (below) */
	uint8_t *stable;      /* a page copied before compression */
};

/* level: multifd-zlib-level or multifd-zstd-level (range-checked by the
 * options).  NULL with *errp on failure.  method must not be none. */
struct multifd_codec *multifd_codec_new_compress(enum multifd_method method,
						 int level, unsigned id,
						 struct error **errp);
struct multifd_codec *multifd_codec_new_decompress(enum multifd_method method,
						   unsigned id,
						   struct error **errp);
void multifd_codec_free(struct multifd_codec *c);

/* Compresses n pages into out (MULTIFD_COMPRESSED_MAX bytes); returns the
 * payload length, or -1 with *errp set. */
long multifd_codec_compress(struct multifd_codec *c,
			    const uint8_t *const *pages, unsigned n,
			    uint8_t *out, struct error **errp);
/* Inflates one payload into n pages: exactly n pages' bytes, and all of
 * in used; false with *errp otherwise (the peer's bytes are not trusted). */
bool multifd_codec_decompress(struct multifd_codec *c, const uint8_t *in,
			      size_t len, uint8_t *const *pages, unsigned n,
			      struct error **errp);

/* The two back ends (multifd_zlib.c, multifd_zstd.c). */
bool multifd_zlib_init(struct multifd_codec *c, int level, bool compress,
		       struct error **errp);
void multifd_zlib_end(struct multifd_codec *c, bool compress);
long multifd_zlib_compress(struct multifd_codec *c,
			   const uint8_t *const *pages, unsigned n,
			   uint8_t *out, struct error **errp);
bool multifd_zlib_decompress(struct multifd_codec *c, const uint8_t *in,
			     size_t len, uint8_t *const *pages, unsigned n,
			     struct error **errp);
bool multifd_zstd_init(struct multifd_codec *c, int level, bool compress,
		       struct error **errp);
void multifd_zstd_end(struct multifd_codec *c, bool compress);
long multifd_zstd_compress(struct multifd_codec *c,
			   const uint8_t *const *pages, unsigned n,
			   uint8_t *out, struct error **errp);
bool multifd_zstd_decompress(struct multifd_codec *c, const uint8_t *in,
			     size_t len, uint8_t *const *pages, unsigned n,
			     struct error **errp);

#endif
