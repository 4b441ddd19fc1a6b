/*
 * Named file descriptors: what QMP `getfd` stores and `closefd` and
 * `fd:NAME` migration URIs use.  QEMU keeps them per monitor; qmig keeps
 * one registry per QMP server, shared by its sessions (a descriptor
 * passed on one connection can be used from another).
 *
 * Thread safety: every function takes the registry's own lock, which
 * nests under no other lock and calls nothing while held.
 * Limits: at most FD_REGISTRY_MAX names; names up to 255 bytes.
 */
#ifndef QMIG_MONITOR_FD_REGISTRY_H
#define QMIG_MONITOR_FD_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>

#define FD_REGISTRY_MAX 64

struct fd_registry_entry {
	char *name;
	int fd;
};

struct fd_registry {
	pthread_mutex_t lock;   /* guards entries and count */
	struct fd_registry_entry entries[FD_REGISTRY_MAX];
	int count;
};

void fd_registry_init(struct fd_registry *r);
void fd_registry_release(struct fd_registry *r); /* closes every fd */

/*
 * Stores fd (ownership passes to the registry) under name, replacing
 * and closing an older one of that name.  false (fd closed) when full.
 */
bool fd_registry_put(struct fd_registry *r, const char *name, int fd);
/* Removes name and returns its fd (the caller owns it), or -1. */
int fd_registry_take(struct fd_registry *r, const char *name);
bool fd_registry_has(struct fd_registry *r, const char *name);
/* Removes and closes; false when name is unknown. */
bool fd_registry_close(struct fd_registry *r, const char *name);

#endif
