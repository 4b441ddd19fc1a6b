/*
 * MSG_ZEROCOPY sends on a TCP socket (zero-copy-send): the kernel sends
 * from the caller's pages instead of copying them, and tells on the
 * socket's error queue when it no longer needs them, and whether it
 * copied after all (as on loopback and between local namespaces, where
 * the receiver's copy is the only one).  The pages must stay mapped until
 * then; their contents may change, and go out as they are when sent.
 *
 * One thread a socket: the struct is that thread's own.
 */
#ifndef QMIG_UTIL_ZERO_COPY_H
#define QMIG_UTIL_ZERO_COPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct zero_copy {
	int fd;
	uint64_t sent;    /* sendmsg calls with MSG_ZEROCOPY that sent */
	uint64_t done;    /* of those, acknowledged on the error queue */
	bool copied;      /* an acknowledged one was copied after all */
};

/* SO_ZEROCOPY on fd; false (errno set) where the kernel cannot, as on
 * unix sockets. */
bool zero_copy_enable(struct zero_copy *zc, int fd);

/* All of iov[0..n) with MSG_ZEROCOPY; false with errno (ENOBUFS: the
 * locked-memory limit) as sock_sendv_all. */
bool zero_copy_sendv(struct zero_copy *zc, struct iovec *iov, int n);

/*
 * Waits until every send so far was acknowledged.  Returns 1 if one of
 * them was copied since the last flush, 0 if none was, -1 with errno on
 * an error, or when stop(opaque) says so (checked every 100 ms).
 */
int zero_copy_flush(struct zero_copy *zc, bool (*stop)(void *opaque),
		    void *opaque);

#endif
