#include "util/zero_copy.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "util/sock_io.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

bool zero_copy_enable(struct zero_copy *zc, int fd)
{
	memset(zc, 0, sizeof(*zc));
	zc->fd = fd;
	int on = 1;
	return setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &on, sizeof(on)) == 0;
}

bool zero_copy_sendv(struct zero_copy *zc, struct iovec *iov, int n)
{
	unsigned calls = 0;
	bool ok = sock_sendv_all_flags(zc->fd, iov, n, MSG_ZEROCOPY, &calls);
	zc->sent += calls;
	return ok;
}

/* Takes what the error queue holds now; false with errno when reading it
 * failed other than for being empty. */
static bool read_error_queue(struct zero_copy *zc)
{
	for (;;) {
		char control[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
		struct msghdr msg = { .msg_control = control,
				      .msg_controllen = sizeof(control) };
		if (recvmsg(zc->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return errno == EAGAIN || errno == EINTR;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm;
		     cm = CMSG_NXTHDR(&msg, cm)) {
			if (!((cm->cmsg_level == SOL_IP &&
			       cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 &&
			       cm->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			if (ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			if (ee.ee_errno) {
				errno = (int)ee.ee_errno;
				return false;
			}
			/* sends ee_info..ee_data, counted from 0 */
			zc->done += (uint64_t)(ee.ee_data - ee.ee_info) + 1;
			if (ee.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				zc->copied = true;
		}
	}
}

int zero_copy_flush(struct zero_copy *zc, bool (*stop)(void *opaque),
		    void *opaque)
{
	while (zc->done < zc->sent) {
		if (!read_error_queue(zc))
			return -1;
		if (zc->done >= zc->sent)
			break;
		if (stop && stop(opaque)) {
			errno = ECANCELED;
			return -1;
		}
		/* the error queue's readiness is POLLERR */
		struct pollfd pfd = { .fd = zc->fd, .events = 0 };
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			return -1;
	}
	bool copied = zc->copied;
	zc->copied = false;
	return copied ? 1 : 0;
}
