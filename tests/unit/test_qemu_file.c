/*
 * qemu_file: the big-endian helpers byte for byte both ways, string8's
 * limit, buffering that keeps small and big writes in order, reads that
 * refill across the buffer's end, peeks, sticky errors (EOF is EIO, a closed
 * reader is EPIPE, the first error wins, nothing is read or counted
 * after it), and shutdown waking a reader or writer blocked on a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/qemu_file.h"
#include "tests/unit/lib/mem_file.h"
#include "util/xalloc.h"

static void put_sample(struct qemu_file *f)
{
	qemu_put_u8(f, 0x01);
	qemu_put_be16(f, 0x0203);
	qemu_put_be32(f, 0x04050607);
	qemu_put_be64(f, 0x08090a0b0c0d0e0fULL);
	qemu_put_string8(f, "ram");
	qemu_put_buffer(f, (const uint8_t *)"xyz", 3);
}

static const uint8_t sample_bytes[] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x03, 'r', 'a', 'm', 'x', 'y', 'z',
};

static void test_put_is_big_endian(void **state)
{
	struct qemu_file *f = mem_file_writer();
	put_sample(f);
	assert_int_equal(f->total_bytes, sizeof(sample_bytes));
	size_t len;
	uint8_t *bytes = mem_file_contents(f, &len);
	assert_int_equal(len, sizeof(sample_bytes));
	assert_memory_equal(bytes, sample_bytes, len);
	assert_int_equal(qemu_file_close(f), 0);
	free(bytes);
}

static void test_get_reads_what_put_wrote(void **state)
{
	struct qemu_file *f = qemu_file_new_mem(sample_bytes,
						sizeof(sample_bytes));
	assert_false(qemu_file_at_eof(f));
	assert_int_equal(qemu_get_u8(f), 0x01);
	assert_int_equal(qemu_get_be16(f), 0x0203);
	assert_int_equal(qemu_get_be32(f), 0x04050607);
	assert_true(qemu_get_be64(f) == 0x08090a0b0c0d0e0fULL);
	char name[256];
	assert_true(qemu_get_string8(f, name));
	assert_string_equal(name, "ram");
	uint8_t xyz[3];
	assert_true(qemu_get_buffer(f, xyz, 3));
	assert_memory_equal(xyz, "xyz", 3);
	assert_true(qemu_file_at_eof(f));
	assert_int_equal(qemu_file_error(f), 0);
	assert_int_equal(f->total_bytes, sizeof(sample_bytes));
	assert_int_equal(qemu_file_close(f), 0);
}

/* A name longer than the u8 length can say is cut at 255 bytes, and a
 * 255-byte name reads back NUL-terminated. */
static void test_string8_limit(void **state)
{
	char longname[301];
	memset(longname, 'n', 300);
	longname[300] = '\0';
	struct qemu_file *f = mem_file_writer();
	qemu_put_string8(f, longname);
	size_t len;
	uint8_t *bytes = mem_file_contents(f, &len);
	assert_int_equal(len, 256);
	assert_int_equal(bytes[0], 255);
	qemu_file_close(f);

	struct qemu_file *r = qemu_file_new_mem(bytes, len);
	char name[256];
	assert_true(qemu_get_string8(r, name));
	assert_int_equal(strlen(name), 255);
	assert_true(qemu_file_at_eof(r));
	qemu_file_close(r);
	free(bytes);
}

/* Small writes are buffered, blocks of half the buffer or more skip it:
 * whatever the mix, the bytes leave in the order they were put. */
static void test_writes_keep_order(void **state)
{
	static const size_t sizes[] = {
		10, 200 << 10, 1, QEMU_FILE_BUF_SIZE / 2 - 1,
		QEMU_FILE_BUF_SIZE / 2, 7, 300 << 10, QEMU_FILE_BUF_SIZE - 3,
		QEMU_FILE_BUF_SIZE, 1000, 1000, 1000,
	};
	size_t total = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
		total += sizes[i];
	uint8_t *expect = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		expect[i] = (uint8_t)(i * 131 + (i >> 11));

	struct qemu_file *f = mem_file_writer();
	size_t at = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		qemu_put_buffer(f, expect + at, sizes[i]);
		at += sizes[i];
	}
	assert_int_equal(f->total_bytes, total);
	size_t len;
	uint8_t *got = mem_file_contents(f, &len);
	assert_int_equal(len, total);
	assert_memory_equal(got, expect, total);
	assert_int_equal(qemu_file_close(f), 0);
	free(got);
	free(expect);
}

