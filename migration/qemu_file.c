#include "migration/qemu_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/xalloc.h"

struct qemu_file *qemu_file_new_fd(int fd, bool writable)
{
	struct qemu_file *f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->writable = writable;
	f->buf = xmalloc(QEMU_FILE_BUF_SIZE);
	return f;
}

struct qemu_file *qemu_file_new_mem(const uint8_t *data, size_t len)
{
	struct qemu_file *f = xcalloc(1, sizeof(*f));
	f->fd = -1;
	f->mem = data;
	f->len = len;
	return f;
}

int qemu_file_error(const struct qemu_file *f)
{
	return f->error;
}

void qemu_file_set_error(struct qemu_file *f, int err)
{
	if (!f->error)
		f->error = err ? err : EIO;
}

void qemu_file_shutdown(struct qemu_file *f)
{
	atomic_store(&f->shut_down, true);
	if (f->fd >= 0)
		shutdown(f->fd, SHUT_RDWR);
}

static void write_out(struct qemu_file *f, const uint8_t *data, size_t len)
{
	while (len && !f->error) {
		if (atomic_load(&f->shut_down)) {
			qemu_file_set_error(f, EPIPE);
			break;
		}
		ssize_t n = write(f->fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			qemu_file_set_error(f, errno);
			break;
		}
		data += n;
		len -= (size_t)n;
	}
}

int qemu_file_flush(struct qemu_file *f)
{
	if (f->writable && f->len && !f->error)
		write_out(f, f->buf, f->len);
	f->len = 0;
	return f->error;
}

int qemu_file_close(struct qemu_file *f)
{
	if (!f)
		return 0;
	qemu_file_flush(f);
	int err = f->error;
	if (f->fd >= 0 && close(f->fd) < 0 && !err && f->writable)
		err = errno;
	free(f->buf);
	free(f);
	return err;
}

void qemu_put_buffer(struct qemu_file *f, const uint8_t *data, size_t len)
{
	if (f->error)
		return;
	f->total_bytes += len;
	if (len >= QEMU_FILE_BUF_SIZE / 2) {
		/* Big blocks skip the copy. */
		qemu_file_flush(f);
		write_out(f, data, len);
		return;
	}
	if (f->len + len > QEMU_FILE_BUF_SIZE)
		qemu_file_flush(f);
	memcpy(f->buf + f->len, data, len);
	f->len += len;
}

void qemu_put_u8(struct qemu_file *f, uint8_t v)
{
	qemu_put_buffer(f, &v, 1);
}

void qemu_put_be16(struct qemu_file *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	qemu_put_buffer(f, b, sizeof(b));
}

void qemu_put_be32(struct qemu_file *f, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
	qemu_put_buffer(f, b, sizeof(b));
}

void qemu_put_be64(struct qemu_file *f, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	qemu_put_buffer(f, b, sizeof(b));
}

void qemu_put_string8(struct qemu_file *f, const char *s)
{
	size_t len = strlen(s);
	if (len > WIRE_STRING8_MAX)
		len = WIRE_STRING8_MAX; /* callers only pass names they checked */
	qemu_put_u8(f, (uint8_t)len);
	qemu_put_buffer(f, (const uint8_t *)s, len);
}

/* Makes at least one unread byte available; false at EOF or on error. */
static bool fill(struct qemu_file *f)
{
	if (f->pos < f->len)
		return true;
	if (f->error || f->fd < 0)
		return false;
	for (;;) {
		if (atomic_load(&f->shut_down)) {
			qemu_file_set_error(f, EIO);
			return false;
		}
		ssize_t n = read(f->fd, f->buf, QEMU_FILE_BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			qemu_file_set_error(f, errno);
			return false;
		}
		f->pos = 0;
		f->len = (size_t)n;
		return n > 0;
	}
}

static const uint8_t *read_base(const struct qemu_file *f)
{
	return f->fd < 0 ? f->mem : f->buf;
}

bool qemu_get_buffer(struct qemu_file *f, uint8_t *dst, size_t len)
{
	/* Sticky, as the header promises: bytes still buffered after an
	 * error are not handed out (nor counted). */
	if (f->error)
		return false;
	while (len) {
		if (!fill(f)) {
			/* A stream cut short is an I/O error, as in QEMU. */
			qemu_file_set_error(f, EIO);
			return false;
		}
		size_t n = f->len - f->pos < len ? f->len - f->pos : len;
		if (dst) {
			memcpy(dst, read_base(f) + f->pos, n);
			dst += n;
		}
		f->pos += n;
		f->total_bytes += n;
		len -= n;
	}
	return !f->error;
}

/* At least `want` unread bytes buffered, unless the stream ends first:
 * the unread rest moves to the front and the fd fills the space after. */
static void fill_at_least(struct qemu_file *f, size_t want)
{
	while (f->len - f->pos < want && !f->error && f->fd >= 0) {
		if (atomic_load(&f->shut_down)) {
			qemu_file_set_error(f, EIO);
			return;
		}
		memmove(f->buf, f->buf + f->pos, f->len - f->pos);
		f->len -= f->pos;
		f->pos = 0;
		ssize_t n = read(f->fd, f->buf + f->len,
				 QEMU_FILE_BUF_SIZE - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			qemu_file_set_error(f, errno);
		if (n <= 0)
			return;
		f->len += (size_t)n;
	}
}

size_t qemu_peek_buffer(struct qemu_file *f, uint8_t *dst, size_t len)
{
	if (len > QEMU_FILE_PEEK_MAX)
		len = QEMU_FILE_PEEK_MAX;
	fill_at_least(f, len);
	if (f->error)
		return 0;
	size_t n = f->len - f->pos < len ? f->len - f->pos : len;
	memcpy(dst, read_base(f) + f->pos, n);
	return n;
}

bool qemu_skip(struct qemu_file *f, size_t len)
{
	return qemu_get_buffer(f, NULL, len);
}

bool qemu_file_at_eof(struct qemu_file *f)
{
	return !fill(f) && !f->error;
}

uint8_t qemu_get_u8(struct qemu_file *f)
{
	uint8_t v = 0;
	if (!qemu_get_buffer(f, &v, 1))
		return 0;
	return v;
}

/*
 * A number cut short keeps the bytes that came, the missing ones 0, as
 * QEMU reads byte by byte: its messages then quote that value ("read
 * 0x0 expected 0x2").
 */
uint16_t qemu_get_be16(struct qemu_file *f)
{
	uint8_t b[2] = { 0 };
	(void)qemu_get_buffer(f, b, sizeof(b));
	return (uint16_t)(b[0] << 8 | b[1]);
}

uint32_t qemu_get_be32(struct qemu_file *f)
{
	uint8_t b[4] = { 0 };
	(void)qemu_get_buffer(f, b, sizeof(b));
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

uint64_t qemu_get_be64(struct qemu_file *f)
{
	uint64_t hi = qemu_get_be32(f);
	return hi << 32 | qemu_get_be32(f);
}

bool qemu_get_string8(struct qemu_file *f, char dst[WIRE_STRING8_BUF])
{
	uint8_t len = qemu_get_u8(f);
	/* cut short: what came ("Unknown ramblock \"r\"", as QEMU) */
	memset(dst, 0, (size_t)len + 1);
	return qemu_get_buffer(f, (uint8_t *)dst, len);
}
