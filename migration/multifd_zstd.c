/*
 * multifd-compression zstd: one zstd stream per channel
 * (multifd-zstd-level), each packet's pages compressed with
 * ZSTD_e_continue and the last with ZSTD_e_flush, as QEMU 7.2's
 * multifd-zstd.c (which also compresses straight from guest RAM).
 * Unlike 7.2, the flush is looped until zstd says it is complete, so a
 * packet never ends with bytes held back in the encoder.
 */
#include "migration/multifd_codec.h"

#include <errno.h>
#include <string.h>
#include <zstd.h>

bool multifd_zstd_init(struct multifd_codec *c, int level, bool compress,
		       struct error **errp)
{
	size_t ret;
	if (compress) {
		ZSTD_CStream *cs = ZSTD_createCStream();
		ret = cs ? ZSTD_initCStream(cs, level) : 0;
		c->stream = cs;
	} else {
		ZSTD_DStream *ds = ZSTD_createDStream();
		ret = ds ? ZSTD_initDStream(ds) : 0;
		c->stream = ds;
	}
	if (!c->stream || ZSTD_isError(ret)) {
		error_setf_code(errp, ENOMEM, "multifd %u: %s init failed: %s",
				c->id, compress ? "zstd_cstream" : "zstd_dstream",
				c->stream ? ZSTD_getErrorName(ret) : "no memory");
		multifd_zstd_end(c, compress);
		return false;
	}
	return true;
}

void multifd_zstd_end(struct multifd_codec *c, bool compress)
{
	if (compress)
		ZSTD_freeCStream(c->stream);
	else
		ZSTD_freeDStream(c->stream);
	c->stream = NULL;
}

long multifd_zstd_compress(struct multifd_codec *c,
			   const uint8_t *const *pages, unsigned n,
			   uint8_t *out, struct error **errp)
{
	ZSTD_outBuffer ob = { out, MULTIFD_COMPRESSED_MAX, 0 };
	for (unsigned i = 0; i < n; i++) {
		bool last = i + 1 == n;
		/* Straight from guest RAM, without the codec's stable copy:
		 * with ZSTD_e_continue and ZSTD_e_flush (never ZSTD_e_end)
		 * zstd's buffered input mode copies every byte into its own
		 * window before it looks at it, so a page the guest writes
		 * meanwhile is read once, as a raw packet's is (and is dirty
		 * again).  One memcpy of each page less. */
		ZSTD_inBuffer ib = { pages[i], RAM_PAGE_SIZE, 0 };
		size_t ret;
		do {
			ret = ZSTD_compressStream2(c->stream, &ob, &ib,
						   last ? ZSTD_e_flush
							: ZSTD_e_continue);
			if (ZSTD_isError(ret)) {
				error_setf_code(errp, EIO,
						"multifd %u: compressStream error %s",
						c->id, ZSTD_getErrorName(ret));
				return -1;
			}
			if (ob.pos == ob.size) {
				error_setf_code(errp, EIO,
						"multifd %u: compressStream buffer too small",
						c->id);
				return -1;
			}
		} while (ib.pos < ib.size || (last && ret));
	}
	return (long)ob.pos;
}

bool multifd_zstd_decompress(struct multifd_codec *c, const uint8_t *in,
			     size_t len, uint8_t *const *pages, unsigned n,
			     struct error **errp)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	uint64_t got = 0;
	for (unsigned i = 0; i < n; i++) {
		ZSTD_outBuffer ob = { pages[i], RAM_PAGE_SIZE, 0 };
		while (ob.pos < ob.size) {
			size_t in_before = ib.pos, out_before = ob.pos;
			size_t ret = ZSTD_decompressStream(c->stream, &ob, &ib);
			if (ZSTD_isError(ret)) {
				error_setf_code(errp, EINVAL,
						"multifd %u: decompressStream returned %s",
						c->id, ZSTD_getErrorName(ret));
				return false;
			}
			if (ib.pos == in_before && ob.pos == out_before)
				break; /* the payload ended inside this page */
		}
		got += ob.pos;
		if (ob.pos < ob.size)
			break;
	}
	/* Whatever is left must decode to nothing (block ends, no data). */
	uint8_t extra;
	while (got == (uint64_t)n * RAM_PAGE_SIZE && ib.pos < ib.size) {
		ZSTD_outBuffer ob = { &extra, 1, 0 };
		size_t in_before = ib.pos;
		size_t ret = ZSTD_decompressStream(c->stream, &ob, &ib);
		if (ZSTD_isError(ret)) {
			error_setf_code(errp, EINVAL,
					"multifd %u: decompressStream returned %s",
					c->id, ZSTD_getErrorName(ret));
			return false;
		}
		got += ob.pos;
		if (ib.pos == in_before)
			break;
	}
	if (got != (uint64_t)n * RAM_PAGE_SIZE) {
		error_setf_code(errp, EINVAL,
				"multifd %u: packet size received %llu size expected %u",
				c->id, (unsigned long long)got, n * RAM_PAGE_SIZE);
		return false;
	}
	if (ib.pos < ib.size) {
		error_setf_code(errp, EINVAL,
				"multifd %u: %zu bytes of the packet left after its pages",
				c->id, ib.size - ib.pos);
		return false;
	}
	return true;
}