/* A reader over a descriptor refills its buffer: values that straddle a
 * refill come out whole, big reads and skips span several. */
static void test_fd_reader_refills(void **state)
{
	size_t total = 3 * QEMU_FILE_BUF_SIZE + 123;
	uint8_t *data = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	int fd = memfd_create("qmig-test-reader", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, total), (ssize_t)total);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	struct qemu_file *f = qemu_file_new_fd(fd, false);
	size_t cut = QEMU_FILE_BUF_SIZE - 3; /* a be64 across the refill */
	assert_true(qemu_skip(f, cut));
	uint64_t want = 0;
	for (int i = 0; i < 8; i++)
		want = want << 8 | data[cut + i];
	assert_true(qemu_get_be64(f) == want);
	size_t big = QEMU_FILE_BUF_SIZE + 1000;
	uint8_t *got = xmalloc(big);
	assert_true(qemu_get_buffer(f, got, big));
	assert_memory_equal(got, data + cut + 8, big);
	size_t rest = total - cut - 8 - big;
	assert_true(qemu_skip(f, rest - 1));
	assert_int_equal(qemu_get_u8(f), data[total - 1]);
	assert_true(qemu_file_at_eof(f));
	assert_int_equal(f->total_bytes, total);
	assert_int_equal(qemu_file_close(f), 0);
	free(got);
	free(data);
}

/* A peek sees the next bytes without taking them: across the buffer's
 * end, beyond what one read of a socket brought, and short at EOF. */
static void test_peek(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct qemu_file *f = qemu_file_new_fd(sv[0], false);
	assert_int_equal(write(sv[1], "abcde", 5), 5);
	assert_int_equal(qemu_get_u8(f), 'a'); /* one read: "abcde" */
	assert_int_equal(write(sv[1], "fghij", 5), 5);
	uint8_t got[16];
	assert_int_equal(qemu_peek_buffer(f, got, 8), 8);
	assert_memory_equal(got, "bcdefghi", 8);
	assert_int_equal(f->total_bytes, 1);
	assert_true(qemu_get_buffer(f, got, 2));
	assert_memory_equal(got, "bc", 2);
	close(sv[1]);
	assert_int_equal(qemu_peek_buffer(f, got, 16), 7);
	assert_memory_equal(got, "defghij", 7);
	assert_int_equal(qemu_file_error(f), 0);
	assert_true(qemu_skip(f, 7));
	assert_true(qemu_file_at_eof(f));
	qemu_file_close(f);

	size_t total = QEMU_FILE_BUF_SIZE + 16;
	uint8_t *data = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 7);
	int fd = memfd_create("qmig-test-peek", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, total), (ssize_t)total);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	f = qemu_file_new_fd(fd, false);
	assert_true(qemu_skip(f, QEMU_FILE_BUF_SIZE - 3));
	assert_int_equal(qemu_peek_buffer(f, got, 8), 8);
	assert_memory_equal(got, data + QEMU_FILE_BUF_SIZE - 3, 8);
	assert_true(qemu_get_buffer(f, got, 16));
	assert_memory_equal(got, data + QEMU_FILE_BUF_SIZE - 3, 16);
	qemu_file_close(f);
	free(data);
}

/* A stream cut short is EIO, and from then on nothing is read: getters
 * return 0 even where bytes remain, buffers stay untouched.  A number cut
 * short keeps the bytes that came, the rest 0, as QEMU reads it. */
