/*
 * The wire of QEMU 7.2's `ram` section (ram section version 4) in one
 * place: record flags, header and payload sizes, the page size and the
 * string limit.  Every file that writes, reads or sizes a buffer for these
 * bytes takes the number from here, so one edit moves them all and the
 * asserts below catch a derived size that no longer matches.
 *
 * A record starts with a be64 whose low 12 bits are the flags and whose
 * other bits are the page offset inside the block (pages are 4 KiB, so the
 * bits are free).  shared/docs/qemu-7.2-stream.md §8 has every byte.
 *
 * The page and deflate sizes come from the codecs' codec/page.h (the layer
 * below); the asserts pin them to what QEMU 7.2's wire needs.
 */
#ifndef QMIG_MIGRATION_RAM_WIRE_H
#define QMIG_MIGRATION_RAM_WIRE_H

#include "codec/page.h"

/* TARGET_PAGE_SIZE of an x86 QEMU: what one record carries. */
#define RAM_PAGE_BITS CODEC_PAGE_BITS
#define RAM_PAGE_SIZE CODEC_PAGE_SIZE

#define RAM_FLAG_FULL 0x001          /* obsolete: rejected on load */
#define RAM_FLAG_ZERO 0x002          /* u8 fill byte follows (always 0) */
#define RAM_FLAG_MEM_SIZE 0x004      /* setup: block list follows */
#define RAM_FLAG_PAGE 0x008          /* RAM_PAGE_SIZE raw bytes follow */
#define RAM_FLAG_EOS 0x010           /* end of this section's RAM data */
#define RAM_FLAG_CONTINUE 0x020      /* same block as before: no name */
#define RAM_FLAG_XBZRLE 0x040        /* u8 1, be16 len, XBZRLE data */
#define RAM_FLAG_HOOK 0x080          /* RDMA only: rejected on load */
#define RAM_FLAG_COMPRESS_PAGE 0x100 /* be32 len, one zlib stream */
/* 0x200 and up: reserved (multifd flush in later QEMU); rejected by 7.2. */
#define RAM_FLAG_MASK 0xfffULL

#define RAM_SECTION_VERSION 4
#define RAM_XBZRLE_ENCODING 0x01

/*
 * Strings on the wire (section, block and machine names) are a u8 length
 * and the bytes: at most 255 of them, 256 with the NUL a reader adds.
 */
#define WIRE_STRING8_MAX 255
#define WIRE_STRING8_BUF (WIRE_STRING8_MAX + 1)

/* Record sizes: the be64 header, then what each flag puts after it. */
#define RAM_RECORD_HEADER_BYTES 8     /* be64 offset | flags */
#define RAM_ZERO_BODY_BYTES 1         /* u8 fill */
#define RAM_XBZRLE_PREFIX_BYTES 3     /* u8 encoding, be16 len */
#define RAM_COMPRESS_PREFIX_BYTES 4   /* be32 len */

/* zlib's compressBound() of a page: the largest compressed page 7.2
 * accepts; and a page as one stored deflate block. */
#define RAM_COMPRESS_MAX_LEN CODEC_DEFLATE_BOUND
#define RAM_COMPRESS_STORED_LEN CODEC_DEFLATE_STORED_BYTES
/* The largest COMPRESS_PAGE record without the block name. */
#define RAM_COMPRESS_MAX_RECORD_BYTES                                      \
	(RAM_RECORD_HEADER_BYTES + RAM_COMPRESS_PREFIX_BYTES +             \
	 RAM_COMPRESS_MAX_LEN)

_Static_assert(RAM_PAGE_SIZE == 1 << RAM_PAGE_BITS, "page size and bits agree");
_Static_assert(RAM_FLAG_MASK == RAM_PAGE_SIZE - 1,
	       "the flags fill exactly the bits a page offset leaves free");
_Static_assert(RAM_RECORD_HEADER_BYTES == sizeof(unsigned long long),
	       "the record header is one be64");
_Static_assert(RAM_COMPRESS_MAX_LEN == 4110,
	       "QEMU 7.2 rejects compressed pages over 4110 bytes");
_Static_assert(RAM_COMPRESS_STORED_LEN == 4107,
	       "a stored page is 4107 bytes, as zlib level 0 writes it");
_Static_assert(RAM_COMPRESS_STORED_LEN <= RAM_COMPRESS_MAX_LEN,
	       "the stored fallback must fit what 7.2 accepts");
_Static_assert(RAM_PAGE_SIZE <= 0xffff,
	       "an XBZRLE record's be16 length can hold a whole page");
_Static_assert(WIRE_STRING8_MAX == 0xff, "a string8 length is one u8");

#endif
