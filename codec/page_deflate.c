#include "codec/page_deflate.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include "util/xalloc.h"

/* zlib header for level 0/1 (FLEVEL 0): CM 8, 32 KiB window, FCHECK. */
#define ZLIB_HDR0 0x78
#define ZLIB_HDR1_FASTEST 0x01
#define STORED_BYTES CODEC_DEFLATE_STORED_BYTES

struct page_deflate {
	enum page_deflate_engine engine;
	int level;                        /* 0..9 as asked */
	z_stream zs;                      /* ZLIB: deflateInit'ed once */
	struct libdeflate_compressor *ld; /* LIBDEFLATE */
	uint8_t *isal_level_buf;          /* IGZIP: its hash/token buffer */
	uint32_t isal_level_buf_bytes;
	int isal_level;                   /* IGZIP: 0..3 */
};

struct engine_ops {
	const char *name;
	bool (*init)(struct page_deflate *pd, struct error **errp);
	size_t (*compress)(struct page_deflate *pd, const uint8_t *page,
			   uint8_t *out); /* 0: did not fit, caller stores */
	void (*release)(struct page_deflate *pd);
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

size_t page_deflate_stored(const uint8_t *page, uint8_t *out)
{
	out[0] = ZLIB_HDR0;
	out[1] = ZLIB_HDR1_FASTEST;
	/* BFINAL=1 BTYPE=00, then LEN and NLEN little-endian. */
	out[2] = 0x01;
	out[3] = PAGE_DEFLATE_PAGE_BYTES & 0xff;
	out[4] = PAGE_DEFLATE_PAGE_BYTES >> 8;
	out[5] = ~PAGE_DEFLATE_PAGE_BYTES & 0xff;
	out[6] = (~PAGE_DEFLATE_PAGE_BYTES >> 8) & 0xff;
	memcpy(out + 7, page, PAGE_DEFLATE_PAGE_BYTES);
	put_be32(out + 7 + PAGE_DEFLATE_PAGE_BYTES,
		 libdeflate_adler32(1, page, PAGE_DEFLATE_PAGE_BYTES));
	return STORED_BYTES;
}

/* ---- stored ---- */

static bool stored_init(struct page_deflate *pd, struct error **errp)
{
	if (pd->level != 0) {
		error_setf(errp, "deflate engine 'stored' only does level 0");
		return false;
	}
	return true;
}

static size_t stored_compress(struct page_deflate *pd, const uint8_t *page,
			      uint8_t *out)
{
	return page_deflate_stored(page, out);
}

static void stored_release(struct page_deflate *pd)
{
}

/* ---- zlib ---- */

static bool zlib_init(struct page_deflate *pd, struct error **errp)
{
	int rc = deflateInit(&pd->zs, pd->level);
	if (rc != Z_OK) {
		error_setf(errp, "deflateInit failed: %s (%d)",
			   pd->zs.msg ? pd->zs.msg : "no message", rc);
		return false;
	}
	return true;
}

static size_t zlib_compress(struct page_deflate *pd, const uint8_t *page,
			    uint8_t *out)
{
	z_stream *zs = &pd->zs;
	if (deflateReset(zs) != Z_OK)
		return 0;
	zs->next_in = (Bytef *)page;
	zs->avail_in = PAGE_DEFLATE_PAGE_BYTES;
	zs->next_out = out;
	zs->avail_out = PAGE_DEFLATE_MAX_BYTES;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	return PAGE_DEFLATE_MAX_BYTES - zs->avail_out;
}

static void zlib_release(struct page_deflate *pd)
{
	deflateEnd(&pd->zs);
}

/* ---- libdeflate ---- */

static bool ld_init(struct page_deflate *pd, struct error **errp)
{
	pd->ld = libdeflate_alloc_compressor(pd->level);
	if (!pd->ld) {
		error_setf(errp, "libdeflate_alloc_compressor(%d) failed",
			   pd->level);
		return false;
	}
	return true;
}

static size_t ld_compress(struct page_deflate *pd, const uint8_t *page,
			  uint8_t *out)
{
	/* Returns 0 when the result does not fit. */
	return libdeflate_zlib_compress(pd->ld, page, PAGE_DEFLATE_PAGE_BYTES,
					out, PAGE_DEFLATE_MAX_BYTES);
}

static void ld_release(struct page_deflate *pd)
{
	if (pd->ld)
		libdeflate_free_compressor(pd->ld);
}

/* ---- igzip ---- */

static bool isal_init(struct page_deflate *pd, struct error **errp)
{
	/* Sizes from igzip_lib.h; "small" is ample for one 4 KiB input. */
	static const uint32_t level_buf_bytes[ISAL_DEF_MAX_LEVEL + 1] = {
		0, ISAL_DEF_LVL1_SMALL, ISAL_DEF_LVL2_SMALL,
		ISAL_DEF_LVL3_SMALL,
	};
	pd->isal_level = pd->level > ISAL_DEF_MAX_LEVEL ? ISAL_DEF_MAX_LEVEL
							: pd->level;
	pd->isal_level_buf_bytes = level_buf_bytes[pd->isal_level];
	if (pd->isal_level_buf_bytes)
		pd->isal_level_buf = xmalloc(pd->isal_level_buf_bytes);
	return true;
}

static size_t isal_compress(struct page_deflate *pd, const uint8_t *page,
			    uint8_t *out)
{
	struct isal_zstream s;
	isal_deflate_stateless_init(&s);
	s.level = pd->isal_level;
	s.level_buf = pd->isal_level_buf;
	s.level_buf_size = pd->isal_level_buf_bytes;
	s.gzip_flag = IGZIP_ZLIB;
	s.flush = NO_FLUSH;
	s.end_of_stream = 1;
	s.next_in = (uint8_t *)page;
	s.avail_in = PAGE_DEFLATE_PAGE_BYTES;
	s.next_out = out;
	s.avail_out = PAGE_DEFLATE_MAX_BYTES;
	if (isal_deflate_stateless(&s) != COMP_OK)
		return 0;
	return s.total_out;
}

static void isal_release(struct page_deflate *pd)
{
	free(pd->isal_level_buf);
}

static const struct engine_ops engines[PAGE_DEFLATE__COUNT] = {
	[PAGE_DEFLATE_STORED] = { "stored", stored_init, stored_compress,
				  stored_release },
	[PAGE_DEFLATE_ZLIB] = { "zlib", zlib_init, zlib_compress,
				zlib_release },
	[PAGE_DEFLATE_LIBDEFLATE] = { "libdeflate", ld_init, ld_compress,
				      ld_release },
	[PAGE_DEFLATE_IGZIP] = { "igzip", isal_init, isal_compress,
				 isal_release },
};

/* The engine per level when nothing is forced; see the header. */
static const enum page_deflate_engine default_engine[PAGE_DEFLATE_MAX_LEVEL + 1] = {
	PAGE_DEFLATE_STORED,     PAGE_DEFLATE_IGZIP,
	PAGE_DEFLATE_LIBDEFLATE, PAGE_DEFLATE_LIBDEFLATE,
	PAGE_DEFLATE_LIBDEFLATE, PAGE_DEFLATE_LIBDEFLATE,
	PAGE_DEFLATE_LIBDEFLATE, PAGE_DEFLATE_LIBDEFLATE,
	PAGE_DEFLATE_LIBDEFLATE, PAGE_DEFLATE_LIBDEFLATE,
};

const char *page_deflate_engine_name(enum page_deflate_engine engine)
{
	assert(engine < PAGE_DEFLATE__COUNT);
	return engines[engine].name;
}

enum page_deflate_engine page_deflate_pick(int level)
{
	assert(level >= 0 && level <= PAGE_DEFLATE_MAX_LEVEL);
	return default_engine[level];
}

int page_deflate_engine_lookup(const char *name)
{
	for (int e = 0; e < PAGE_DEFLATE__COUNT; e++)
		if (!strcmp(name, engines[e].name))
			return e;
	return -1;
}

struct page_deflate *page_deflate_new(enum page_deflate_engine engine,
				      int level, struct error **errp)
{
	assert(engine < PAGE_DEFLATE__COUNT);
	if (level < 0 || level > PAGE_DEFLATE_MAX_LEVEL) {
		error_setf(errp, "compression level %d is not in 0..%d", level,
			   PAGE_DEFLATE_MAX_LEVEL);
		return NULL;
	}
	struct page_deflate *pd = xcalloc(1, sizeof(*pd));
	pd->engine = engine;
	pd->level = level;
	if (!engines[engine].init(pd, errp)) {
		free(pd);
		return NULL;
	}
	return pd;
}

void page_deflate_free(struct page_deflate *pd)
{
	if (!pd)
		return;
	engines[pd->engine].release(pd);
	free(pd);
}

enum page_deflate_engine page_deflate_engine(const struct page_deflate *pd)
{
	return pd->engine;
}

size_t page_deflate_compress(struct page_deflate *pd, const uint8_t *page,
			     uint8_t *out)
{
	size_t n = engines[pd->engine].compress(pd, page, out);
	if (n == 0 || n > PAGE_DEFLATE_MAX_BYTES)
		n = page_deflate_stored(page, out);
	return n;
}