static void test_eof_is_sticky_eio(void **state)
{
	static const uint8_t three[] = { 0xaa, 0xbb, 0xcc };
	struct qemu_file *f = qemu_file_new_mem(three, sizeof(three));
	assert_int_equal(qemu_get_be32(f), 0xaabbcc00);
	assert_int_equal(qemu_file_error(f), EIO);
	assert_int_equal(qemu_get_u8(f), 0);
	assert_false(qemu_file_at_eof(f)); /* an error is no clean end */
	assert_int_equal(qemu_file_close(f), EIO);

	static const uint8_t bytes[] = "ABCDEFGH";
	f = qemu_file_new_mem(bytes, 8);
	assert_int_equal(qemu_get_u8(f), 'A');
	qemu_file_set_error(f, EPIPE);
	uint8_t dst[4] = { 0 };
	assert_false(qemu_get_buffer(f, dst, sizeof(dst)));
	assert_memory_equal(dst, "\0\0\0\0", 4);
	assert_int_equal(qemu_get_be16(f), 0);
	assert_false(qemu_skip(f, 1));
	assert_int_equal(f->total_bytes, 1);
	assert_int_equal(qemu_file_error(f), EPIPE);
	qemu_file_close(f);
}

static void test_first_error_wins(void **state)
{
	struct qemu_file *f = qemu_file_new_mem(NULL, 0);
	qemu_file_set_error(f, 0); /* "failed, no errno": EIO */
	assert_int_equal(qemu_file_error(f), EIO);
	qemu_file_set_error(f, EPIPE);
	assert_int_equal(qemu_file_error(f), EIO);
	qemu_file_close(f);

	f = qemu_file_new_mem(NULL, 0);
	assert_true(qemu_file_at_eof(f));
	qemu_file_set_error(f, ENOMEM);
	qemu_file_set_error(f, EINVAL);
	assert_int_equal(qemu_file_error(f), ENOMEM);
	qemu_file_close(f);
	assert_int_equal(qemu_file_close(NULL), 0);
}

static void test_truncated_string8(void **state)
{
	static const uint8_t cut[] = { 5, 'a', 'b' };
	struct qemu_file *f = qemu_file_new_mem(cut, sizeof(cut));
	char name[256];
	memset(name, 'x', sizeof(name));
	/* what came, as QEMU looks it up ("Unknown ramblock \"ab\"") */
	assert_false(qemu_get_string8(f, name));
	assert_string_equal(name, "ab");
	assert_int_equal(qemu_file_error(f), EIO);
	qemu_file_close(f);
}

/* A writer whose reader went away fails with EPIPE (SIGPIPE is ignored,
 * as in qmig), puts nothing more, and close reports it. */
static void test_write_to_closed_pipe(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	struct qemu_file *f = qemu_file_new_fd(p[1], true);
	qemu_put_be64(f, 1);
	assert_int_equal(qemu_file_flush(f), EPIPE);
	uint64_t counted = f->total_bytes;
	qemu_put_be64(f, 2);
	assert_int_equal(f->total_bytes, counted);
	assert_int_equal(qemu_file_close(f), EPIPE);
}

struct blocked {
	struct qemu_file *f;
	int error; /* the stream's error once the call returned */
};

static void *read_blocked(void *arg)
{
	struct blocked *b = arg;
	qemu_get_be32(b->f);
	b->error = qemu_file_error(b->f);
	return NULL;
}

static void *write_blocked(void *arg)
{
	struct blocked *b = arg;
	size_t n = 4 << 20; /* far more than the socket holds */
	uint8_t *data = xcalloc(1, n);
	qemu_put_buffer(b->f, data, n);
	qemu_file_flush(b->f);
	b->error = qemu_file_error(b->f);
	free(data);
	return NULL;
}

/*
 * migrate_cancel's tool: shutdown from another thread makes a read or a
 * write on a socket fail at once, whether the call was already blocked or
 * not yet started (both orders end the same, so no timing matters).
 */
static void test_shutdown_unblocks(void **state)
{
	void *(*const fns[])(void *) = { read_blocked, write_blocked };
	for (int i = 0; i < 2; i++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		struct blocked b = { .f = qemu_file_new_fd(sv[0], i == 1) };
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, fns[i], &b), 0);
		qemu_file_shutdown(b.f);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(b.error, i == 0 ? EIO : EPIPE);
		qemu_file_close(b.f);
		close(sv[1]);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_is_big_endian),
		cmocka_unit_test(test_get_reads_what_put_wrote),
		cmocka_unit_test(test_string8_limit),
		cmocka_unit_test(test_writes_keep_order),
		cmocka_unit_test(test_fd_reader_refills),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_eof_is_sticky_eio),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_truncated_string8),
		cmocka_unit_test(test_write_to_closed_pipe),
		cmocka_unit_test(test_shutdown_unblocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
