/*
 * Streams in memory for unit tests.  qemu_file reads from memory
 * (qemu_file_new_mem) but writes only to descriptors, so the writer here
 * is the product's own fd path (its buffer, the big-block bypass,
 * total_bytes) over a memfd, read back whole.  A stream written with it is
 * byte for byte what a socket would carry.
 */
#ifndef QMIG_TESTS_UNIT_LIB_MEM_FILE_H
#define QMIG_TESTS_UNIT_LIB_MEM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "migration/qemu_file.h"

/* A writable qemu_file over a fresh memfd; close it with qemu_file_close. */
struct qemu_file *mem_file_writer(void);

/*
 * Flushes f and returns a copy of every byte written to it so far (*len
 * of them; free() the copy).  Fails the test if the stream has an error.
 */
uint8_t *mem_file_contents(struct qemu_file *f, size_t *len);

#endif
