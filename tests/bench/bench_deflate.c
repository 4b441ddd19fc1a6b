/*
 * bench_deflate: page compression engines on real guest memory.
 *
 *   build/tests/bench/bench_deflate [IMAGE]
 *
 * IMAGE is a raw RAM image (argv[1], else $QMIG_GUEST_IMAGE, else
 * REPO/build/guest-idle-1g.img, decompressed once from
 * REPO/../shared/data/guest-idle-1g.img.zst; REPO is the current directory
 * or the one this program was built in).  The
 * non-zero pages (up to $QMIG_BENCH_PAGES, default 65536, spread over the
 * image) are compressed, in one run, by every engine:
 *   - single call: page_deflate_compress() in a loop on this thread;
 *   - through compress_pool with 1 and 2 workers (submit + take, as the
 *     RAM save loop does), with the efficiency per thread
 *     = pages/s(2 threads) / (2 x pages/s(1 thread));
 * then every engine's output is inflated by zlib and compared with the page
 * (exit 1 on a mismatch), and the bytes are compared with zlib level 1
 * (exit 1 when the level-1 default engine is more than 5% larger).
 * A smaller table gives single-call numbers at levels 0, 6, 9 on a quarter
 * of the sample, and the destination pool's inflate rate.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>

#include "codec/compress_pool.h"
#include "codec/decompress_pool.h"
#include "codec/page_deflate.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define PAGE 4096
#define DEFAULT_SAMPLE_PAGES 65536
#define DEFAULT_IMAGE "build/guest-idle-1g.img"
#define IMAGE_ZST "guest-idle-1g.img.zst"

extern char **environ;

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* zstd -d -q -o out in: no shell, so paths need no quoting. */
static bool unzstd(const char *in, const char *out)
{
	char *argv[] = { "zstd", "-d", "-q", "-o", (char *)out, (char *)in,
			 NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, "zstd", NULL, NULL, argv, environ);
	if (rc) {
		fprintf(stderr, "bench_deflate: cannot run zstd: %s\n",
			strerror(rc));
		return false;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "bench_deflate: zstd -d '%s' failed\n", in);
		unlink(out);
		return false;
	}
	return true;
}

/*
 * The repository: the current directory when it has ../shared/data (make
 * bench), else four levels above this program
 * (REPO/build/tests/bench/bench_deflate).
 */
static char *find_repo(void)
{
	if (file_exists("../shared/data/" IMAGE_ZST))
		return xstrdup(".");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	for (int up = 0; up < 4; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			return NULL;
		*slash = 0;
	}
	return xstrdup(exe);
}

/*
 * The image to read: argv, environment, or REPO/build/guest-idle-1g.img,
 * decompressed from REPO/../shared/data on first use.
 */
static char *find_image(int argc, char **argv)
{
	if (argc > 1)
		return xstrdup(argv[1]);
	const char *env = getenv("QMIG_GUEST_IMAGE");
	if (env && *env)
		return xstrdup(env);
	char *repo = find_repo();
	if (!repo)
		return NULL;
	char *image = xasprintf("%s/" DEFAULT_IMAGE, repo);
	char *zst = xasprintf("%s/../shared/data/" IMAGE_ZST, repo);
	char *dir = xasprintf("%s/build", repo);
	free(repo);
	if (!file_exists(image)) {
		if (!file_exists(zst)) {
			free(image);
			image = NULL;
		} else {
			mkdir(dir, 0777);
			fprintf(stderr, "bench_deflate: decompressing %s into %s\n",
				zst, image);
			if (!unzstd(zst, image)) {
				free(image);
				image = NULL;
			}
		}
	}
	free(dir);
	free(zst);
	return image;
}

