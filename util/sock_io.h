/* Whole-buffer socket I/O that survives signals and short transfers. */
#ifndef QMIG_UTIL_SOCK_IO_H
#define QMIG_UTIL_SOCK_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Sends all len bytes (no SIGPIPE); false if the peer is gone. */
bool sock_send_all(int fd, const void *buf, size_t len);

/* Reads exactly len bytes; false at EOF or on error. */
bool fd_read_exact(int fd, void *buf, size_t len);

/*
 * The vector forms, for a header and its pages in one call: iov[0..n) is
 * consumed (its entries are advanced).  sock_sendv_all: no SIGPIPE; false
 * with errno set if the peer is gone.  fd_readv_exact: false at EOF
 * (errno 0) or on error (errno set).
 */
bool sock_sendv_all(int fd, struct iovec *iov, int n);
/* sock_sendv_all with more sendmsg flags (MSG_ZEROCOPY); *calls, unless
 * NULL, counts the sendmsg calls that sent something. */
bool sock_sendv_all_flags(int fd, struct iovec *iov, int n, int flags,
			  unsigned *calls);
bool fd_readv_exact(int fd, struct iovec *iov, int n);

#endif
