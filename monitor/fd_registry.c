#include "monitor/fd_registry.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xalloc.h"

void fd_registry_init(struct fd_registry *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void fd_registry_release(struct fd_registry *r)
{
	for (int i = 0; i < r->count; i++) {
		close(r->entries[i].fd);
		free(r->entries[i].name);
	}
	r->count = 0;
	pthread_mutex_destroy(&r->lock);
}

static int find_locked(struct fd_registry *r, const char *name)
{
	for (int i = 0; i < r->count; i++)
		if (!strcmp(r->entries[i].name, name))
			return i;
	return -1;
}

static void remove_locked(struct fd_registry *r, int i)
{
	free(r->entries[i].name);
	r->entries[i] = r->entries[--r->count];
}

bool fd_registry_put(struct fd_registry *r, const char *name, int fd)
{
	int old = -1;
	bool ok = true;

	pthread_mutex_lock(&r->lock);
	int i = find_locked(r, name);
	if (i >= 0) {
		old = r->entries[i].fd;
		r->entries[i].fd = fd;
	} else if (r->count < FD_REGISTRY_MAX) {
		r->entries[r->count].name = xstrdup(name);
		r->entries[r->count].fd = fd;
		r->count++;
	} else {
		old = fd;
		ok = false;
	}
	pthread_mutex_unlock(&r->lock);
	if (old >= 0)
		close(old);
	return ok;
}

int fd_registry_take(struct fd_registry *r, const char *name)
{
	int fd = -1;

	pthread_mutex_lock(&r->lock);
	int i = find_locked(r, name);
	if (i >= 0) {
		fd = r->entries[i].fd;
		remove_locked(r, i);
	}
	pthread_mutex_unlock(&r->lock);
	return fd;
}

bool fd_registry_has(struct fd_registry *r, const char *name)
{
	pthread_mutex_lock(&r->lock);
	bool found = find_locked(r, name) >= 0;
	pthread_mutex_unlock(&r->lock);
	return found;
}

bool fd_registry_close(struct fd_registry *r, const char *name)
{
	int fd = fd_registry_take(r, name);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}
