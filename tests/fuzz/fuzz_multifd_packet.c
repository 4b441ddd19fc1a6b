/*
 * libFuzzer entry for the multifd channel parser (migration/multifd_wire.c
 * and the zlib/zstd payload decoders of multifd_codec.h): everything a
 * multifd peer controls.  Input: one byte choosing the method (none, zlib,
 * zstd), a 64-byte handshake, a 1344-byte packet header, then the payload.
 * The "RAM block" is 64 pages between two PROT_NONE guard pages, so that a
 * write outside it faults at once; pages are written only after the header
 * passed its checks, as the receiver does.  A header that parses must
 * survive an encode/parse round trip unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "migration/multifd_codec.h"
#include "migration/multifd_wire.h"
#include "ram/guest_ram.h"

#define BLOCK_PAGES 64
#define BLOCK_BYTES ((uint64_t)BLOCK_PAGES * RAM_PAGE_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *guarded_block(void)
{
	static uint8_t *block;
	size_t len = (BLOCK_PAGES + 2) * (size_t)RAM_PAGE_SIZE;

	if (block)
		return block;
	uint8_t *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (m == MAP_FAILED ||
	    mprotect(m + RAM_PAGE_SIZE, BLOCK_BYTES, PROT_READ | PROT_WRITE))
		abort();
	block = m + RAM_PAGE_SIZE;
	return block;
}

static void check_round_trip(const struct multifd_packet *p,
			     enum multifd_method m)
{
	static uint8_t hdr[MULTIFD_PACKET_BYTES];
	static struct multifd_packet again;

	multifd_packet_encode(hdr, p, GUEST_RAM_BLOCK_NAME);
	if (!multifd_packet_parse(hdr, GUEST_RAM_BLOCK_NAME, BLOCK_BYTES, m, 0,
				  &again, NULL) ||
	    again.flags != p->flags || again.pages != p->pages ||
	    again.next_packet_size != p->next_packet_size ||
	    again.packet_num != p->packet_num ||
	    memcmp(again.offset, p->offset, p->pages * sizeof(p->offset[0])))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct multifd_packet p;
	uint8_t *block = guarded_block();

	if (size < 1 + MULTIFD_INIT_BYTES + MULTIFD_PACKET_BYTES)
		return 0;
	enum multifd_method m = (enum multifd_method)(data[0] % 3);
	data++;
	size--;
	int id = multifd_init_parse(data, 4, NULL);
	if (id >= 4)
		abort();
	data += MULTIFD_INIT_BYTES;
	size -= MULTIFD_INIT_BYTES;

	if (!multifd_packet_parse(data, GUEST_RAM_BLOCK_NAME, BLOCK_BYTES, m,
				  0, &p, NULL))
		return 0;
	data += MULTIFD_PACKET_BYTES;
	size -= MULTIFD_PACKET_BYTES;
	if (p.pages > MULTIFD_PACKET_PAGES)
		abort();
	for (uint32_t i = 0; i < p.pages; i++)
		if (p.offset[i] % RAM_PAGE_SIZE ||
		    p.offset[i] + RAM_PAGE_SIZE > BLOCK_BYTES)
			abort();
	check_round_trip(&p, m);
	if (!p.pages || size < p.next_packet_size)
		return 0;

	uint8_t *pages[MULTIFD_PACKET_PAGES];
	for (uint32_t i = 0; i < p.pages; i++)
		pages[i] = block + p.offset[i];
	if (m == MULTIFD_NONE) {
		for (uint32_t i = 0; i < p.pages; i++)
			memcpy(pages[i], data + (size_t)i * RAM_PAGE_SIZE,
			       RAM_PAGE_SIZE);
		return 0;
	}
	struct multifd_codec *c = multifd_codec_new_decompress(m, 0, NULL);
	if (!c)
		abort();
	(void)multifd_codec_decompress(c, data, p.next_packet_size, pages,
				       p.pages, NULL);
	multifd_codec_free(c);
	return 0;
}
