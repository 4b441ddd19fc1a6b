#include "migration/multifd_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Field offsets of the packet header. */
enum {
	PK_MAGIC = 0, PK_VERSION = 4, PK_FLAGS = 8, PK_PAGES_ALLOC = 12,
	PK_NORMAL = 16, PK_NEXT_SIZE = 20, PK_PACKET_NUM = 24,
	PK_RAMBLOCK = 64, PK_OFFSETS = MULTIFD_HEADER_FIXED_BYTES,
};
_Static_assert(PK_RAMBLOCK + MULTIFD_RAMBLOCK_BYTES == PK_OFFSETS,
	       "the offsets follow the block name");

/* The handshake's fields. */
enum { IN_MAGIC = 0, IN_VERSION = 4, IN_UUID = 8, IN_ID = 24 };

uint32_t multifd_method_flag(enum multifd_method m)
{
	switch (m) {
	case MULTIFD_ZLIB:
		return MULTIFD_FLAG_ZLIB;
	case MULTIFD_ZSTD:
		return MULTIFD_FLAG_ZSTD;
	default:
		return MULTIFD_FLAG_NOCOMP;
	}
}

void multifd_init_encode(uint8_t out[MULTIFD_INIT_BYTES], uint8_t id)
{
	memset(out, 0, MULTIFD_INIT_BYTES);
	put32(out + IN_MAGIC, MULTIFD_MAGIC);
	put32(out + IN_VERSION, MULTIFD_VERSION);
	out[IN_ID] = id; /* the uuid stays zero: qmig has no -uuid */
}

