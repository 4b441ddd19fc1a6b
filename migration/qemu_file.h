/*
 * The buffered migration stream over a file descriptor (socket, pipe or
 * file), or over a memory buffer for tests and fuzzing.  Big-endian helpers
 * for QEMU's wire format.
 *
 * Errors are sticky: after the first failed read or write every call is a
 * no-op (reads return zeros) and qemu_file_error() reports the errno value,
 * so that parsers can read a whole record and check once.
 *
 * Threads: one qemu_file is used by one thread at a time;
 * qemu_file_shutdown() may be called from any thread to make a blocked
 * read or write fail at once (migrate_cancel).
 */
#ifndef QMIG_MIGRATION_QEMU_FILE_H
#define QMIG_MIGRATION_QEMU_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration/ram_wire.h"

#define QEMU_FILE_BUF_SIZE (256 * 1024)

struct qemu_file {
	int fd;                 /* -1 for a memory stream */
	bool writable;
	uint8_t *buf;           /* QEMU_FILE_BUF_SIZE bytes (fd streams) */
	const uint8_t *mem;     /* memory stream: the bytes to read */
	size_t pos, len;        /* read cursor and fill of buf (or mem) */
	int error;              /* first errno, 0 while fine */
	uint64_t total_bytes;   /* bytes put or got so far */
	atomic_bool shut_down;
};

/* Takes ownership of fd (closed by qemu_file_close). */
struct qemu_file *qemu_file_new_fd(int fd, bool writable);
/* Reads from data[0..len); the caller keeps data alive. */
struct qemu_file *qemu_file_new_mem(const uint8_t *data, size_t len);
/* Flushes (writers), closes, frees; returns the first error (0 if none). */
int qemu_file_close(struct qemu_file *f);

int qemu_file_error(const struct qemu_file *f);
void qemu_file_set_error(struct qemu_file *f, int err);
void qemu_file_shutdown(struct qemu_file *f);

void qemu_put_u8(struct qemu_file *f, uint8_t v);
void qemu_put_be16(struct qemu_file *f, uint16_t v);
void qemu_put_be32(struct qemu_file *f, uint32_t v);
void qemu_put_be64(struct qemu_file *f, uint64_t v);
void qemu_put_buffer(struct qemu_file *f, const uint8_t *data, size_t len);
/* u8 length + bytes (section and block names); len must be <=
 * WIRE_STRING8_MAX. */
void qemu_put_string8(struct qemu_file *f, const char *s);
int qemu_file_flush(struct qemu_file *f);

uint8_t qemu_get_u8(struct qemu_file *f);
uint16_t qemu_get_be16(struct qemu_file *f);
uint32_t qemu_get_be32(struct qemu_file *f);
uint64_t qemu_get_be64(struct qemu_file *f);
/* Reads exactly len bytes; on EOF or error sets the error (EIO at EOF). */
bool qemu_get_buffer(struct qemu_file *f, uint8_t *dst, size_t len);
/* Reads a string8 into dst, NUL-terminated (cut short: the bytes that
 * came). */
bool qemu_get_string8(struct qemu_file *f, char dst[WIRE_STRING8_BUF]);
/* Copies the next len bytes (at most QEMU_FILE_PEEK_MAX) into dst without
 * consuming them, reading more from the fd as needed; returns how many
 * there were (fewer at EOF or on an error), as QEMU's qemu_peek_buffer. */
#define QEMU_FILE_PEEK_MAX 512
size_t qemu_peek_buffer(struct qemu_file *f, uint8_t *dst, size_t len);
/* Discards len bytes. */
bool qemu_skip(struct qemu_file *f, size_t len);
/* True when the stream ended cleanly at this point (no byte left). */
bool qemu_file_at_eof(struct qemu_file *f);

#endif
