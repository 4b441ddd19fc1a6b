/*
 * QMP on sockets: `-qmp unix:PATH,server=on,wait=off`, `-qmp
 * tcp:HOST:PORT,server=on,wait=off`, and libvirt's `-chardev socket,...
 * -mon chardev=ID,mode=control`.  Each connection gets a QMP session
 * (monitor/qmp.h) with a reader thread and a writer thread; at most
 * MONITOR_MAX_CONNECTIONS at once, HMP sessions included (one more reads
 * a QMP error object and is closed).  On unix sockets descriptors passed
 * as SCM_RIGHTS ancillary data are kept for `getfd`.  A unix socket file
 * gets mode 0600.
 *
 * Limits: a client that leaves more than QMP_MAX_OUTBOX_BYTES of replies
 * and events unread is disconnected (so that events never block the
 * engine); at most QMP_MAX_FDS_PER_MSG descriptors per message are kept.
 */
#ifndef QMIG_MONITOR_QMP_SOCKET_H
#define QMIG_MONITOR_QMP_SOCKET_H

#include <stdbool.h>

#include "monitor/chardev.h"
#include "monitor/qmp.h"
#include "util/error.h"

#define QMP_MAX_OUTBOX_BYTES (16u << 20)
#define QMP_MAX_FDS_PER_MSG 16

/*
 * Binds and listens now (unix or tcp as in spec); a thread accepts
 * sessions from then on.  label is the chardev id query-chardev shows.
 */
bool qmp_socket_start(struct qmp_server *srv, const struct chardev_spec *spec,
		      const char *label, struct error **errp);

/* The same on a socket that is already listening (libvirt's fd=N). */
bool qmp_socket_start_fd(struct qmp_server *srv, int listen_fd,
			 const char *label, const char *filename,
			 struct error **errp);

#endif