static void uuid_text(const uint8_t *u, char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

int multifd_init_parse(const uint8_t in[MULTIFD_INIT_BYTES],
		       unsigned channels, struct error **errp)
{
	static const uint8_t zero_uuid[MULTIFD_UUID_BYTES];
	uint32_t magic = get32(in + IN_MAGIC);
	uint32_t version = get32(in + IN_VERSION);
	unsigned id = in[IN_ID];

	if (magic != MULTIFD_MAGIC) {
		error_setf_code(errp, EINVAL,
				"multifd: received packet magic %x expected %x",
				magic, MULTIFD_MAGIC);
		return -1;
	}
	if (version != MULTIFD_VERSION) {
		error_setf_code(errp, EINVAL,
				"multifd: received packet version %u expected %u",
				version, MULTIFD_VERSION);
		return -1;
	}
	if (memcmp(in + IN_UUID, zero_uuid, MULTIFD_UUID_BYTES)) {
		char got[37], want[37];
		uuid_text(in + IN_UUID, got);
		uuid_text(zero_uuid, want);
		error_setf_code(errp, EINVAL,
				"multifd: received uuid '%s' and expected uuid '%s' for channel %u",
				got, want, id);
		return -1;
	}
	/* QEMU 7.2 lets id == channels through and words this as a version
	 * mismatch; qmig says what is wrong. */
	if (id >= channels) {
		error_setf_code(errp, EINVAL,
				"multifd: received channel id %u, but multifd-channels is %u",
				id, channels);
		return -1;
	}
	return (int)id;
}

void multifd_packet_encode(uint8_t out[MULTIFD_PACKET_BYTES],
			   const struct multifd_packet *p,
			   const char *block_name)
{
	memset(out, 0, MULTIFD_PACKET_BYTES);
	put32(out + PK_MAGIC, MULTIFD_MAGIC);
	put32(out + PK_VERSION, MULTIFD_VERSION);
	put32(out + PK_FLAGS, p->flags);
	put32(out + PK_PAGES_ALLOC, MULTIFD_PACKET_PAGES);
	put32(out + PK_NORMAL, p->pages);
	put32(out + PK_NEXT_SIZE, p->next_packet_size);
	put64(out + PK_PACKET_NUM, p->packet_num);
	if (p->pages)
		strncpy((char *)out + PK_RAMBLOCK, block_name,
			MULTIFD_RAMBLOCK_BYTES - 1);
	for (uint32_t i = 0; i < p->pages && i < MULTIFD_PACKET_PAGES; i++)
		put64(out + PK_OFFSETS + 8 * i, p->offset[i]);
}

static bool check_payload_size(const struct multifd_packet *p,
			       enum multifd_method method, unsigned id,
			       struct error **errp)
{
	uint32_t raw = p->pages * RAM_PAGE_SIZE;
	if (method == MULTIFD_NONE ? p->next_packet_size == raw
				   : p->next_packet_size >= 1 &&
					     p->next_packet_size <=
						     MULTIFD_COMPRESSED_MAX)
		return true;
	error_setf_code(errp, EINVAL,
			"multifd %u: packet of %u pages has a payload of %u bytes",
			id, p->pages, p->next_packet_size);
	return false;
}

bool multifd_packet_parse(const uint8_t in[MULTIFD_PACKET_BYTES],
			  const char *block_name, uint64_t block_bytes,
			  enum multifd_method method, unsigned id,
			  struct multifd_packet *p, struct error **errp)
{
	uint32_t magic = get32(in + PK_MAGIC);
	uint32_t version = get32(in + PK_VERSION);
	uint32_t pages_alloc = get32(in + PK_PAGES_ALLOC);

	if (magic != MULTIFD_MAGIC) {
		error_setf_code(errp, EINVAL,
				"multifd: received packet magic %x and expected magic %x",
				magic, MULTIFD_MAGIC);
		return false;
	}
	if (version != MULTIFD_VERSION) {
		error_setf_code(errp, EINVAL,
				"multifd: received packet version %u and expected version %u",
				version, MULTIFD_VERSION);
		return false;
	}
	p->flags = get32(in + PK_FLAGS);
	if (pages_alloc > MULTIFD_PACKET_PAGES) {
		error_setf_code(errp, EINVAL,
				"multifd: received packet with size %u and expected a size of %u",
				pages_alloc, MULTIFD_PACKET_PAGES);
		return false;
	}
	p->pages = get32(in + PK_NORMAL);
	if (p->pages > pages_alloc) {
		error_setf_code(errp, EINVAL,
				"multifd: received packet with %u pages and expected maximum pages are %u",
				p->pages, pages_alloc);
		return false;
	}
	p->next_packet_size = get32(in + PK_NEXT_SIZE);
	p->packet_num = get64(in + PK_PACKET_NUM);
	if (!p->pages)
		return true;

	uint32_t comp = p->flags & MULTIFD_FLAG_COMPRESSION_MASK;
	if (comp != multifd_method_flag(method)) {
		error_setf_code(errp, EINVAL,
				"multifd %u: flags received %x flags expected %x",
				id, comp, multifd_method_flag(method));
		return false;
	}
	char name[MULTIFD_RAMBLOCK_BYTES];
	memcpy(name, in + PK_RAMBLOCK, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (strcmp(name, block_name)) {
		error_setf_code(errp, EINVAL, "multifd: unknown ram block %s",
				name);
		return false;
	}
	for (uint32_t i = 0; i < p->pages; i++) {
		uint64_t off = get64(in + PK_OFFSETS + 8 * i);
		/* QEMU 7.2 checks only the end; an unaligned offset would
		 * write across two pages, so qmig refuses it too. */
		if (block_bytes < RAM_PAGE_SIZE ||
		    off > block_bytes - RAM_PAGE_SIZE) {
			error_setf_code(errp, EINVAL,
					"multifd: offset too long %" PRIu64 " (max %" PRIx64 ")",
					off, block_bytes);
			return false;
		}
		if (off % RAM_PAGE_SIZE) {
			error_setf_code(errp, EINVAL,
					"multifd: offset %" PRIu64 " is not page aligned",
					off);
			return false;
		}
		p->offset[i] = off;
	}
	return check_payload_size(p, method, id, errp);
}
