/*
 * The bytes of QEMU 7.2's multifd channels (migration/multifd.c), in one
 * place: the handshake a channel opens with, and the packet header that
 * precedes every batch of pages.  All fields are big-endian.
 *
 * Handshake (MULTIFD_INIT_BYTES): be32 magic, be32 version, 16-byte uuid
 * (the VM's -uuid; all zeros for qmig, as for a QEMU started without one),
 * u8 channel id, 7 + 32 reserved bytes.
 *
 * Packet header (MULTIFD_PACKET_BYTES, always this long whatever the page
 * count: 7.2 reads a fixed size): be32 magic, be32 version, be32 flags,
 * be32 pages_alloc (the offsets array's size, 128), be32 normal_pages,
 * be32 next_packet_size (the payload after the header), be64 packet_num,
 * 4 x be64 reserved, char ramblock[256] (NUL padded), be64 offset[128].
 * The payload is normal_pages raw pages, or with zlib/zstd
 * next_packet_size bytes of the channel's one compressed stream.
 *
 * A packet with no pages carries only flags; MULTIFD_FLAG_SYNC asks the
 * destination to hold the channel until its main stream reaches the same
 * point (the `ram` section's EOS).
 *
 * Parsing checks every field a peer controls before any page is touched:
 * nothing here writes guest RAM.
 */
#ifndef QMIG_MIGRATION_MULTIFD_WIRE_H
#define QMIG_MIGRATION_MULTIFD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/ram_wire.h"
#include "util/error.h"

#define MULTIFD_MAGIC 0x11223344U
#define MULTIFD_VERSION 1U
/* The main stream's first word ("QEVM"): how a destination tells the
 * main connection from a channel. */
#define MULTIFD_MAIN_MAGIC 0x5145564dU

#define MULTIFD_UUID_BYTES 16
#define MULTIFD_INIT_BYTES 64

/* MULTIFD_PACKET_SIZE in QEMU: 512 KiB of pages per packet. */
#define MULTIFD_PACKET_PAYLOAD (512 * 1024)
#define MULTIFD_PACKET_PAGES (MULTIFD_PACKET_PAYLOAD / RAM_PAGE_SIZE)
#define MULTIFD_RAMBLOCK_BYTES 256
#define MULTIFD_HEADER_FIXED_BYTES (6 * 4 + 8 + 4 * 8 + MULTIFD_RAMBLOCK_BYTES)
#define MULTIFD_PACKET_BYTES \
	(MULTIFD_HEADER_FIXED_BYTES + 8 * MULTIFD_PACKET_PAGES)
/* A compressed payload may not exceed this: QEMU 7.2 sizes its buffer at
 * twice the pages it holds. */
#define MULTIFD_COMPRESSED_MAX (2 * MULTIFD_PACKET_PAYLOAD)

#define MULTIFD_FLAG_SYNC 0x1U
#define MULTIFD_FLAG_COMPRESSION_MASK (0xfU << 1)
#define MULTIFD_FLAG_NOCOMP (0U << 1)
#define MULTIFD_FLAG_ZLIB (1U << 1)
#define MULTIFD_FLAG_ZSTD (2U << 1)

/* multifd-compression's values, in QEMU's MultiFDCompression order. */
enum multifd_method { MULTIFD_NONE, MULTIFD_ZLIB, MULTIFD_ZSTD };

_Static_assert(MULTIFD_PACKET_PAGES == 128, "7.2 packs 128 x 4 KiB pages");
_Static_assert(MULTIFD_HEADER_FIXED_BYTES == 320,
	       "MultiFDPacket_t without offsets is 320 bytes");
_Static_assert(MULTIFD_PACKET_BYTES == 1344,
	       "a 7.2 packet header with its offsets is 1344 bytes");

/* The flag bits a method's packets carry. */
uint32_t multifd_method_flag(enum multifd_method m);

/* The handshake of channel id. */
void multifd_init_encode(uint8_t out[MULTIFD_INIT_BYTES], uint8_t id);
/* Checks a handshake (QEMU 7.2's texts for magic, version and uuid) and
 * that id < channels; returns the id, or -1 with *errp set. */
int multifd_init_parse(const uint8_t in[MULTIFD_INIT_BYTES],
		       unsigned channels, struct error **errp);

/* One packet header as the sender fills it and the receiver checks it. */
struct multifd_packet {
	uint32_t flags;
	uint32_t pages;             /* normal_pages */
	uint32_t next_packet_size;  /* payload bytes after the header */
	uint64_t packet_num;
	uint64_t offset[MULTIFD_PACKET_PAGES]; /* byte offsets in the block */
};

/* Writes the header of p (pages_alloc 128, block name for pages > 0). */
void multifd_packet_encode(uint8_t out[MULTIFD_PACKET_BYTES],
			   const struct multifd_packet *p,
			   const char *block_name);

/*
 * Parses and checks a header from a peer: magic, version, pages_alloc,
 * normal_pages, and for a packet with pages the block name (must be
 * block_name), every offset (page-aligned and inside block_bytes) and
 * next_packet_size (exactly the pages without compression; 1 ..
 * MULTIFD_COMPRESSED_MAX with it), and the compression flag against
 * method.  id names the channel in messages.  false with *errp set
 * (QEMU 7.2's texts where it has one).
 */
bool multifd_packet_parse(const uint8_t in[MULTIFD_PACKET_BYTES],
			  const char *block_name, uint64_t block_bytes,
			  enum multifd_method method, unsigned id,
			  struct multifd_packet *p, struct error **errp);

#endif
