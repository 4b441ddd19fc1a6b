#include "util/sock_io.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

bool sock_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool fd_read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Skips what a transfer of done bytes used up; returns the new start. */
static int iov_advance(struct iovec **iov, int n, size_t done)
{
	while (n && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		n--;
	}
	if (n) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
	return n;
}

bool sock_sendv_all_flags(int fd, struct iovec *iov, int n, int flags,
			  unsigned *calls)
{
	n = iov_advance(&iov, n, 0);
	while (n) {
		/* sendmsg, not writev: MSG_NOSIGNAL keeps SIGPIPE away. */
		struct msghdr msg = { .msg_iov = iov,
				      .msg_iovlen = (size_t)(n < IOV_MAX ? n : IOV_MAX) };
		ssize_t got = sendmsg(fd, &msg, MSG_NOSIGNAL | flags);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EPIPE;
			return false;
		}
		if (calls)
			(*calls)++;
		n = iov_advance(&iov, n, (size_t)got);
	}
	return true;
}

bool sock_sendv_all(int fd, struct iovec *iov, int n)
{
	return sock_sendv_all_flags(fd, iov, n, 0, NULL);
}

bool fd_readv_exact(int fd, struct iovec *iov, int n)
{
	n = iov_advance(&iov, n, 0);
	while (n) {
		ssize_t got = readv(fd, iov, n < IOV_MAX ? n : IOV_MAX);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = 0;
			return false;
		}
		n = iov_advance(&iov, n, (size_t)got);
	}
	return true;
}
