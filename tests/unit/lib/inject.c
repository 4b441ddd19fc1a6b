#include "tests/unit/lib/inject.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include <libdeflate.h>
#include <zlib.h>

struct rule {
	atomic_bool on;
	atomic_size_t min_bytes;
	atomic_uint skip, count;
	atomic_uint seen;   /* matching calls since the rule was set */
	atomic_uint failed;
};

static struct rule rules[INJECT__COUNT];

void inject_fail(enum inject_fn fn, size_t min_bytes, unsigned skip,
		 unsigned count)
{
	struct rule *r = &rules[fn];
	atomic_store(&r->on, false);
	atomic_store(&r->min_bytes, min_bytes);
	atomic_store(&r->skip, skip);
	atomic_store(&r->count, count);
	atomic_store(&r->seen, 0);
	atomic_store(&r->failed, 0);
	atomic_store(&r->on, true);
}

void inject_clear(void)
{
	for (int i = 0; i < INJECT__COUNT; i++) {
		atomic_store(&rules[i].on, false);
		atomic_store(&rules[i].seen, 0);
		atomic_store(&rules[i].failed, 0);
	}
}

unsigned inject_failures(enum inject_fn fn)
{
	return atomic_load(&rules[fn].failed);
}

static bool should_fail(enum inject_fn fn, size_t bytes)
{
	struct rule *r = &rules[fn];
	if (!atomic_load(&r->on) || bytes < atomic_load(&r->min_bytes))
		return false;
	unsigned n = atomic_fetch_add(&r->seen, 1);
	unsigned skip = atomic_load(&r->skip);
	unsigned count = atomic_load(&r->count);
	if (n < skip || (count && n - skip >= count))
		return false;
	atomic_fetch_add(&r->failed, 1);
	return true;
}

/* The real functions (ld --wrap) and their wrappers. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
int __real_deflateInit_(z_streamp strm, int level, const char *version,
			int stream_size);
int __real_deflate(z_streamp strm, int flush);
int __real_inflateInit_(z_streamp strm, const char *version,
			int stream_size);
int __real_inflate(z_streamp strm, int flush);
struct libdeflate_compressor *__real_libdeflate_alloc_compressor(int level);
struct libdeflate_decompressor *__real_libdeflate_alloc_decompressor(void);
enum libdeflate_result __real_libdeflate_zlib_decompress_ex(
	struct libdeflate_decompressor *d, const void *in, size_t in_nbytes,
	void *out, size_t out_nbytes_avail, size_t *actual_in_nbytes_ret,
	size_t *actual_out_nbytes_ret);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
int __wrap_deflateInit_(z_streamp strm, int level, const char *version,
			int stream_size);
int __wrap_deflate(z_streamp strm, int flush);
int __wrap_inflateInit_(z_streamp strm, const char *version,
			int stream_size);
int __wrap_inflate(z_streamp strm, int flush);
struct libdeflate_compressor *__wrap_libdeflate_alloc_compressor(int level);
struct libdeflate_decompressor *__wrap_libdeflate_alloc_decompressor(void);
enum libdeflate_result __wrap_libdeflate_zlib_decompress_ex(
	struct libdeflate_decompressor *d, const void *in, size_t in_nbytes,
	void *out, size_t out_nbytes_avail, size_t *actual_in_nbytes_ret,
	size_t *actual_out_nbytes_ret);

void *__wrap_malloc(size_t size)
{
	if (should_fail(INJECT_MALLOC, size)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(size);
}

void *__wrap_calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(nmemb, size, &bytes))
		bytes = SIZE_MAX;
	if (should_fail(INJECT_CALLOC, bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(nmemb, size);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	if (should_fail(INJECT_MMAP, len)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_deflateInit_(z_streamp strm, int level, const char *version,
			int stream_size)
{
	if (should_fail(INJECT_DEFLATE_INIT, 0)) {
		strm->msg = (char *)"insufficient memory";
		return Z_MEM_ERROR;
	}
	return __real_deflateInit_(strm, level, version, stream_size);
}

int __wrap_deflate(z_streamp strm, int flush)
{
	if (should_fail(INJECT_DEFLATE, 0))
		return Z_MEM_ERROR;
	return __real_deflate(strm, flush);
}

int __wrap_inflateInit_(z_streamp strm, const char *version,
			int stream_size)
{
	if (should_fail(INJECT_INFLATE_INIT, 0)) {
		strm->msg = (char *)"insufficient memory";
		return Z_MEM_ERROR;
	}
	return __real_inflateInit_(strm, version, stream_size);
}

int __wrap_inflate(z_streamp strm, int flush)
{
	/* inflate allocates its window on first use: Z_MEM_ERROR is what
	 * a real shortage returns. */
	if (should_fail(INJECT_INFLATE, 0))
		return Z_MEM_ERROR;
	return __real_inflate(strm, flush);
}

struct libdeflate_compressor *__wrap_libdeflate_alloc_compressor(int level)
{
	if (should_fail(INJECT_LD_ALLOC_COMPRESSOR, 0))
		return NULL;
	return __real_libdeflate_alloc_compressor(level);
}

struct libdeflate_decompressor *__wrap_libdeflate_alloc_decompressor(void)
{
	if (should_fail(INJECT_LD_ALLOC_DECOMPRESSOR, 0))
		return NULL;
	return __real_libdeflate_alloc_decompressor();
}

enum libdeflate_result __wrap_libdeflate_zlib_decompress_ex(
	struct libdeflate_decompressor *d, const void *in, size_t in_nbytes,
	void *out, size_t out_nbytes_avail, size_t *actual_in_nbytes_ret,
	size_t *actual_out_nbytes_ret)
{
	if (should_fail(INJECT_LD_ZLIB_DECOMPRESS, 0))
		return LIBDEFLATE_BAD_DATA;
	return __real_libdeflate_zlib_decompress_ex(d, in, in_nbytes, out,
						    out_nbytes_avail,
						    actual_in_nbytes_ret,
						    actual_out_nbytes_ret);
}