/* Non-zero pages spread over the image, at most max of them. */
static uint8_t *load_pages(const char *path, size_t max, size_t *npages,
			   size_t *image_pages)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bench_deflate: cannot open '%s': %s\n", path,
			strerror(errno));
		return NULL;
	}
	/* First count the non-zero pages, then keep every k-th of them. */
	uint8_t buf[PAGE];
	size_t nonzero = 0, total = 0;
	while (fread(buf, 1, PAGE, f) == PAGE) {
		total++;
		nonzero += !(buf[0] == 0 && !memcmp(buf, buf + 1, PAGE - 1));
	}
	size_t step = nonzero > max ? (nonzero + max - 1) / max : 1;
	uint8_t *pages = xmalloc((nonzero / step + 1) * PAGE);
	size_t k = 0, n = 0;
	rewind(f);
	while (fread(buf, 1, PAGE, f) == PAGE) {
		if (buf[0] == 0 && !memcmp(buf, buf + 1, PAGE - 1))
			continue;
		if (k++ % step == 0)
			memcpy(pages + PAGE * n++, buf, PAGE);
	}
	fclose(f);
	*npages = n;
	*image_pages = total;
	return pages;
}

struct run {
	double pages_per_s;
	uint64_t bytes; /* payload bytes (without record headers) */
};

/* Single call on this thread; keeps the outputs for the check when out. */
static struct run run_single(enum page_deflate_engine e, int level,
			     const uint8_t *pages, size_t n, uint8_t *out,
			     uint16_t *out_len)
{
	struct run r = { 0, 0 };
	struct page_deflate *pd = page_deflate_new(e, level, NULL);
	if (!pd)
		return r;
	uint8_t tmp[PAGE_DEFLATE_MAX_BYTES];
	int64_t t0 = clock_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint8_t *dst = out ? out + i * PAGE_DEFLATE_MAX_BYTES : tmp;
		size_t len = page_deflate_compress(pd, pages + i * PAGE, dst);
		if (out_len)
			out_len[i] = (uint16_t)len;
		r.bytes += len;
	}
	int64_t t1 = clock_now_ns();
	page_deflate_free(pd);
	r.pages_per_s = n / ((t1 - t0) / 1e9);
	return r;
}

/* Takes the finished payloads (drain: all), adding their bytes. */
static void take_counting(struct compress_pool *pool, bool drain,
			  uint64_t *bytes)
{
	struct compress_payload p;
	while (compress_pool_take(pool, drain, &p))
		*bytes += p.len;
}

static struct run run_pool(enum page_deflate_engine e, int level,
			   unsigned threads, const uint8_t *pages, size_t n)
{
	struct run r = { 0, 0 };
	struct compress_pool *pool = compress_pool_new_engine(
		threads, level, e, NULL);
	if (!pool)
		return r;
	int64_t t0 = clock_now_ns();
	for (size_t i = 0; i < n; i++) {
		/* Full: the oldest batch's payloads free its buffers. */
		while (!compress_pool_submit(pool, i * PAGE, pages + i * PAGE)) {
			struct compress_payload p;
			if (compress_pool_take(pool, true, &p))
				r.bytes += p.len;
		}
		take_counting(pool, false, &r.bytes);
	}
	take_counting(pool, true, &r.bytes);
	int64_t t1 = clock_now_ns();
	compress_pool_free(pool);
	r.pages_per_s = n / ((t1 - t0) / 1e9);
	return r;
}

/*
 * The machine's ceiling: 2 plain threads, each compressing half the pages
 * with its own compressor, no pool.  The pool's efficiency is judged
 * against this one's.
 */
struct raw_arg {
	enum page_deflate_engine e;
	const uint8_t *pages;
	size_t n;
};

static void *raw_main(void *p)
{
	struct raw_arg *a = p;
	run_single(a->e, 1, a->pages, a->n, NULL, NULL);
	return NULL;
}

