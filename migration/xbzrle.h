/*
 * XBZRLE: the delta encoding of a 4 KiB page against an older copy of it,
 * exactly as QEMU 7.2 writes and reads it (shared/docs/qemu-7.2-stream.md
 * §9).  Codec only: it touches nothing but the caller's buffers and keeps
 * no state, so any thread may call it.
 *
 * Wire grammar of the encoded data (all lengths ULEB128 of 1 or 2 bytes):
 *   data   := pair*
 *   pair   := zrun_len nzrun_len byte{nzrun_len}
 * zrun_len counts bytes equal in old and new (skipped), nzrun_len the
 * differing bytes that follow literally.  Only the first zrun_len may be 0;
 * nzrun_len is never 0; unchanged bytes after the last data run are not
 * encoded.
 */
#ifndef QMIG_MIGRATION_XBZRLE_H
#define QMIG_MIGRATION_XBZRLE_H

#include <stddef.h>
#include <stdint.h>

#define XBZRLE_PAGE_SIZE 4096

/* Results of xbzrle_encode() besides a positive length. */
#define XBZRLE_NO_CHANGE 0   /* new equals old: nothing to send */
#define XBZRLE_OVERFLOW (-1) /* the delta would not fit in dst_cap bytes */

/*
 * Encodes new_page against old_page (both XBZRLE_PAGE_SIZE bytes) into dst
 * (dst_cap bytes, at most XBZRLE_PAGE_SIZE on the wire).  Returns the
 * encoded length (> 0), XBZRLE_NO_CHANGE or XBZRLE_OVERFLOW, with QEMU
 * 7.2's overflow rule (room for 2 more bytes is checked before every run
 * length), so that qmig overflows exactly where QEMU does.
 * Uses the fastest variant this CPU has (see xbzrle_encode_variant()).
 */
int xbzrle_encode(const uint8_t *old_page, const uint8_t *new_page,
		  uint8_t *dst, int dst_cap);

enum xbzrle_decode_result {
	XBZRLE_DECODE_OK = 0,
	XBZRLE_DECODE_BAD_ZRUN = -1,   /* zero run malformed or past the page */
	XBZRLE_DECODE_BAD_NZRUN = -2,  /* data run malformed or past either buffer */
	XBZRLE_DECODE_TRUNCATED = -3,  /* the data ends inside a length or run */
};

/*
 * Applies encoded data (src_len bytes) to page (XBZRLE_PAGE_SIZE bytes,
 * holding the old content).  Every length is checked against both buffers
 * before use; on error the page may be partly updated but nothing outside
 * it is ever written.
 */
enum xbzrle_decode_result xbzrle_decode(const uint8_t *src, int src_len,
					uint8_t *page);

/* The variants; QMIG_XBZRLE=c|sse2|avx2|avx512 forces one at start-up. */
enum xbzrle_variant {
	XBZRLE_VARIANT_C,
	XBZRLE_VARIANT_SSE2,
	XBZRLE_VARIANT_AVX2,
	XBZRLE_VARIANT_AVX512,
	XBZRLE_VARIANT__COUNT
};
const char *xbzrle_variant_name(enum xbzrle_variant v);
/* Whether this CPU (and this build) can run variant v. */
int xbzrle_variant_available(enum xbzrle_variant v);
/* The one xbzrle_encode() uses. */
enum xbzrle_variant xbzrle_encode_variant(void);
/* A specific variant, for tests and benchmarks (v must be available). */
int xbzrle_encode_with(enum xbzrle_variant v, const uint8_t *old_page,
		       const uint8_t *new_page, uint8_t *dst, int dst_cap);

#endif
