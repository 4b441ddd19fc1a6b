/*
 * Guest RAM: the one RAM block of QEMU's `-M none` machine (named "ram",
 * at guest physical address 0, sized by -m), in 4 KiB target pages, with a
 * dirty log that writers mark after they store into a page, the way KVM's
 * dirty log works.  The migration fetches and clears the log atomically at
 * every sync.
 *
 * Threads: the host memory may be written by workload threads and the
 * incoming loader; guest_ram_mark_dirty() and guest_ram_sync_dirty() are
 * safe from any thread.  The struct's other fields are fixed after init.
 */
#ifndef QMIG_RAM_GUEST_RAM_H
#define QMIG_RAM_GUEST_RAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "ram/cpu_throttle.h"
#include "util/bitmap.h"
#include "util/error.h"

#define GUEST_PAGE_BITS 12
#define GUEST_PAGE_SIZE (1u << GUEST_PAGE_BITS)
#define GUEST_HUGE_PAGE_BYTES (2ULL << 20) /* x86 transparent huge page */
#define GUEST_RAM_BLOCK_NAME "ram" /* QEMU 7.2's name for -M none's block */
#define GUEST_RAM_DEFAULT_BYTES (128ULL << 20) /* QEMU's default -m */

struct guest_ram {
	uint8_t *host;            /* size_bytes of host memory, page aligned */
	uint64_t size_bytes;      /* multiple of GUEST_PAGE_SIZE */
	uint64_t npages;          /* size_bytes / GUEST_PAGE_SIZE */
	_Atomic uint64_t *dirty_log; /* one bit a page; set by writers */
	/* A second log for dirty-rate measurement (dirty-bitmap mode), so
	 * that it never takes a bit the migration needs: marked only while
	 * rate_log_on. */
	_Atomic uint64_t *rate_log;
	atomic_bool rate_log_on;
	/* Nothing has written the RAM since init (it is all zero and not
	 * even mapped): a loader may skip zero pages without reading them.
	 * Cleared, before any writer starts, by whoever adds one. */
	bool pristine;
	/* auto-converge: the share of time its writers sleep. */
	struct cpu_throttle throttle;
};

/* Maps zeroed memory; size_bytes must be a non-zero multiple of a page. */
int guest_ram_init(struct guest_ram *ram, uint64_t size_bytes,
		   struct error **errp);
void guest_ram_release(struct guest_ram *ram);

/* Marks [offset, offset + len) dirty; call after storing the data. */
void guest_ram_mark_dirty(struct guest_ram *ram, uint64_t offset,
			  uint64_t len);

/* Moves the dirty log into `bitmap` (OR), clearing the log.  Returns the
 * number of pages newly set in `bitmap`. */
uint64_t guest_ram_sync_dirty(struct guest_ram *ram, uint64_t *bitmap);

/* The dirty-rate log: cleared and switched on; switched off, returning
 * the pages marked meanwhile. */
void guest_ram_rate_log_start(struct guest_ram *ram);
uint64_t guest_ram_rate_log_stop(struct guest_ram *ram);

/* Clears the dirty log (at the start of a migration). */
void guest_ram_clear_dirty(struct guest_ram *ram);

/*
 * Writes guest-physical [addr, addr + size) to `path` as QEMU's pmemsave
 * does: the file always gets `size` bytes, with zeros for the part outside
 * RAM.  Error text as QEMU's (`Could not open 'F': <strerror>`).
 */
int guest_ram_save_to_file(struct guest_ram *ram, uint64_t addr, uint64_t size,
			   const char *path, struct error **errp);

#endif
