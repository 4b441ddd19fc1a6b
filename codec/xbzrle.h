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
#ifndef QMIG_CODEC_XBZRLE_H
#define QMIG_CODEC_XBZRLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/page.h"

#define XBZRLE_PAGE_SIZE CODEC_PAGE_SIZE

/* Results of xbzrle_encode() besides a positive length. */
#define XBZRLE_NO_CHANGE 0   /* new equals old: nothing to send */
#define XBZRLE_OVERFLOW (-1) /* the delta would not fit in dst_cap bytes */

/*
 * Encodes new_page against old_page (both XBZRLE_PAGE_SIZE bytes, 8-byte
 * aligned: a misaligned pointer is a programmer error and asserts, as in
 * QEMU) into dst, which has dst_cap >= 0 bytes.  Returns the encoded length
 * (> 0), XBZRLE_NO_CHANGE or XBZRLE_OVERFLOW.
 *
 * The limit is min(dst_cap, XBZRLE_PAGE_SIZE): the destination rejects
 * longer data, so a larger dst_cap changes nothing.  The overflow rule is
 * QEMU 7.2's, so that qmig overflows exactly where QEMU does: before every
 * run length 2 bytes must still fit under the limit, and the bytes of a data
 * run must fit.  Consequences callers see:
 *   - an encoding that would end at limit - 1 or limit bytes and is followed
 *     only by unchanged bytes still overflows (the check before the next zero
 *     run comes first);
 *   - with a limit below 2 even an unchanged page overflows.
 * Any byte of dst[0, limit) may be written, also past the returned length
 * and on overflow; nothing outside it.  Output is the canonical encoding
 * (maximal alternating runs), byte-identical whatever the variant.
 * Uses the fastest variant this CPU has (see xbzrle_encode_variant()).
 */
int xbzrle_encode(const uint8_t *old_page, const uint8_t *new_page,
		  uint8_t *dst, int dst_cap);

enum xbzrle_decode_result {
	XBZRLE_DECODE_OK = 0,
	/* zero run: 3-byte ULEB128, 0 after the first pair, or past the page */
	XBZRLE_DECODE_BAD_ZRUN = -1,
	/* data run: 3-byte ULEB128, 0, or past the page */
	XBZRLE_DECODE_BAD_NZRUN = -2,
	/*
	 * fewer than 2 bytes left where a run length starts (so also a final
	 * zero run without a data run), or a data run's bytes go past src_len
	 */
	XBZRLE_DECODE_TRUNCATED = -3,
};

/*
 * Applies encoded data (src_len >= 0 bytes; 0 is a valid empty delta) to
 * page (XBZRLE_PAGE_SIZE bytes, holding the old content).  Accepts exactly
 * what QEMU 7.2's decoder accepts.  Every length is checked against both
 * buffers before use; on error the page may be partly updated but nothing
 * outside it is ever written and nothing outside src is read.  The caller
 * enforces the record limit (src_len <= XBZRLE_PAGE_SIZE, "len overflow");
 * the decoder itself is safe with any src_len.  No alignment needed.
 */
enum xbzrle_decode_result xbzrle_decode(const uint8_t *src, int src_len,
					uint8_t *page);

/* A short English name of r, e.g. "bad data run", for messages and tests. */
const char *xbzrle_decode_result_name(enum xbzrle_decode_result r);

/*
 * The encoder variants.  All give identical output; they differ in speed.
 * The fastest one this CPU runs is chosen on the first xbzrle_encode(),
 * unless xbzrle_force_variant() chose before (qmig does for its test-only
 * environment setting QMIG_XBZRLE; xbzrle_encode_variant() tells which).
 */
enum xbzrle_variant {
	XBZRLE_VARIANT_C,      /* portable: 8 bytes at a time */
	XBZRLE_VARIANT_SSE2,   /* x86-64 baseline */
	XBZRLE_VARIANT_AVX2,
	XBZRLE_VARIANT_AVX512, /* needs AVX-512F and AVX-512BW */
	XBZRLE_VARIANT__COUNT
};
/* "c", "sse2", "avx2", "avx512"; "?" for anything else. */
const char *xbzrle_variant_name(enum xbzrle_variant v);
/* Whether this CPU (and this build) can run variant v (1) or not (0). */
int xbzrle_variant_available(enum xbzrle_variant v);
/* The one xbzrle_encode() uses (chosen on first use unless forced). */
enum xbzrle_variant xbzrle_encode_variant(void);
/* The variant named name ("c", "sse2", "avx2", "avx512"), or -1. */
int xbzrle_variant_lookup(const char *name);
/*
 * Makes xbzrle_encode() use v from now on, for tests and benchmarks; false,
 * changing nothing, when this CPU cannot run v.  The output is the same
 * whatever the variant, so this never changes the wire.  Callable from any
 * thread at any time; an encode already running finishes with the variant
 * it had.
 */
bool xbzrle_force_variant(enum xbzrle_variant v);
/*
 * A specific variant, for tests and benchmarks; v must be available
 * (asserted).  Same contract as xbzrle_encode().
 */
int xbzrle_encode_with(enum xbzrle_variant v, const uint8_t *old_page,
		       const uint8_t *new_page, uint8_t *dst, int dst_cap);

#endif
