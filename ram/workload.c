#include "ram/workload.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/size_parse.h"
#include "util/thread.h"
#include "util/xalloc.h"

/* xorshift64*: fast, good enough to make pages look unlike each other. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static bool parse_size_option(const char *key, const char *value,
			      uint64_t *out, struct error **errp)
{
	if (size_parse_bytes(value, NULL, out) < 0) {
		error_setf(errp, "workload: invalid %s '%s'", key, value);
		return false;
	}
	return true;
}

bool workload_spec_parse(const char *text, struct workload_spec *spec,
			 struct error **errp)
{
	memset(spec, 0, sizeof(*spec));
	spec->rate_bytes = WORKLOAD_RANDOM_DEFAULT_RATE;
	spec->area_bytes = WORKLOAD_RANDOM_DEFAULT_AREA;
	spec->seed = 0x9e3779b97f4a7c15ULL;

	char *copy = xstrdup(text);
	char *save = NULL;
	bool ok = true;
	bool first = true;
	for (char *tok = strtok_r(copy, ",", &save); tok && ok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(tok, '=');
		if (first && !eq) {
			if (!strcmp(tok, "idle")) {
				spec->kind = WORKLOAD_IDLE;
			} else if (!strcmp(tok, "seed")) {
				spec->kind = WORKLOAD_SEED;
				spec->area_bytes = WORKLOAD_SEED_AREA_BYTES;
			} else if (!strcmp(tok, "random")) {
				spec->kind = WORKLOAD_RANDOM;
			} else {
				error_setf(errp,
					   "workload: unknown kind '%s' (idle, image=FILE, seed, random)",
					   tok);
				ok = false;
			}
			continue;
		}
		if (!eq) {
			error_setf(errp, "workload: expected KEY=VALUE, got '%s'",
				   tok);
			ok = false;
			break;
		}
		*eq = '\0';
		const char *value = eq + 1;
		if (!strcmp(tok, "image")) {
			spec->kind = WORKLOAD_IMAGE;
			free(spec->image_path);
			spec->image_path = xstrdup(value);
		} else if (!strcmp(tok, "rate") &&
			   spec->kind == WORKLOAD_RANDOM) {
			ok = parse_size_option("rate", value, &spec->rate_bytes,
					       errp);
		} else if (!strcmp(tok, "area") &&
			   spec->kind != WORKLOAD_IMAGE) {
			ok = parse_size_option("area", value, &spec->area_bytes,
					       errp);
		} else if (!strcmp(tok, "seed")) {
			char *end;
			errno = 0;
			spec->seed = strtoull(value, &end, 0);
			if (errno || *end || !*value) {
				error_setf(errp, "workload: invalid seed '%s'",
					   value);
				ok = false;
			}
		} else {
			error_setf(errp, "workload: unknown option '%s'", tok);
			ok = false;
		}
	}
	free(copy);
	if (ok && spec->kind == WORKLOAD_IMAGE && !spec->image_path) {
		error_setf(errp, "workload: image needs a FILE");
		ok = false;
	}
	if (ok && (spec->kind == WORKLOAD_RANDOM || spec->kind == WORKLOAD_SEED) &&
	    !spec->area_bytes) {
		error_setf(errp, "workload: area must not be 0");
		ok = false;
	}
	if (!ok)
		workload_spec_release(spec);
	return ok;
}

void workload_spec_release(struct workload_spec *spec)
{
	free(spec->image_path);
	spec->image_path = NULL;
}

/*
 * Realistic content: most pages of an idle guest are zero; the rest are a
 * mix of text (compressible), structured data (partly zero) and random
 * bytes (incompressible).  Deterministic for a given seed.
 */
static void fill_idle_page(uint8_t *page, uint64_t *rng)
{
	static const char *const words[] = {
		"kernel", "migration", "page", "the", "of", "memory", "qemu",
		"dirty", "bitmap", "socket", "thread", "and", "a", "to", "in",
		"/usr/lib/", "error", "device", "0x", "init", "systemd", "ram",
	};
	uint64_t kind = rng_next(rng) % 100;
	if (kind < 70)
		return; /* zero page */
	if (kind < 85) {
		size_t pos = 0;
		while (pos < GUEST_PAGE_SIZE) {
			const char *w = words[rng_next(rng) %
					      (sizeof(words) / sizeof(*words))];
			for (; *w && pos < GUEST_PAGE_SIZE; w++)
				page[pos++] = (uint8_t)*w;
			if (pos < GUEST_PAGE_SIZE)
				page[pos++] = rng_next(rng) % 8 ? ' ' : '\n';
		}
	} else if (kind < 95) {
		/* Structs: small integers and pointers among zeros. */
		for (size_t pos = 0; pos < GUEST_PAGE_SIZE; pos += 8) {
			uint64_t r = rng_next(rng);
			uint64_t v = (r & 3) == 0 ? 0xffff888000000000ULL | (r >> 20 & 0xfffffff8)
				   : (r & 3) == 1 ? r >> 56
				   : 0;
			memcpy(page + pos, &v, sizeof(v));
		}
	} else {
		for (size_t pos = 0; pos < GUEST_PAGE_SIZE; pos += 8) {
			uint64_t v = rng_next(rng);
			memcpy(page + pos, &v, sizeof(v));
		}
	}
}

