#include "migration/return_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/sock_io.h"
#include "util/thread.h"
#include "util/xalloc.h"

bool rp_send(int fd, uint16_t type, uint32_t value)
{
	uint8_t msg[8] = { (uint8_t)(type >> 8), (uint8_t)type, 0, 4,
			   (uint8_t)(value >> 24), (uint8_t)(value >> 16),
			   (uint8_t)(value >> 8), (uint8_t)value };
	return sock_send_all(fd, msg, sizeof(msg));
}

static void end_locked(struct rp_reader *rp, const char *error)
{
	if (error && !rp->error)
		rp->error = xstrdup(error);
	rp->ended = true;
	pthread_cond_broadcast(&rp->changed);
}

static void *reader_thread(void *opaque)
{
	struct rp_reader *rp = opaque;
	uint8_t hdr[4], data[RP_MSG_MAX_LEN];
	for (;;) {
		if (!fd_read_exact(rp->fd, hdr, sizeof(hdr))) {
			pthread_mutex_lock(&rp->lock);
			end_locked(rp, "the destination closed the return path without reporting");
			pthread_mutex_unlock(&rp->lock);
			return NULL;
		}
		uint16_t type = (uint16_t)(hdr[0] << 8 | hdr[1]);
		uint16_t len = (uint16_t)(hdr[2] << 8 | hdr[3]);
		if (len > sizeof(data) || !fd_read_exact(rp->fd, data, len)) {
			pthread_mutex_lock(&rp->lock);
			end_locked(rp, "bad message on the return path");
			pthread_mutex_unlock(&rp->lock);
			return NULL;
		}
		uint32_t value = len >= 4 ? (uint32_t)data[0] << 24 |
						    (uint32_t)data[1] << 16 |
						    (uint32_t)data[2] << 8 | data[3]
					  : 0;
		pthread_mutex_lock(&rp->lock);
		if (type == RP_MSG_PONG) {
			rp->last_pong = value;
		} else if (type == RP_MSG_SHUT) {
			rp->got_shut = true;
			rp->shut_value = value;
			end_locked(rp, value ? RP_DESTINATION_FAILED : NULL);
			pthread_mutex_unlock(&rp->lock);
			return NULL;
		}
		/* Other messages (postcopy page requests...) do not occur in
		 * precopy; they are read and ignored. */
		pthread_mutex_unlock(&rp->lock);
	}
}

bool rp_reader_start(struct rp_reader *rp, int fd, struct error **errp)
{
	memset(rp, 0, sizeof(*rp));
	rp->fd = dup(fd);
	if (rp->fd < 0) {
		error_setf(errp, "cannot open the return path: %s",
			   strerror(errno));
		return false;
	}
	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->changed, NULL);
	if (!thread_start(&rp->thread, reader_thread, rp, "return-path",
			  errp)) {
		pthread_cond_destroy(&rp->changed);
		pthread_mutex_destroy(&rp->lock);
		close(rp->fd);
		rp->fd = -1;
		return false;
	}
	return true;
}

bool rp_reader_failed(struct rp_reader *rp)
{
	pthread_mutex_lock(&rp->lock);
	bool failed = rp->ended && rp->error;
	pthread_mutex_unlock(&rp->lock);
	return failed;
}

bool rp_reader_wait_shut(struct rp_reader *rp, struct error **errp)
{
	pthread_mutex_lock(&rp->lock);
	while (!rp->ended)
		pthread_cond_wait(&rp->changed, &rp->lock);
	bool ok = rp->got_shut && rp->shut_value == 0;
	if (!ok)
		error_setf(errp, "%s", rp->error ? rp->error
					       : "the return path broke");
	pthread_mutex_unlock(&rp->lock);
	return ok;
}

bool rp_reader_destination_failed(struct rp_reader *rp)
{
	shutdown(rp->fd, SHUT_WR);
	pthread_mutex_lock(&rp->lock);
	while (!rp->ended)
		pthread_cond_wait(&rp->changed, &rp->lock);
	bool failed = rp->got_shut && rp->shut_value != 0;
	pthread_mutex_unlock(&rp->lock);
	return failed;
}

void rp_reader_stop(struct rp_reader *rp)
{
	if (rp->fd < 0)
		return;
	shutdown(rp->fd, SHUT_RDWR);
	pthread_join(rp->thread, NULL);
	close(rp->fd);
	rp->fd = -1;
	free(rp->error);
	rp->error = NULL;
	pthread_mutex_destroy(&rp->lock);
	pthread_cond_destroy(&rp->changed);
}
