#include "ram/guest_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/xalloc.h"

/*
 * Transparent huge pages, as QEMU asks for its guest RAM: a loader then
 * takes one fault per 2 MiB instead of one per 4 KiB page.  A migration
 * destination writes every non-zero page once, and the data is clustered
 * (the 61,155 non-zero pages of the 1 GiB idle-guest image sit in 129 of
 * its 512 huge pages): writing them took 0.020-0.025 s against 0.085 s
 * with 4 KiB faults here, when the memory is warm.  On this VM it often is
 * not: the balloon's free page reporting gives freed 2 MiB blocks back to
 * the host, and a first touch of such memory costs ~11 us a 4 KiB page.
 * Measured on the compressed idle-image migration (5 runs each): huge
 * pages 711-728 ms warm, 913-938 ms cold, median 728; 4 KiB pages 745-814,
 * median 767.  QEMU also aligns the block to the huge page size so the
 * first huge page is not lost to a misaligned start.  A migration
 * destination keeps them only while they come warm (ram/huge_probe.h:
 * cold, they cost 2.5x the destination's CPU).
 */
#define HUGE_PAGE_BYTES GUEST_HUGE_PAGE_BYTES

static void *map_ram(uint64_t size_bytes)
{
	/* Reserved (no MAP_NORESERVE), as QEMU 7.2's RAM: the kernel's
	 * overcommit rule then refuses the sizes it refuses QEMU ("-m 1T"
	 * on a small host); untouched RAM still costs no memory. */
	uint64_t len = size_bytes + HUGE_PAGE_BYTES;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)p + HUGE_PAGE_BYTES - 1) &
			  ~(uintptr_t)(HUGE_PAGE_BYTES - 1);
	uint8_t *aligned = (uint8_t *)start;
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	uint8_t *end = aligned + size_bytes;
	if (end < p + len)
		munmap(end, (size_t)(p + len - end));
	/* Fails harmlessly (EINVAL) where THP is compiled out or off. */
	madvise(aligned, size_bytes, MADV_HUGEPAGE);
	return aligned;
}

int guest_ram_init(struct guest_ram *ram, uint64_t size_bytes,
		   struct error **errp)
{
	memset(ram, 0, sizeof(*ram));
	if (!size_bytes || size_bytes % GUEST_PAGE_SIZE) {
		error_setf(errp, "RAM size must be a non-zero multiple of %u",
			   GUEST_PAGE_SIZE);
		return -1;
	}
	void *p = map_ram(size_bytes);
	if (!p) {
		/* QEMU 7.2's words (its -M none block is "ram" too) */
		error_setf(errp, "cannot set up guest memory '%s': %s",
			   GUEST_RAM_BLOCK_NAME, strerror(errno));
		return -1;
	}
	ram->host = p;
	ram->size_bytes = size_bytes;
	ram->npages = size_bytes / GUEST_PAGE_SIZE;
	ram->pristine = true;
	ram->dirty_log = xcalloc(BITMAP_WORDS(ram->npages), sizeof(uint64_t));
	ram->rate_log = xcalloc(BITMAP_WORDS(ram->npages), sizeof(uint64_t));
	return 0;
}

void guest_ram_release(struct guest_ram *ram)
{
	if (ram->host)
		munmap(ram->host, ram->size_bytes);
	free((void *)ram->dirty_log);
	free((void *)ram->rate_log);
	memset(ram, 0, sizeof(*ram));
}

void guest_ram_mark_dirty(struct guest_ram *ram, uint64_t offset, uint64_t len)
{
	if (!len || offset >= ram->size_bytes)
		return;
	uint64_t last = offset + len - 1;
	if (last >= ram->size_bytes)
		last = ram->size_bytes - 1;
	bool rate = atomic_load_explicit(&ram->rate_log_on,
					 memory_order_relaxed);
	for (uint64_t page = offset >> GUEST_PAGE_BITS;
	     page <= last >> GUEST_PAGE_BITS; page++) {
		atomic_bitmap_set_bit(ram->dirty_log, page);
		if (rate)
			atomic_bitmap_set_bit(ram->rate_log, page);
	}
}

void guest_ram_rate_log_start(struct guest_ram *ram)
{
	for (uint64_t i = 0; i < BITMAP_WORDS(ram->npages); i++)
		atomic_store_explicit(&ram->rate_log[i], 0,
				      memory_order_relaxed);
	atomic_store(&ram->rate_log_on, true);
}

uint64_t guest_ram_rate_log_stop(struct guest_ram *ram)
{
	atomic_store(&ram->rate_log_on, false);
	uint64_t n = 0;
	for (uint64_t i = 0; i < BITMAP_WORDS(ram->npages); i++)
		n += (uint64_t)__builtin_popcountll(atomic_load_explicit(
			&ram->rate_log[i], memory_order_relaxed));
	return n;
}

uint64_t guest_ram_sync_dirty(struct guest_ram *ram, uint64_t *bitmap)
{
	return atomic_bitmap_fetch_clear_into(ram->dirty_log, bitmap,
					      ram->npages);
}

void guest_ram_clear_dirty(struct guest_ram *ram)
{
	for (uint64_t i = 0; i < BITMAP_WORDS(ram->npages); i++)
		atomic_store_explicit(&ram->dirty_log[i], 0,
				      memory_order_relaxed);
}

static int write_all(int fd, const uint8_t *buf, uint64_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len > (1u << 30) ? (1u << 30) : len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (uint64_t)n;
	}
	return 0;
}

int guest_ram_save_to_file(struct guest_ram *ram, uint64_t addr, uint64_t size,
			   const char *path, struct error **errp)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		error_setf(errp, "Could not open '%s': %s", path,
			   strerror(errno));
		return -1;
	}
	int ret = 0;
	uint64_t inside = 0;
	if (addr < ram->size_bytes)
		inside = size < ram->size_bytes - addr ? size
						       : ram->size_bytes - addr;
	if (inside && write_all(fd, ram->host + addr, inside) < 0)
		ret = -1;
	/* QEMU still writes `size` bytes when the range leaves RAM. */
	static const uint8_t zeros[GUEST_PAGE_SIZE];
	for (uint64_t left = size - inside; ret == 0 && left;) {
		uint64_t n = left < sizeof(zeros) ? left : sizeof(zeros);
		if (write_all(fd, zeros, n) < 0)
			ret = -1;
		left -= n;
	}
	if (ret < 0)
		error_setf(errp, "Error writing to '%s': %s", path,
			   strerror(errno));
	if (close(fd) < 0 && ret == 0) {
		error_setf(errp, "Error writing to '%s': %s", path,
			   strerror(errno));
		ret = -1;
	}
	return ret;
}
