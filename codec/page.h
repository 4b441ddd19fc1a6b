/*
 * The page the codecs work on: x86's TARGET_PAGE_SIZE, 4 KiB, and what
 * one deflated page can take.  The lowest place these numbers live: guest
 * RAM (ram/guest_ram.h) and the wire (migration/ram_wire.h) take theirs
 * from here and assert that they agree.  Plain constants, no includes.
 */
#ifndef QMIG_CODEC_PAGE_H
#define QMIG_CODEC_PAGE_H

#define CODEC_PAGE_BITS 12
/* An int, as the literal it replaced: the codecs compare it with ints. */
#define CODEC_PAGE_SIZE 4096

/*
 * zlib's compressBound(CODEC_PAGE_SIZE) (zlib 1.2.11+): the most one
 * page deflates to, and so the most QEMU 7.2 accepts for one.
 */
#define CODEC_DEFLATE_BOUND                                                \
	(CODEC_PAGE_SIZE + (CODEC_PAGE_SIZE >> 12) + (CODEC_PAGE_SIZE >> 14) + \
	 (CODEC_PAGE_SIZE >> 25) + 13)
/* A page as one stored deflate block: zlib header (2), block header (5),
 * the page, Adler-32 (4).  zlib's level 0 writes exactly this. */
#define CODEC_DEFLATE_STORED_BYTES (2 + 5 + CODEC_PAGE_SIZE + 4)

_Static_assert(CODEC_PAGE_SIZE == 1 << CODEC_PAGE_BITS,
	       "page size and bits agree");
_Static_assert(CODEC_DEFLATE_STORED_BYTES <= CODEC_DEFLATE_BOUND,
	       "a stored page fits the bound");

#endif
