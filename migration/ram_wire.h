/*
 * The `ram` section's record flags (QEMU 7.2, ram section version 4).  A
 * record starts with a be64 whose low 12 bits are these flags and whose
 * other bits are the page offset inside the block (pages are 4 KiB, so the
 * bits are free).  shared/docs/qemu-7.2-stream.md §8 has every byte.
 */
#ifndef QMIG_MIGRATION_RAM_WIRE_H
#define QMIG_MIGRATION_RAM_WIRE_H

#define RAM_FLAG_FULL 0x001          /* obsolete: rejected on load */
#define RAM_FLAG_ZERO 0x002          /* u8 fill byte follows (always 0) */
#define RAM_FLAG_MEM_SIZE 0x004      /* setup: block list follows */
#define RAM_FLAG_PAGE 0x008          /* 4096 raw bytes follow */
#define RAM_FLAG_EOS 0x010           /* end of this section's RAM data */
#define RAM_FLAG_CONTINUE 0x020      /* same block as before: no name */
#define RAM_FLAG_XBZRLE 0x040        /* u8 1, be16 len, XBZRLE data */
#define RAM_FLAG_HOOK 0x080          /* RDMA only: rejected on load */
#define RAM_FLAG_COMPRESS_PAGE 0x100 /* be32 len, one zlib stream */
/* 0x200 and up: reserved (multifd flush in later QEMU); rejected by 7.2. */
#define RAM_FLAG_MASK 0xfffULL

#define RAM_SECTION_VERSION 4
#define RAM_XBZRLE_ENCODING 0x01
/* zlib's compressBound(4096): the largest compressed page 7.2 accepts. */
#define RAM_COMPRESS_MAX_LEN 4110

#endif
