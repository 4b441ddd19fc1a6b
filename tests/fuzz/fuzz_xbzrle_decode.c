/*
 * libFuzzer entry for xbzrle_decode(): the input is the encoded data of one
 * record, decoded into a page that sits between two PROT_NONE guard pages,
 * so any write (or read) outside the page faults at once, with or without
 * ASan.  When the input decodes, the encoder must reproduce a delta that
 * turns the old page into the decoded one (a round trip through every
 * variant).
 *
 * Built by `make fuzz` (clang, -fsanitize=fuzzer) and, with
 * tests/fuzz/replay_main.c, by `make fuzz-replay` (any compiler).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codec/xbzrle.h"

#define PAGE XBZRLE_PAGE_SIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The old page: a fixed pattern with zero and non-zero stretches. */
static void old_content(uint8_t *page)
{
	for (int i = 0; i < PAGE; i++)
		page[i] = (i / 512) % 2 ? (uint8_t)(i * 7 + 3) : 0;
}

/* Three pages, the middle one usable; made once per process. */
static uint8_t *guarded_page(void)
{
	static uint8_t *page;
	uint8_t *m;

	if (page)
		return page;
	m = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + PAGE, PAGE, PROT_READ | PROT_WRITE))
		abort();
	page = m + PAGE;
	return page;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static _Alignas(64) uint8_t old[PAGE], decoded[PAGE], check[PAGE];
	uint8_t enc[PAGE];
	uint8_t *page = guarded_page();
	int len = size > 2 * PAGE ? 2 * PAGE : (int)size;

	old_content(old);
	memcpy(page, old, PAGE);
	if (xbzrle_decode(data, len, page) != XBZRLE_DECODE_OK)
		return 0;
	memcpy(decoded, page, PAGE);
	for (int v = 0; v < XBZRLE_VARIANT__COUNT; v++) {
		int n;

		if (!xbzrle_variant_available(v))
			continue;
		n = xbzrle_encode_with(v, old, decoded, enc, PAGE);
		if (n == XBZRLE_OVERFLOW)
			continue;
		memcpy(check, old, PAGE);
		if (n < 0 || xbzrle_decode(enc, n, check) != XBZRLE_DECODE_OK ||
		    memcmp(check, decoded, PAGE))
			abort();
	}
	return 0;
}
