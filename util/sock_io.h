/* Whole-buffer socket I/O that survives signals and short transfers. */
#ifndef QMIG_UTIL_SOCK_IO_H
#define QMIG_UTIL_SOCK_IO_H

#include <stdbool.h>
#include <stddef.h>

/* Sends all len bytes (no SIGPIPE); false if the peer is gone. */
bool sock_send_all(int fd, const void *buf, size_t len);

/* Reads exactly len bytes; false at EOF or on error. */
bool fd_read_exact(int fd, void *buf, size_t len);

#endif