/* A file that cannot be mapped (a pipe): read into RAM. */
static int read_image(struct guest_ram *ram, int fd, const char *path,
		      struct error **errp)
{
	uint64_t done = 0;
	while (done < ram->size_bytes) {
		ssize_t n = read(fd, ram->host + done,
				 ram->size_bytes - done > (1u << 30)
					 ? (1u << 30)
					 : ram->size_bytes - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_setf(errp, "workload: cannot read image '%s': %s",
				   path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break; /* a smaller image leaves the rest zero */
		done += (uint64_t)n;
	}
	return 0;
}

/*
 * The image is mapped private over the start of guest RAM, as QEMU's
 * memory-backend-file,share=off maps it: pages are read from the page
 * cache and copied only when written.  Read into anonymous memory, the
 * 1 GiB idle-guest image allocated all 1 GiB, and on this VM (whose
 * balloon gives free memory back to the host) took the warm memory a
 * destination started next to it would otherwise get (issue 15).
 */
static int load_image(struct guest_ram *ram, const char *path,
		      struct error **errp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_setf(errp, "workload: cannot open image '%s': %s", path,
			   strerror(errno));
		return -1;
	}
	struct stat st;
	uint64_t len = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		len = (uint64_t)st.st_size < ram->size_bytes
			      ? (uint64_t)st.st_size
			      : ram->size_bytes;
	/* Whole pages: the end of the last one reads as zero, as RAM. */
	len = (len + GUEST_PAGE_SIZE - 1) & ~(uint64_t)(GUEST_PAGE_SIZE - 1);
	int ret = 0;
	if (!len || mmap(ram->host, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
		ret = read_image(ram, fd, path, errp);
	close(fd);
	return ret;
}

/*
 * The dirtying workloads' stores into guest RAM race with the migration's
 * reads of it by design: a vCPU and QEMU's migration thread do the same,
 * with the dirty log (written after the store) as the protocol.  Under
 * ThreadSanitizer these two stores are left uninstrumented rather than
 * reported and suppressed: each suppressed report cost TSan a stack
 * restore, which made a 1 GiB random guest migrate 25 times slower (350 s
 * instead of 14).  Everything else the workload threads touch (their
 * state, the dirty log, the pause handshake) stays checked.  noinline:
 * clang will not inline an uninstrumented function into an instrumented
 * one anyway; this says so.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GUEST_STORE __attribute__((no_sanitize("thread"), noinline))
#endif
#endif
#if !defined(GUEST_STORE) && defined(__SANITIZE_THREAD__)
#define GUEST_STORE __attribute__((no_sanitize("thread"), noinline))
#endif
#ifndef GUEST_STORE
#define GUEST_STORE
#endif

GUEST_STORE static void guest_byte_bump(uint8_t *p)
{
	(*p)++;
}

GUEST_STORE static void guest_u64_store(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * The CPU throttle: after each time slice of running, sleep the throttle's
 * share (QEMU's cpu_throttle_thread), woken early by a stop or a quit.
 */
static void throttle_point(struct workload *w)
{
	unsigned pct = cpu_throttle_get_percentage(&w->ram->throttle);
	if (!pct) {
		w->slice_start_ns = 0;
		return;
	}
	int64_t now = clock_now_ns();
	if (!w->slice_start_ns)
		w->slice_start_ns = now;
	if (now - w->slice_start_ns < CPU_THROTTLE_TIMESLICE_NS)
		return;
	int64_t end = now + cpu_throttle_sleep_ns(pct);
	struct timespec ts = { .tv_sec = end / 1000000000,
			       .tv_nsec = end % 1000000000 };
	pthread_mutex_lock(&w->lock);
	while (atomic_load(&w->want_running) && !atomic_load(&w->quit) &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->lock);
	int64_t after = clock_now_ns();
	w->throttled_ns += after - now;
	w->slice_start_ns = after;
}

/* Parks the thread while the VM is stopped; returns false to quit. */
static bool workload_checkpoint(struct workload *w)
{
	throttle_point(w);
	if (atomic_load_explicit(&w->want_running, memory_order_acquire))
		return !atomic_load(&w->quit);
	pthread_mutex_lock(&w->lock);
	w->paused = true;
	pthread_cond_broadcast(&w->cond);
	while (!atomic_load(&w->want_running) && !atomic_load(&w->quit))
		pthread_cond_wait(&w->cond, &w->lock);
	w->paused = false;
	pthread_mutex_unlock(&w->lock);
	return !atomic_load(&w->quit);
}

/*
 * One pass bumps the stride bytes of the area in address order.  The pause
 * check comes before every page, not every pass: a stop then lands anywhere
 * in a pass, and the stopped image has its one step down there, which is
 * what the invariant of a migrated seed area checks (QEMU's
 * check_guests_ram).  Checking between whole passes only left every byte
 * equal after each stop, an image that tells nothing about page order.
 */
static void run_seed(struct workload *w)
{
	struct guest_ram *ram = w->ram;
	uint64_t area = w->spec.area_bytes < ram->size_bytes
				? w->spec.area_bytes
				: ram->size_bytes;
	uint64_t off = 0;
	while (workload_checkpoint(w)) {
		for (uint64_t b = off; b < off + GUEST_PAGE_SIZE;
		     b += WORKLOAD_SEED_STRIDE)
			guest_byte_bump(ram->host + b);
		guest_ram_mark_dirty(ram, off, GUEST_PAGE_SIZE);
		atomic_fetch_add_explicit(&w->bytes_written,
					  GUEST_PAGE_SIZE / WORKLOAD_SEED_STRIDE,
					  memory_order_relaxed);
		off += GUEST_PAGE_SIZE;
		if (off >= area)
			off = 0;
	}
}

/*
 * rate is the memory dirtied per second: rate / 4096 times a second one
 * random 64-bit number lands at a random place of the area, so that the
 * dirty-page rate (what a migration has to keep up with) is what the user
 * asked for, and each dirtied page changes a little (as XBZRLE likes it).
 */
static void run_random(struct workload *w)
{
	struct guest_ram *ram = w->ram;
	uint64_t area = w->spec.area_bytes < ram->size_bytes
				? w->spec.area_bytes
				: ram->size_bytes;
	uint64_t slots = area / 8;
	uint64_t rng = w->spec.seed | 1;
	/* A token bucket refilled every millisecond keeps the rate. */
	const int64_t tick_ns = 1000000;
	double per_tick = (double)w->spec.rate_bytes / GUEST_PAGE_SIZE / 1000.0;
	double tokens = 0;
	int64_t next = clock_now_ns();
	int64_t throttled = 0;
	while (workload_checkpoint(w)) {
		/* Time asleep in the throttle is not the guest's. */
		next += w->throttled_ns - throttled;
		throttled = w->throttled_ns;
		tokens += per_tick;
		uint64_t n = (uint64_t)tokens;
		tokens -= (double)n;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t off = (rng_next(&rng) % slots) * 8;
			guest_u64_store(ram->host + off, rng_next(&rng));
			guest_ram_mark_dirty(ram, off, sizeof(uint64_t));
		}
		atomic_fetch_add_explicit(&w->bytes_written, n * 8,
					  memory_order_relaxed);
		next += tick_ns;
		int64_t now = clock_now_ns();
		if (next > now)
			clock_sleep_ns(next - now);
		else if (now - next > 100 * tick_ns)
			next = now; /* after a pause, do not catch up */
	}
}

static void *workload_thread(void *opaque)
{
	struct workload *w = opaque;
	if (w->spec.kind == WORKLOAD_SEED)
		run_seed(w);
	else
		run_random(w);
	return NULL;
}

int workload_start(struct workload *w, const struct workload_spec *spec,
		   struct guest_ram *ram, struct error **errp)
{
	memset(w, 0, sizeof(*w));
	w->spec = *spec;
	w->spec.image_path = spec->image_path ? xstrdup(spec->image_path)
					      : NULL;
	w->ram = ram;
	pthread_mutex_init(&w->lock, NULL);
	/* The throttle's sleep waits on it against the monotonic clock. */
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);

	switch (spec->kind) {
	case WORKLOAD_IDLE: {
		uint64_t rng = spec->seed | 1;
		for (uint64_t off = 0; off < ram->size_bytes;
		     off += GUEST_PAGE_SIZE)
			fill_idle_page(ram->host + off, &rng);
		return 0;
	}
	case WORKLOAD_IMAGE:
		return load_image(ram, spec->image_path, errp);
	case WORKLOAD_SEED:
	case WORKLOAD_RANDOM:
		break;
	}
	if (!thread_start(&w->thread, workload_thread, w, "workload", errp))
		return -1;
	w->has_thread = true;
	return 0;
}

void workload_pause(struct workload *w)
{
	if (!w->has_thread)
		return;
	atomic_store(&w->want_running, false);
	pthread_mutex_lock(&w->lock);
	pthread_cond_broadcast(&w->cond); /* a throttled thread wakes */
	while (!w->paused)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void workload_resume(struct workload *w)
{
	if (!w->has_thread)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->want_running, true);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void workload_stop(struct workload *w)
{
	if (w->has_thread) {
		pthread_mutex_lock(&w->lock);
		atomic_store(&w->quit, true);
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->has_thread = false;
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	workload_spec_release(&w->spec);
}
