/*
 * Failure injection for the unit-test binaries the Makefile links with
 * `-Wl,--wrap=SYMBOL` for each function below (INJECT_SYMS, INJECT_TESTS):
 * every call that qmig's objects and the test make to one of them arrives
 * here first and fails when a rule says so, else goes to the real one.
 * The libraries' own internal calls (zlib's allocations, libc's) are not
 * seen.  No product code knows about this.
 *
 * How each fails, as the real function does when out of memory:
 *   malloc, calloc              NULL, errno ENOMEM
 *   mmap                        MAP_FAILED, errno ENOMEM
 *   deflateInit_, inflateInit_  Z_MEM_ERROR, strm->msg "insufficient memory"
 *   deflate, inflate            Z_MEM_ERROR
 *   libdeflate_alloc_*          NULL
 *   libdeflate_zlib_decompress_ex  LIBDEFLATE_BAD_DATA (the caller then
 *                               asks zlib, so inflate's rule applies)
 *
 * A rule for fn: among the calls asking for at least min_bytes (0: every
 * call; the size is malloc's, calloc's nmemb * size, mmap's length), let
 * the first `skip` through and fail the next `count` (0: all that come).
 * Rules and counters are atomics: threads that the code under test starts
 * see them.
 */
#ifndef QMIG_TESTS_UNIT_LIB_INJECT_H
#define QMIG_TESTS_UNIT_LIB_INJECT_H

#include <stddef.h>

enum inject_fn {
	INJECT_MALLOC,
	INJECT_CALLOC,
	INJECT_MMAP,
	INJECT_DEFLATE_INIT,
	INJECT_DEFLATE,
	INJECT_INFLATE_INIT,
	INJECT_INFLATE,
	INJECT_LD_ALLOC_COMPRESSOR,
	INJECT_LD_ALLOC_DECOMPRESSOR,
	INJECT_LD_ZLIB_DECOMPRESS,
	INJECT__COUNT
};

/* Replaces fn's rule and zeroes its counters. */
void inject_fail(enum inject_fn fn, size_t min_bytes, unsigned skip,
		 unsigned count);
/* Every rule off, every counter zero. */
void inject_clear(void);
/* Calls of fn failed since its rule was set. */
unsigned inject_failures(enum inject_fn fn);

#endif
