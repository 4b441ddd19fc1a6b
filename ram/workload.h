/*
 * Workloads: what the "guest" does to its RAM.  Each dirtying workload runs
 * on its own thread while the VM runs and is parked by workload_pause()
 * (stop, the switch-over of a migration); every byte it writes is followed
 * by marking the page dirty, so a migration that syncs after the pause has
 * seen every write.
 *
 * Specs (command line `-workload SPEC`, may be given several times):
 *   idle               fill RAM once with realistic content (zero, text-like
 *                      and binary pages), no thread
 *   image=FILE         load a raw memory image (e.g. a pmemsave dump)
 *   seed               the XBZRLE design note's load generator: a 16 MiB
 *                      area, one byte of every 1024 incremented in a tight loop
 *   random[,rate=R][,area=A][,seed=N]
 *                      random 64-bit numbers at random places of the first
 *                      A bytes (default 64M), one every 4 KiB of R: R is the
 *                      memory dirtied per second (default 10M)
 *
 * While ram->throttle is set (auto-converge) every thread sleeps that
 * share of each 10 ms time slice, as QEMU's throttled vCPUs do; a stop
 * wakes it at once.
 *
 * Threads: workload_* functions are called by the thread that owns the VM's
 * run state (under the VM lock); the workload threads touch only guest RAM
 * and their own struct's atomics.
 */
#ifndef QMIG_RAM_WORKLOAD_H
#define QMIG_RAM_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ram/guest_ram.h"
#include "util/error.h"

enum workload_kind {
	WORKLOAD_IDLE,
	WORKLOAD_IMAGE,
	WORKLOAD_SEED,
	WORKLOAD_RANDOM,
};

struct workload_spec {
	enum workload_kind kind;
	char *image_path;        /* WORKLOAD_IMAGE */
	uint64_t rate_bytes;     /* WORKLOAD_RANDOM: bytes written per second */
	uint64_t area_bytes;     /* SEED/RANDOM: size of the area written */
	uint64_t seed;           /* PRNG seed (IDLE, RANDOM) */
};

#define WORKLOAD_SEED_AREA_BYTES (16ULL << 20)
#define WORKLOAD_SEED_STRIDE 1024
#define WORKLOAD_RANDOM_DEFAULT_RATE (10ULL << 20)
#define WORKLOAD_RANDOM_DEFAULT_AREA (64ULL << 20)

/* Parses SPEC; the error names what is wrong in it. */
bool workload_spec_parse(const char *text, struct workload_spec *spec,
			 struct error **errp);
void workload_spec_release(struct workload_spec *spec);

struct workload {
	struct workload_spec spec;
	struct guest_ram *ram;
	pthread_t thread;
	bool has_thread;
	pthread_mutex_t lock;     /* guards paused, with cond */
	pthread_cond_t cond;
	atomic_bool want_running; /* set by the owner; polled by the thread */
	atomic_bool quit;         /* ends the thread */
	bool paused;              /* the thread is parked (acknowledged) */
	atomic_uint_fast64_t bytes_written; /* statistics */
	/* The thread's own: when its time slice began, and how long the
	 * CPU throttle has kept it asleep in all (a random workload's
	 * clock does not count that time, as a throttled vCPU's guest
	 * does not see it). */
	int64_t slice_start_ns;
	int64_t throttled_ns;
};

/*
 * Prepares the workload on `ram`: fills or loads content now; creates the
 * thread for dirtying kinds, parked until workload_resume().
 */
int workload_start(struct workload *w, const struct workload_spec *spec,
		   struct guest_ram *ram, struct error **errp);
/* Returns once the thread is parked: no write happens after this. */
void workload_pause(struct workload *w);
void workload_resume(struct workload *w);
void workload_stop(struct workload *w); /* joins and frees */

#endif
