#include "migration/incoming.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/options.h"
#include "migration/incoming_accept.h"
#include "migration/multifd_recv.h"
#include "migration/ram_load.h"
#include "migration/return_path.h"
#include "migration/savevm.h"
#include "util/thread.h"
#include "util/xalloc.h"

struct incoming *incoming_new(void)
{
	struct incoming *in = xcalloc(1, sizeof(*in));
	in->listen_fd = -1;
	in->child = -1;
	return in;
}

void incoming_free(struct incoming *in)
{
	if (!in)
		return;
	transport_addr_release(&in->addr);
	free(in->socket_address);
	free(in);
}

static void set_status_locked(struct vm *vm, enum mig_status status)
{
	vm->incoming->status = status;
	migration_announce_status_locked(vm, status);
}

static void print_warning(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "qmig: %s\n", msg);
}

/* QEMU's end for a destination whose load failed. */
static void __attribute__((noreturn))
fail_and_exit(struct vm *vm, struct error *err, int code)
{
	pthread_mutex_lock(&vm->lock);
	set_status_locked(vm, MIG_STATUS_FAILED);
	pthread_mutex_unlock(&vm->lock);
	fflush(stdout);
	if (err && err->msg[0]) {
		const char *line = err->msg;
		for (;;) {
			const char *nl = strchr(line, '\n');
			int len = nl ? (int)(nl - line) : (int)strlen(line);
			fprintf(stderr, "qmig: %.*s\n", len, line);
			if (!nl)
				break;
			line = nl + 1;
		}
	}
	fprintf(stderr, "qmig: load of migration failed: %s\n",
		strerror(code));
	fflush(stderr);
	_exit(1);
}

/* x-decompress-engine, whose names are decompress_pool's. */
static enum decompress_engine decompress_engine(struct mig_options *o)
{
	uint64_t v = mig_options_num(o, MIG_PARAM_X_DECOMPRESS_ENGINE);
	int e = decompress_engine_lookup(
		mig_param_table[MIG_PARAM_X_DECOMPRESS_ENGINE].enum_names[v]);

	return e < 0 ? DECOMPRESS_LIBDEFLATE : (enum decompress_engine)e;
}

/* At the first connection: the multifd receiver if the capability is on
 * (its channel count and method as set now). */
static struct multifd_recv *make_multifd_recv(void *opaque,
					      struct incoming_accept *ia)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	bool on = mig_options_cap(vm->options, MIG_CAP_MULTIFD);
	unsigned channels = (unsigned)mig_options_num(
		vm->options, MIG_PARAM_MULTIFD_CHANNELS);
	enum multifd_method method = (enum multifd_method)mig_options_num(
		vm->options, MIG_PARAM_MULTIFD_COMPRESSION);
	pthread_mutex_unlock(&vm->lock);
	return on ? multifd_recv_new(channels, method, &vm->ram,
				     incoming_accept_fail,
				     incoming_accept_pending, ia)
		  : NULL;
}

/* Stops the channels and the listener; a failure they saw replaces
 * *err (it is the cause of the main stream's error). */
static bool end_channels(struct incoming_accept *ia, struct error **err)
{
	if (!ia)
		return false;
	incoming_accept_set_main_file(ia, NULL);
	struct multifd_recv *mr = incoming_accept_multifd(ia);
	if (mr)
		multifd_recv_stop(mr);
	struct error *cause = NULL;
	bool replaced = incoming_accept_failed(ia, &cause);
	if (replaced) {
		error_free(*err);
		*err = cause;
	}
	incoming_accept_stop(ia);
	multifd_recv_free(mr);
	return replaced;
}

/* The channels, then the main stream; reset: a failure that the source
 * is to know even without return path (transport.h).  Returns what
 * end_channels does. */
static bool end_streams(struct incoming_accept *ia, struct qemu_file *f,
			bool reset, struct error **err)
{
	bool channel_cause = end_channels(ia, err);
	if (reset)
		transport_reset_on_close(f->fd);
	qemu_file_close(f);
	return channel_cause;
}

/* The whole stream is in: the guest clock and run state the source
 * sent, then `completed`. */
static void loaded(struct vm *vm, const struct savevm_load_result *result)
{
	pthread_mutex_lock(&vm->lock);
	/* The guest's time goes on from the source's (the VM never ran
	 * here: its clock is stopped). */
	if (result->has_timer)
		guest_clock_load(&vm->clock, result->cpu_ticks_offset,
				 result->cpu_clock_offset);
	/* As QEMU: run if the source ran (or sent no state) and no -S; the
	 * run state is set, and RESUME sent, before `completed`. */
	bool source_ran = !result->has_globalstate ||
			  !strcmp(result->runstate, "running");
	if (vm->autostart && source_ran) {
		vm_start_locked(vm);
	} else {
		vm->runstate = source_ran ? RUNSTATE_PAUSED
			       : !strcmp(result->runstate, "prelaunch")
					? RUNSTATE_PRELAUNCH
					: RUNSTATE_PAUSED;
		pthread_cond_broadcast(&vm->changed);
	}
	set_status_locked(vm, MIG_STATUS_COMPLETED);
	pthread_mutex_unlock(&vm->lock);
}