static double run_raw_2threads(enum page_deflate_engine e,
			       const uint8_t *pages, size_t n)
{
	struct raw_arg args[2] = { { e, pages, n / 2 },
				   { e, pages + (n / 2) * PAGE, n - n / 2 } };
	pthread_t tid[2];
	int64_t t0 = clock_now_ns();
	for (int i = 0; i < 2; i++)
		pthread_create(&tid[i], NULL, raw_main, &args[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	return n / ((clock_now_ns() - t0) / 1e9);
}

/* zlib inflates every output back to its page (QEMU's destination). */
static bool zlib_reads_all(const uint8_t *pages, size_t n, const uint8_t *out,
			   const uint16_t *out_len)
{
	uint8_t back[PAGE];
	for (size_t i = 0; i < n; i++) {
		uLongf blen = PAGE;
		if (uncompress(back, &blen, out + i * PAGE_DEFLATE_MAX_BYTES,
			       out_len[i]) != Z_OK ||
		    blen != PAGE || memcmp(back, pages + i * PAGE, PAGE))
			return false;
	}
	return true;
}

/* The destination pool inflating zlib level-1 output into scratch RAM. */
static double run_decompress(unsigned threads, const uint8_t *out,
			     const uint16_t *out_len, size_t n)
{
	/* 4096 pages of RAM, reused round robin: the cache stays honest. */
	enum { RAM_PAGES = 4096 };
	uint8_t *ram = xcalloc(RAM_PAGES, PAGE);
	struct decompress_pool *pool =
		decompress_pool_new(threads, ram, (uint64_t)RAM_PAGES * PAGE,
				    NULL);
	int64_t t0 = clock_now_ns();
	for (size_t i = 0; i < n; i++)
		decompress_pool_submit(pool, (i % RAM_PAGES) * PAGE,
				       out + i * PAGE_DEFLATE_MAX_BYTES,
				       out_len[i], NULL);
	bool ok = decompress_pool_flush(pool, NULL);
	int64_t t1 = clock_now_ns();
	decompress_pool_free(pool);
	free(ram);
	return ok ? n / ((t1 - t0) / 1e9) : 0;
}

/*
 * Single-call inflate rates: zlib (what the pool uses, QEMU's exact
 * acceptance) and libdeflate (for comparison only).
 */
static void run_inflate_single(const uint8_t *out, const uint16_t *out_len,
			       size_t n, double *zlib_rate, double *ld_rate)
{
	uint8_t page[PAGE];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	inflateInit(&zs);
	int64_t t0 = clock_now_ns();
	for (size_t i = 0; i < n; i++) {
		inflateReset(&zs);
		zs.next_in = (Bytef *)out + i * PAGE_DEFLATE_MAX_BYTES;
		zs.avail_in = out_len[i];
		zs.next_out = page;
		zs.avail_out = PAGE;
		inflate(&zs, Z_NO_FLUSH);
	}
	int64_t t1 = clock_now_ns();
	inflateEnd(&zs);
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	for (size_t i = 0; i < n; i++) {
		size_t got;
		libdeflate_zlib_decompress(d, out + i * PAGE_DEFLATE_MAX_BYTES,
					   out_len[i], page, PAGE, &got);
	}
	int64_t t2 = clock_now_ns();
	libdeflate_free_decompressor(d);
	*zlib_rate = n / ((t1 - t0) / 1e9);
	*ld_rate = n / ((t2 - t1) / 1e9);
}

int main(int argc, char **argv)
{
	char *path = find_image(argc, argv);
	if (!path) {
		fprintf(stderr, "bench_deflate: no guest image: give a path, "
				"set QMIG_GUEST_IMAGE, or put " IMAGE_ZST
				" in ../shared/data\n");
		return 2;
	}
	size_t max = DEFAULT_SAMPLE_PAGES;
	const char *env = getenv("QMIG_BENCH_PAGES");
	if (env && strtoul(env, NULL, 10) > 0)
		max = strtoul(env, NULL, 10);
	size_t n, image_pages;
	uint8_t *pages = load_pages(path, max, &n, &image_pages);
	if (!pages)
		return 2;
	printf("image %s: %zu pages, %zu non-zero pages sampled; %ld CPUs "
	       "online\n", path, image_pages, n,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("level 1 (QEMU's default), pages/s; bytes = payload bytes; "
	       "eff = 2T / (2 x 1T); raw 2T = 2 threads without the pool\n");
	printf("%-11s %10s %10s %10s %5s %10s %5s %12s %8s %s\n", "engine",
	       "single", "pool 1T", "pool 2T", "eff", "raw 2T", "eff", "bytes",
	       "vs zlib", "zlib reads");

	uint8_t *out = xmalloc(n * PAGE_DEFLATE_MAX_BYTES);
	uint16_t *out_len = xmalloc(n * sizeof(*out_len));
	uint8_t *zlib_out = xmalloc(n * PAGE_DEFLATE_MAX_BYTES);
	uint16_t *zlib_len = xmalloc(n * sizeof(*zlib_len));
	/* Fault the output in now, or the first engine pays for it. */
	memset(out, 0, n * PAGE_DEFLATE_MAX_BYTES);
	memset(zlib_out, 0, n * PAGE_DEFLATE_MAX_BYTES);
	int status = 0;
	uint64_t zlib_bytes = 0;
	static const enum page_deflate_engine engines[] = {
		PAGE_DEFLATE_ZLIB, PAGE_DEFLATE_LIBDEFLATE, PAGE_DEFLATE_IGZIP
	};
	for (unsigned k = 0; k < 3; k++) {
		enum page_deflate_engine e = engines[k];
		bool is_zlib = e == PAGE_DEFLATE_ZLIB;
		struct run s = run_single(e, 1, pages, n,
					  is_zlib ? zlib_out : out,
					  is_zlib ? zlib_len : out_len);
		bool reads = zlib_reads_all(pages, n, is_zlib ? zlib_out : out,
					    is_zlib ? zlib_len : out_len);
		struct run p1 = run_pool(e, 1, 1, pages, n);
		struct run p2 = run_pool(e, 1, 2, pages, n);
		double raw2 = run_raw_2threads(e, pages, n);
		if (is_zlib)
			zlib_bytes = s.bytes;
		double vs = (double)s.bytes / zlib_bytes;
		printf("%-11s %10.0f %10.0f %10.0f %5.2f %10.0f %5.2f %12llu "
		       "%7.3fx %s\n",
		       page_deflate_engine_name(e), s.pages_per_s,
		       p1.pages_per_s, p2.pages_per_s,
		       p2.pages_per_s / (2 * p1.pages_per_s), raw2,
		       raw2 / (2 * s.pages_per_s), (unsigned long long)s.bytes,
		       vs, reads ? "yes" : "NO");
		if (!reads || p1.bytes != s.bytes || p2.bytes != s.bytes)
			status = 1;
		if (e == page_deflate_pick(1) && vs > 1.05) {
			printf("  %s is more than 5%% larger than zlib level 1\n",
			       page_deflate_engine_name(e));
			status = 1;
		}
	}
	printf("default engine at level 1: %s\n",
	       page_deflate_engine_name(page_deflate_pick(1)));

	size_t nq = n / 4;
	printf("\nsingle call, %zu pages (every 4th), pages/s and bytes\n", nq);
	printf("%-6s", "level");
	for (int e = 0; e < PAGE_DEFLATE__COUNT; e++)
		printf(" %23s", page_deflate_engine_name(e));
	printf("\n");
	uint8_t *quarter = xmalloc(nq * PAGE);
	for (size_t i = 0; i < nq; i++)
		memcpy(quarter + i * PAGE, pages + 4 * i * PAGE, PAGE);
	static const int levels[] = { 0, 6, 9 };
	for (unsigned l = 0; l < 3; l++) {
		printf("%-6d", levels[l]);
		for (int e = 0; e < PAGE_DEFLATE__COUNT; e++) {
			struct run r = run_single(e, levels[l], quarter, nq,
						  out, out_len);
			if (r.pages_per_s == 0) {
				printf(" %23s", "-");
				continue;
			}
			bool reads = zlib_reads_all(quarter, nq, out, out_len);
			printf(" %9.0f %11llu%s", r.pages_per_s,
			       (unsigned long long)r.bytes, reads ? "  " : " !");
			if (!reads)
				status = 1;
		}
		printf("\n");
	}

	double zr, lr;
	run_inflate_single(zlib_out, zlib_len, n, &zr, &lr);
	printf("\ninflate of the level-1 zlib output, single call: zlib %.0f "
	       "pages/s, libdeflate %.0f pages/s\n", zr, lr);
	printf("destination pool, zlib inflate of the level-1 zlib output\n");
	double d1 = run_decompress(1, zlib_out, zlib_len, n);
	double d2 = run_decompress(2, zlib_out, zlib_len, n);
	printf("1 thread %.0f pages/s, 2 threads %.0f pages/s, eff %.2f\n", d1,
	       d2, d2 / (2 * d1));
	if (d1 == 0 || d2 == 0)
		status = 1;

	free(quarter);
	free(zlib_len);
	free(zlib_out);
	free(out_len);
	free(out);
	free(pages);
	free(path);
	return status;
}
