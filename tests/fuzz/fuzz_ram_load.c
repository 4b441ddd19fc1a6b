/*
 * libFuzzer entry point for the destination: any bytes as a migration
 * stream, loaded into a 64 KiB guest with `compress` on (so compressed
 * pages go through the decompress threads too).  The guest RAM sits
 * between PROT_NONE guard pages: a write outside it crashes at once.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "migration/qemu_file.h"
#include "migration/ram_load.h"
#include "migration/savevm.h"

#define FUZZ_RAM_BYTES (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *area;
	if (!area) {
		area = mmap(NULL, FUZZ_RAM_BYTES + 2 * 4096,
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED)
			return 0;
		mprotect(area, 4096, PROT_NONE);
		mprotect(area + 4096 + FUZZ_RAM_BYTES, 4096, PROT_NONE);
	}
	struct guest_ram ram = {
		.host = area + 4096,
		.size_bytes = FUZZ_RAM_BYTES,
		.npages = FUZZ_RAM_BYTES / 4096,
		.pristine = false,
	};
	memset(ram.host, 0, FUZZ_RAM_BYTES);

	struct qemu_file *f = qemu_file_new_mem(data, size);
	struct ram_load rl;
	ram_load_init(&rl, &ram, true, 2);
	struct savevm_load_result result;
	struct error *err = NULL;
	savevm_load(f, &rl, &result, NULL, &err);
	ram_load_release(&rl);
	error_free(err);
	qemu_file_close(f);
	return 0;
}