static void *incoming_thread(void *opaque)
{
	struct vm *vm = opaque;
	struct incoming *in = vm->incoming;
	struct error *err = NULL;
	struct incoming_accept *ia = NULL;

	int fd = in->listen_fd;
	if (!in->listen_is_stream) {
		ia = incoming_accept_start(in->listen_fd, make_multifd_recv,
					   vm, &err);
		in->listen_fd = -1;
		fd = ia ? incoming_accept_main(ia, &err) : -1;
		if (fd < 0) {
			(void)end_channels(ia, &err);
			fail_and_exit(vm, err, err && err->code ? err->code : EIO);
		}
	}
	struct multifd_recv *mr = ia ? incoming_accept_multifd(ia) : NULL;
	pthread_mutex_lock(&vm->lock);
	set_status_locked(vm, MIG_STATUS_ACTIVE);
	bool compress = mig_options_cap(vm->options, MIG_CAP_COMPRESS);
	unsigned dthreads = (unsigned)mig_options_num(
		vm->options, MIG_PARAM_DECOMPRESS_THREADS);
	enum decompress_engine engine = decompress_engine(vm->options);
	pthread_mutex_unlock(&vm->lock);

	struct qemu_file *f = qemu_file_new_fd(fd, false);
	if (ia)
		incoming_accept_set_main_file(ia, f);
	if (mr)
		multifd_recv_set_main_fd(mr, fd);
	struct ram_load rl;
	ram_load_init(&rl, &vm->ram, compress, dthreads);
	rl.decompress_engine = engine;
	ram_load_set_multifd(&rl, mr);
	struct savevm_load_result result;
	/* Sockets (tcp, unix, a passed fd) can answer on a return path;
	 * exec's pipe cannot. */
	int type;
	socklen_t type_len = sizeof(type);
	int rp_fd = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0
			    ? fd
			    : -1;
	const struct savevm_load_opts opts = {
		.warn = print_warning, .rp_fd = rp_fd,
		.local_uuid = vm->has_uuid ? vm->uuid : NULL,
	};
	int ret = savevm_load(f, &rl, &result, &opts, &err);
	/* Tell the source how it ended before the socket closes. */
	if (result.return_path_open)
		rp_send(fd, RP_MSG_SHUT, ret < 0 ? 1 : 0);
	bool channel_cause = end_streams(ia, f, ret < 0 && rp_fd >= 0, &err);
	/* after the channels: they use its known-zero map and huge probe */
	ram_load_release(&rl);
	transport_reap(in->child);
	if (ret < 0)
		fail_and_exit(vm, err,
			      channel_cause && err->code ? err->code : -ret);

	loaded(vm, &result);
	return NULL;
}

bool incoming_start(struct vm *vm, const char *uri,
		    const struct transport_fd_names *fds, struct error **errp)
{
	struct incoming *in = vm->incoming;
	if (!in) {
		error_setf(errp,
			   "'-incoming' was not specified on the command line");
		return false;
	}
	if (in->started) {
		error_setf(errp,
			   "The incoming migration has already been started");
		return false;
	}
	struct transport_addr addr;
	if (!transport_parse(uri, &addr, errp))
		return false;
	if (!transport_check_fd_name(&addr, fds, errp)) {
		transport_addr_release(&addr);
		return false;
	}
	int fd = transport_listen(&addr, fds, &in->listen_is_stream, &in->child,
				  errp);
	if (fd < 0) {
		transport_addr_release(&addr);
		return false;
	}
	in->addr = addr;
	in->listen_fd = fd;
	in->started = true;
	if (addr.kind == TRANSPORT_TCP || addr.kind == TRANSPORT_UNIX)
		in->socket_address = transport_addr_describe(&addr);
	/* QEMU 7.2 announces this one even without the events capability. */
	in->status = MIG_STATUS_SETUP;
	vm_emit_event_locked(vm, &(struct vm_event){
		.kind = VM_EVENT_MIGRATION,
		.status = mig_status_name(MIG_STATUS_SETUP) });
	pthread_cond_broadcast(&vm->changed);
	if (!thread_start(&in->thread, incoming_thread, vm, "incoming", errp)) {
		close(in->listen_fd);
		in->listen_fd = -1;
		set_status_locked(vm, MIG_STATUS_FAILED);
		return false;
	}
	pthread_detach(in->thread);
	return true;
}
