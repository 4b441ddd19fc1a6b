/*
 * The QMP server: its session list and the event broadcaster that is
 * vm->event_fn (contract and lock order in qmp.h).
 *
 * Events come from the engine with vm->lock held (vm_emit_event_locked)
 * or from QMP commands; this file never takes vm->lock, only
 * server->lock, and hands each session a finished line through its
 * non-blocking send callback.  So the order in which events reach a
 * client is the order in which they were emitted, and a command's events
 * precede its reply (both are queued by the same thread in that order).
 */
#include "monitor/qmp.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "migration/transport.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* QEMU 7.2's name and data for each of the engine's events. */
static void event_from_vm(void *opaque, const struct vm_event *ev)
{
	struct qmp_server *srv = opaque;
	const char *name = NULL;
	json_t *data = NULL;

	switch (ev->kind) {
	case VM_EVENT_STOP:
		name = "STOP";
		break;
	case VM_EVENT_RESUME:
		name = "RESUME";
		break;
	case VM_EVENT_MIGRATION:
		name = "MIGRATION";
		data = json_pack("{s:s}", "status", ev->status);
		break;
	case VM_EVENT_MIGRATION_PASS:
		name = "MIGRATION_PASS";
		data = json_pack("{s:o}", "pass", qmp_json_u64(ev->pass));
		break;
	case VM_EVENT_RESET:
		/* HMP's system_reset is QMP's, so QEMU gives QMP's reason. */
		name = "RESET";
		data = json_pack("{s:b,s:s}", "guest", 0, "reason",
				 "host-qmp-system-reset");
		break;
	case VM_EVENT_POWERDOWN:
		name = "POWERDOWN";
		break;
	case VM_EVENT_SHUTDOWN:
		name = "SHUTDOWN";
		data = json_pack("{s:b,s:s}", "guest", 1, "reason",
				 "guest-shutdown");
		break;
	case VM_EVENT_HOST_SIGNAL:
		name = "SHUTDOWN";
		data = json_pack("{s:b,s:s}", "guest", 0, "reason",
				 "host-signal");
		break;
	}
	qmp_server_emit(srv, name, data);
	json_decref(data);
}

void qmp_server_flush(struct qmp_server *srv)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec +
			   (int64_t)QMP_EXIT_FLUSH_MS * 1000000;
	pthread_mutex_lock(&srv->lock);
	for (struct qmp_session *s = srv->sessions; s; s = s->next)
		if (s->ops->flush)
			s->ops->flush(s->opaque, deadline);
	pthread_mutex_unlock(&srv->lock);
}

static bool fd_name_known(void *opaque, const char *name)
{
	struct qmp_server *srv = opaque;
	return fd_registry_has(&srv->fds, name);
}

static int fd_take(void *opaque, const char *name)
{
	struct qmp_server *srv = opaque;
	return fd_registry_take(&srv->fds, name);
}

struct transport_fd_names qmp_server_fd_names(struct qmp_server *srv)
{
	return (struct transport_fd_names){ fd_name_known, fd_take, srv };
}

void qmp_server_init(struct qmp_server *srv, struct vm *vm)
{
	memset(srv, 0, sizeof(*srv));
	srv->vm = vm;
	pthread_mutex_init(&srv->lock, NULL);
	fd_registry_init(&srv->fds);
	pthread_mutex_lock(&vm->lock);
	vm->event_fn = event_from_vm;
	vm->event_opaque = srv;
	pthread_mutex_unlock(&vm->lock);
}

void qmp_server_add_chardev(struct qmp_server *srv, const char *label,
			    const char *filename)
{
	pthread_mutex_lock(&srv->vm->lock);
	vm_add_chardev_locked(srv->vm, label, filename);
	pthread_mutex_unlock(&srv->vm->lock);
}

void qmp_server_emit(struct qmp_server *srv, const char *event,
		     const json_t *data)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);

	json_t *msg = json_object();
	json_t *ts = json_object();
	json_object_set_new(ts, "seconds", json_integer(tv.tv_sec));
	json_object_set_new(ts, "microseconds", json_integer(tv.tv_usec));
	json_object_set_new(msg, "timestamp", ts);
	json_object_set_new(msg, "event", json_string(event));
	if (data)
		json_object_set(msg, "data", (json_t *)data);

	struct strbuf line;
	strbuf_init(&line);
	qmp_json_dump(msg, &line);
	strbuf_addstr(&line, "\r\n");
	json_decref(msg);

	pthread_mutex_lock(&srv->lock);
	for (struct qmp_session *s = srv->sessions; s; s = s->next)
		if (s->negotiated)
			s->ops->send(s->opaque, line.buf, line.len);
	pthread_mutex_unlock(&srv->lock);
	strbuf_release(&line);
}
