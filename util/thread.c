#include "util/thread.h"

#include <string.h>

#include "util/error.h"

bool thread_start(pthread_t *tid, void *(*fn)(void *), void *arg,
		  const char *name, struct error **errp)
{
	int rc = pthread_create(tid, NULL, fn, arg);
	if (rc) {
		error_setf_code(errp, rc, "cannot create the %s thread: %s",
				name, strerror(rc));
		return false;
	}
	/* A name that does not fit is only cosmetic: keep the thread. */
	pthread_setname_np(*tid, name);
	return true;
}
