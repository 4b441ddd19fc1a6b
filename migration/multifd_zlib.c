/*
 * multifd-compression zlib: one deflate stream per channel (zlib format,
 * multifd-zlib-level), each packet's pages deflated with Z_NO_FLUSH and
 * the last with Z_SYNC_FLUSH, as QEMU 7.2's multifd-zlib.c, so that either
 * side can be a QEMU 7.2.
 */
#include "migration/multifd_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include "util/xalloc.h"

/* igzip's stream with its level buffer. */
struct igzip_stream {
	struct isal_zstream s;
	uint8_t level_buf[ISAL_DEF_LVL1_DEFAULT];
};

static void igzip_init(struct multifd_codec *c)
{
	struct igzip_stream *g = xcalloc(1, sizeof(*g));
	isal_deflate_init(&g->s);
	g->s.level = 1;
	g->s.level_buf = g->level_buf;
	g->s.level_buf_size = sizeof(g->level_buf);
	g->s.gzip_flag = IGZIP_ZLIB;
	g->s.end_of_stream = 0;
	c->stream = g;
	c->igzip = true;
}

static long igzip_compress(struct multifd_codec *c,
			   const uint8_t *const *pages, unsigned n,
			   uint8_t *out, struct error **errp)
{
	struct isal_zstream *s = &((struct igzip_stream *)c->stream)->s;
	s->next_out = out;
	s->avail_out = MULTIFD_COMPRESSED_MAX;
	for (unsigned i = 0; i < n; i++) {
		memcpy(c->stable, pages[i], RAM_PAGE_SIZE);
		s->next_in = c->stable;
		s->avail_in = RAM_PAGE_SIZE;
		s->flush = i + 1 == n ? SYNC_FLUSH : NO_FLUSH;
		int ret = isal_deflate(s);
		if (ret != COMP_OK || s->avail_in || !s->avail_out) {
			error_setf_code(errp, EIO,
					"multifd %u: igzip deflate failed (%d)",
					c->id, ret);
			return -1;
		}
	}
	return (long)(MULTIFD_COMPRESSED_MAX - s->avail_out);
}

bool multifd_zlib_init(struct multifd_codec *c, int level, bool compress,
		       struct error **errp)
{
	if (compress && level == 1) {
		igzip_init(c);
		return true;
	}
	z_stream *zs = xcalloc(1, sizeof(*zs));
	int ret = compress ? deflateInit(zs, level) : inflateInit(zs);
	if (ret != Z_OK) {
		error_setf_code(errp, ENOMEM, "multifd %u: %s init failed: %s",
				c->id, compress ? "deflate" : "inflate",
				zs->msg ? zs->msg : "no message");
		free(zs);
		return false;
	}
	c->stream = zs;
	return true;
}

void multifd_zlib_end(struct multifd_codec *c, bool compress)
{
	z_stream *zs = c->stream;
	if (!zs)
		return;
	if (c->igzip) {
		free(c->stream);
		c->stream = NULL;
		return;
	}
	if (compress)
		deflateEnd(zs);
	else
		inflateEnd(zs);
	free(zs);
	c->stream = NULL;
}

long multifd_zlib_compress(struct multifd_codec *c,
			   const uint8_t *const *pages, unsigned n,
			   uint8_t *out, struct error **errp)
{
	if (c->igzip)
		return igzip_compress(c, pages, n, out, errp);
	z_stream *zs = c->stream;
	zs->next_out = out;
	zs->avail_out = MULTIFD_COMPRESSED_MAX;
	for (unsigned i = 0; i < n; i++) {
		/* The guest may write the page meanwhile: deflate reads its
		 * input more than once, so it gets a copy that holds still. */
		memcpy(c->stable, pages[i], RAM_PAGE_SIZE);
		zs->next_in = c->stable;
		zs->avail_in = RAM_PAGE_SIZE;
		int ret = deflate(zs, i + 1 == n ? Z_SYNC_FLUSH : Z_NO_FLUSH);
		if (ret != Z_OK) {
			error_setf_code(errp, EIO,
					"multifd %u: deflate returned %d instead of Z_OK",
					c->id, ret);
			return -1;
		}
		/* A full output buffer may hold back part of the flush. */
		if (zs->avail_in || !zs->avail_out) {
			error_setf_code(errp, EIO, "multifd %u: deflate failed",
					c->id);
			return -1;
		}
	}
	return (long)(MULTIFD_COMPRESSED_MAX - zs->avail_out);
}

bool multifd_zlib_decompress(struct multifd_codec *c, const uint8_t *in,
			     size_t len, uint8_t *const *pages, unsigned n,
			     struct error **errp)
{
	z_stream *zs = c->stream;
	uLong start = zs->total_out;
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)len;
	int ret = Z_OK;
	for (unsigned i = 0; i < n && ret == Z_OK; i++) {
		zs->next_out = pages[i];
		zs->avail_out = RAM_PAGE_SIZE;
		ret = inflate(zs, Z_SYNC_FLUSH);
		if (ret == Z_OK && zs->avail_out)
			break; /* the payload ended inside this page */
	}
	/* The flush marker after the last page may still be unread: inflate
	 * it into a spare byte, which must stay unused (no data beyond the
	 * pages). */
	uint8_t extra;
	while (ret == Z_OK && zs->avail_in &&
	       zs->total_out - start == (uLong)n * RAM_PAGE_SIZE) {
		uInt before = zs->avail_in;
		zs->next_out = &extra;
		zs->avail_out = 1;
		ret = inflate(zs, Z_SYNC_FLUSH);
		if (zs->avail_in == before)
			break;
	}
	if (ret != Z_OK && ret != Z_BUF_ERROR) {
		error_setf_code(errp, EINVAL,
				"multifd %u: inflate returned %d instead of Z_OK",
				c->id, ret);
		return false;
	}
	uLong got = zs->total_out - start;
	if (got != (uLong)n * RAM_PAGE_SIZE) {
		error_setf_code(errp, EINVAL,
				"multifd %u: packet size received %lu size expected %u",
				c->id, got, n * RAM_PAGE_SIZE);
		return false;
	}
	if (zs->avail_in) {
		error_setf_code(errp, EINVAL,
				"multifd %u: %u bytes of the packet left after its pages",
				c->id, zs->avail_in);
		return false;
	}
	return true;
}
