#include "tests/unit/lib/mem_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/xalloc.h"

struct qemu_file *mem_file_writer(void)
{
	int fd = memfd_create("qmig-test-stream", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return qemu_file_new_fd(fd, true);
}

uint8_t *mem_file_contents(struct qemu_file *f, size_t *len)
{
	assert_int_equal(qemu_file_flush(f), 0);
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	size_t n = (size_t)st.st_size;
	/* The bytes counted and the bytes in the file are the same bytes. */
	assert_int_equal(n, f->total_bytes);
	uint8_t *copy = xmalloc(n ? n : 1);
	size_t done = 0;
	while (done < n) {
		ssize_t got = pread(f->fd, copy + done, n - done, (off_t)done);
		assert_true(got > 0);
		done += (size_t)got;
	}
	*len = n;
	return copy;
}
