/*
 * The QMP command table and its handlers.  The dispatcher (qmp.c) has
 * checked the members' presence and types from the row; handlers call
 * the engine functions HMP calls, with QEMU 7.2's error texts, and build
 * the replies with QEMU 7.2's members and member order (fixtures under
 * shared/fixtures/qemu-7.2/qmp/).  Handlers run with vm->lock held
 * unless the row has QMP_CMD_UNLOCKED.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/incoming.h"
#include "migration/migration.h"
#include "migration/migration_info.h"
#include "monitor/dirty_rate_cmds.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "monitor/preconditions.h"
#include "monitor/qmp.h"
#include "monitor/qmp_machine.h"
#include "monitor/qmp_options.h"
#include "util/xalloc.h"

static json_t *empty(void)
{
	return json_object();
}

/* ---- protocol and identity ---- */

static bool visit_qmp_capabilities(struct qmp_session *s, json_t *args,
				   struct error **errp)
{
	json_t *enable = json_object_get(args, "enable");
	size_t i;
	json_t *v;
	json_array_foreach(enable, i, v) {
		if (!qmp_json_is_string(v)) {
			error_setf(errp,
				   "Invalid parameter type for 'enable[%zu]', expected: string",
				   i);
			return false;
		}
		if (strcmp(json_string_value(v), "oob")) {
			/* QEMU names list elements "null" here. */
			error_setf(errp,
				   "Parameter 'null' does not accept value '%s'",
				   json_string_value(v));
			return false;
		}
	}
	return true;
}

static json_t *qmp_qmp_capabilities(struct qmp_session *s, json_t *args,
				    struct error **errp)
{
	pthread_mutex_lock(&s->server->lock);
	bool already = s->negotiated;
	if (!already) {
		s->negotiated = true;
		s->oob = json_array_size(json_object_get(args, "enable")) > 0;
	}
	pthread_mutex_unlock(&s->server->lock);
	if (already) {
		s->error_class = "CommandNotFound";
		error_setf(errp,
			   "Capabilities negotiation is already complete, command ignored");
		return NULL;
	}
	return empty();
}

static json_t *qmp_query_version(struct qmp_session *s, json_t *args,
				 struct error **errp)
{
	return qmp_version_json();
}

static json_t *qmp_query_commands(struct qmp_session *s, json_t *args,
				  struct error **errp)
{
	json_t *list = json_array();
	for (const struct qmp_command *c = qmp_commands; c->name; c++)
		json_array_append_new(list, json_pack("{s:s}", "name", c->name));
	return list;
}

static json_t *qmp_query_status(struct qmp_session *s, json_t *args,
				struct error **errp)
{
	json_t *v = json_object();
	json_object_set_new(v, "status",
			    json_string(runstate_name(s->vm->runstate)));
	json_object_set_new(v, "singlestep", json_false());
	json_object_set_new(v, "running",
			    json_boolean(vm_is_running_locked(s->vm)));
	return v;
}

static json_t *qmp_query_name(struct qmp_session *s, json_t *args,
			      struct error **errp)
{
	json_t *v = json_object();
	if (s->vm->name)
		json_object_set_new(v, "name",
				    json_string_nocheck(s->vm->name));
	return v;
}

/* ---- query-migrate ---- */

/* MigrationStats, in QEMU 7.2's member order. */
static json_t *ram_stats(const struct mig_info_ram *r)
{
	json_t *v = json_object();
	json_object_set_new(v, "total", qmp_json_u64(r->total_bytes));
	json_object_set_new(v, "postcopy-requests",
			    qmp_json_u64(r->postcopy_requests));
	json_object_set_new(v, "dirty-sync-count",
			    qmp_json_u64(r->dirty_sync_count));
	json_object_set_new(v, "multifd-bytes", qmp_json_u64(r->multifd_bytes));
	json_object_set_new(v, "pages-per-second",
			    qmp_json_u64(r->pages_per_second));
	json_object_set_new(v, "downtime-bytes",
			    qmp_json_u64(r->downtime_bytes));
	json_object_set_new(v, "page-size", qmp_json_u64(r->page_size_bytes));
	json_object_set_new(v, "remaining", qmp_json_u64(r->remaining_bytes));
	json_object_set_new(v, "postcopy-bytes",
			    qmp_json_u64(r->postcopy_bytes));
	json_object_set_new(v, "mbps", json_real(r->mbps));
	json_object_set_new(v, "transferred",
			    qmp_json_u64(r->transferred_bytes));
	json_object_set_new(v, "dirty-sync-missed-zero-copy",
			    qmp_json_u64(r->dirty_sync_missed_zero_copy));
	json_object_set_new(v, "precopy-bytes", qmp_json_u64(r->precopy_bytes));
	json_object_set_new(v, "duplicate", qmp_json_u64(r->duplicate_pages));
	json_object_set_new(v, "dirty-pages-rate",
			    qmp_json_u64(r->dirty_pages_rate));
	json_object_set_new(v, "skipped", qmp_json_u64(r->skipped_pages));
	json_object_set_new(v, "normal-bytes", qmp_json_u64(r->normal_bytes));
	json_object_set_new(v, "normal", qmp_json_u64(r->normal_pages));
	return v;
}

static json_t *xbzrle_stats(const struct mig_info_xbzrle *x)
{
	json_t *v = json_object();
	json_object_set_new(v, "encoding-rate", json_real(x->encoding_rate));
	json_object_set_new(v, "bytes", qmp_json_u64(x->bytes));
	json_object_set_new(v, "cache-size", qmp_json_u64(x->cache_size_bytes));
	json_object_set_new(v, "cache-miss-rate", json_real(x->cache_miss_rate));
	json_object_set_new(v, "pages", qmp_json_u64(x->pages));
	json_object_set_new(v, "overflow", qmp_json_u64(x->overflow));
	json_object_set_new(v, "cache-miss", qmp_json_u64(x->cache_miss));
	return v;
}

static json_t *compression_stats(const struct mig_info_compression *c)
{
	json_t *v = json_object();
	json_object_set_new(v, "compression-rate",
			    json_real(c->compression_rate));
	json_object_set_new(v, "busy", qmp_json_u64(c->busy));
	json_object_set_new(v, "compressed-size",
			    qmp_json_u64(c->compressed_size_bytes));
	json_object_set_new(v, "pages", qmp_json_u64(c->pages));
	json_object_set_new(v, "busy-rate", json_real(c->busy_rate));
	return v;
}

/* SocketAddress of a listening destination. */
static json_t *socket_address(const struct transport_addr *a)
{
	json_t *s = json_object();
	if (a->kind == TRANSPORT_UNIX) {
		json_object_set_new(s, "path", json_string_nocheck(a->path));
		json_object_set_new(s, "type", json_string("unix"));
		return s;
	}
	json_object_set_new(s, "port", json_string_nocheck(a->port));
	json_object_set_new(s, strchr(a->host, ':') ? "ipv6" : "ipv4",
			    json_true());
	json_object_set_new(s, "host", json_string_nocheck(a->host));
	json_object_set_new(s, "type", json_string("inet"));
	return s;
}

/* MigrationInfo, in QEMU 7.2's member order: its QDict's hash order
 * (tests/process/harness/qdict_order.py), which puts the throttle, never
 * seen from a -M none QEMU, second. */
static json_t *migration_info_json(const struct mig_info *info)
{
	json_t *v = json_object();
	if (info->has_expected_downtime)
		json_object_set_new(v, "expected-downtime",
				    qmp_json_u64(info->expected_downtime_ms));
	if (info->has_cpu_throttle_percentage)
		json_object_set_new(v, "cpu-throttle-percentage",
				    qmp_json_u64(info->cpu_throttle_percentage));
	if (info->has_compression)
		json_object_set_new(v, "compression",
				    compression_stats(&info->compression));
	if (info->has_xbzrle)
		json_object_set_new(v, "xbzrle-cache",
				    xbzrle_stats(&info->xbzrle));
	if (info->has_status)
		json_object_set_new(v, "status",
				    json_string(mig_status_name(info->status)));
	if (info->error_desc)
		json_object_set_new(v, "error-desc",
				    json_string_nocheck(info->error_desc));
	if (info->has_setup_time)
		json_object_set_new(v, "setup-time",
				    json_integer(info->setup_time_ms));
	if (info->has_downtime)
		json_object_set_new(v, "downtime",
				    json_integer(info->downtime_ms));
	if (info->has_total_time)
		json_object_set_new(v, "total-time",
				    json_integer(info->total_time_ms));
	if (info->has_ram)
		json_object_set_new(v, "ram", ram_stats(&info->ram));
	if (info->socket_address)
		json_object_set_new(v, "socket-address",
				    json_pack("[o]",
					      socket_address(&info->socket_addr)));
	return v;
}

static json_t *qmp_query_migrate(struct qmp_session *s, json_t *args,
				 struct error **errp)
{
	struct mig_info info;
	mig_info_fill_locked(s->vm, &info);
	json_t *v = migration_info_json(&info);
	mig_info_release(&info);
	return v;
}

/* ---- migration ---- */

static json_t *qmp_migrate(struct qmp_session *s, json_t *args,
			   struct error **errp)
{
	/* `detach` is accepted and ignored, as in QEMU. */
	struct transport_fd_names fds = qmp_server_fd_names(s->server);
	struct migrate_request req = {
		.uri = json_string_value(json_object_get(args, "uri")),
		.blk = json_is_true(json_object_get(args, "blk")),
		.inc = json_is_true(json_object_get(args, "inc")),
		.resume = json_is_true(json_object_get(args, "resume")),
		.fds = &fds,
	};
	if (!migration_start(s->vm, &req, errp))
		return NULL;
	return empty();
}

static json_t *qmp_migrate_cancel(struct qmp_session *s, json_t *args,
				  struct error **errp)
{
	migration_cancel(s->vm);
	return empty();
}

static json_t *qmp_migrate_incoming(struct qmp_session *s, json_t *args,
				    struct error **errp)
{
	struct transport_fd_names fds = qmp_server_fd_names(s->server);
	if (!incoming_start(s->vm,
			    json_string_value(json_object_get(args, "uri")),
			    &fds, errp))
		return NULL;
	return empty();
}

static bool visit_migrate_continue(struct qmp_session *s, json_t *args,
				   struct error **errp)
{
	const char *state = json_string_value(json_object_get(args, "state"));
	if (mig_status_lookup(state) < 0) {
		error_setf(errp, "Parameter 'state' does not accept value '%s'",
			   state);
		return false;
	}
	return true;
}

/* Releases a pause-before-switchover (the same engine call as HMP's). */
static json_t *qmp_migrate_continue(struct qmp_session *s, json_t *args,
				    struct error **errp)
{
	const char *state = json_string_value(json_object_get(args, "state"));
	if (!migration_continue(s->vm, state, errp))
		return NULL;
	return empty();
}

static json_t *qmp_migrate_pause(struct qmp_session *s, json_t *args,
				 struct error **errp)
{
	error_setf(errp,
		   "migrate-pause is currently only supported during postcopy-active state");
	return NULL;
}

static json_t *qmp_migrate_recover(struct qmp_session *s, json_t *args,
				   struct error **errp)
{
	error_setf(errp,
		   "Migrate recover can only be run when postcopy is paused.");
	return NULL;
}

static json_t *qmp_migrate_start_postcopy(struct qmp_session *s,
					  json_t *args, struct error **errp)
{
	error_setf(errp,
		   "Enable postcopy with migrate_set_capability before the start of migration");
	return NULL;
}

/* ---- file descriptors ---- */

static json_t *qmp_getfd(struct qmp_session *s, json_t *args,
			 struct error **errp)
{
	const char *name = json_string_value(json_object_get(args, "fdname"));
	int fd = s->ops->take_fd ? s->ops->take_fd(s->opaque) : -1;
	if (fd < 0) {
		error_setf(errp, "No file descriptor supplied via SCM_RIGHTS");
		return NULL;
	}
	if (isdigit((unsigned char)name[0])) {
		close(fd);
		error_setf(errp,
			   "Parameter 'fdname' expects a name not starting with a digit");
		return NULL;
	}
	if (!fd_registry_put(&s->server->fds, name, fd)) {
		error_setf(errp, "Too many file descriptors (at most %d)",
			   FD_REGISTRY_MAX);
		return NULL;
	}
	return empty();
}

static json_t *qmp_closefd(struct qmp_session *s, json_t *args,
			   struct error **errp)
{
	const char *name = json_string_value(json_object_get(args, "fdname"));
	if (!fd_registry_close(&s->server->fds, name)) {
		error_setf(errp, "File descriptor named '%s' not found", name);
		return NULL;
	}
	return empty();
}

/* ---- run state, memory, HMP, quit ---- */

static json_t *qmp_stop(struct qmp_session *s, json_t *args,
			struct error **errp)
{
	vm_user_stop_locked(s->vm);
	return empty();
}

static json_t *qmp_cont(struct qmp_session *s, json_t *args,
			struct error **errp)
{
	if (!vm_user_cont_locked(s->vm, errp))
		return NULL;
	return empty();
}

static json_t *qmp_pmemsave(struct qmp_session *s, json_t *args,
			    struct error **errp)
{
	int64_t addr = 0, size = 0;
	qmp_json_get_i64(json_object_get(args, "val"), &addr);
	qmp_json_get_i64(json_object_get(args, "size"), &size);
	const char *file =
		json_string_value(json_object_get(args, "filename"));
	if (guest_ram_save_to_file(&s->vm->ram, (uint64_t)addr,
				   (uint64_t)size, file, errp) < 0)
		return NULL;
	return empty();
}

static json_t *qmp_human_monitor_command(struct qmp_session *s, json_t *args,
					 struct error **errp)
{
	if (json_object_get(args, "cpu-index")) {
		/* machine none has no CPUs */
		error_setf(errp, "Parameter 'cpu-index' expects a CPU number");
		return NULL;
	}
	const char *line =
		json_string_value(json_object_get(args, "command-line"));
	struct monitor mon;
	monitor_init(&mon, s->vm, MONITOR_MODE_CAPTURE);
	hmp_run_line(&mon, line);
	struct strbuf out;
	strbuf_init(&out);
	for (size_t i = 0; i < mon.out.len; i++) {
		if (mon.out.buf[i] == '\n')
			strbuf_addch(&out, '\r');
		strbuf_addch(&out, mon.out.buf[i]);
	}
	if (mon.quit)
		s->quit = true;
	monitor_release(&mon);
	json_t *ret = json_stringn_nocheck(out.buf ? out.buf : "", out.len);
	strbuf_release(&out);
	return ret;
}

static json_t *qmp_quit(struct qmp_session *s, json_t *args,
			struct error **errp)
{
	json_t *data = json_pack("{s:b,s:s}", "guest", 0, "reason",
				 "host-qmp-quit");
	qmp_server_emit(s->server, "SHUTDOWN", data);
	json_decref(data);
	s->quit = true;
	return empty();
}

/* ---- devices qmig does not have ---- */

static json_t *empty_list(struct qmp_session *s, json_t *args,
			  struct error **errp)
{
	return json_array();
}

static json_t *qmp_query_chardev(struct qmp_session *s, json_t *args,
				 struct error **errp)
{
	/* (under vm->lock, as every locked row) */
	const struct vm *vm = s->vm;
	json_t *list = json_array();
	for (int i = 0; i < vm->nchardevs; i++)
		json_array_append_new(
			list, json_pack("{s:b,s:s,s:s}", "frontend-open", 1,
					"filename", vm->chardevs[i].filename,
					"label", vm->chardevs[i].label));
	return list;
}

/* The QOM containers libvirt looks into; machine none has no devices. */
static json_t *qmp_qom_list(struct qmp_session *s, json_t *args,
			    struct error **errp)
{
	const char *path = json_string_value(json_object_get(args, "path"));
	if (!strcmp(path, "/machine/peripheral") ||
	    !strcmp(path, "/machine/peripheral-anon") ||
	    !strcmp(path, "/machine/unattached"))
		return json_pack("[{s:s,s:s}]", "name", "type", "type",
				 "string");
	s->error_class = "DeviceNotFound";
	error_setf(errp, "Device '%s' not found", path);
	return NULL;
}

/* ---- the table ---- */

#define ARG(n, t) { n, QMP_ARG_##t, false }
#define OPT(n, t) { n, QMP_ARG_##t, true }

const struct qmp_command qmp_commands[] = {
	{ "qmp_capabilities", { OPT("enable", ARRAY) }, 0,
	  visit_qmp_capabilities, qmp_qmp_capabilities },
	{ "query-version", { { 0 } }, 0, NULL, qmp_query_version },
	{ "query-commands", { { 0 } }, 0, NULL, qmp_query_commands },
	{ "query-status", { { 0 } }, 0, NULL, qmp_query_status },
	{ "query-name", { { 0 } }, 0, NULL, qmp_query_name },
	{ "query-migrate", { { 0 } }, 0, NULL, qmp_query_migrate },
	{ "calc-dirty-rate",
	  { ARG("calc-time", INT), OPT("sample-pages", INT), OPT("mode", STR) },
	  0, NULL, qmp_calc_dirty_rate },
	{ "query-dirty-rate", { { 0 } }, 0, NULL, qmp_query_dirty_rate },
	{ "query-migrate-capabilities", { { 0 } }, 0, NULL,
	  qmp_query_migrate_capabilities },
	{ "query-migrate-parameters", { { 0 } }, 0, NULL,
	  qmp_query_migrate_parameters },
	{ "migrate-set-capabilities", { ARG("capabilities", ARRAY) },
	  CMD_NOT_WHILE_MIGRATING, qmp_visit_set_capabilities,
	  qmp_migrate_set_capabilities },
	{ "migrate-set-parameters", { { 0 } }, QMP_CMD_PARAMS,
	  qmp_visit_set_parameters, qmp_migrate_set_parameters },
	{ "migrate",
	  { ARG("uri", STR), OPT("blk", BOOL), OPT("inc", BOOL),
	    OPT("detach", BOOL), OPT("resume", BOOL) },
	  0, NULL, qmp_migrate },
	{ "migrate_cancel", { { 0 } }, 0, NULL, qmp_migrate_cancel },
	{ "migrate-incoming", { ARG("uri", STR) }, 0, NULL,
	  qmp_migrate_incoming },
	{ "migrate-continue", { ARG("state", STR) }, 0,
	  visit_migrate_continue, qmp_migrate_continue },
	{ "migrate-pause", { { 0 } }, 0, NULL, qmp_migrate_pause },
	{ "migrate-recover", { ARG("uri", STR) }, 0, NULL,
	  qmp_migrate_recover },
	{ "migrate-start-postcopy", { { 0 } }, 0, NULL,
	  qmp_migrate_start_postcopy },
	{ "getfd", { ARG("fdname", STR) }, 0, NULL, qmp_getfd },
	{ "closefd", { ARG("fdname", STR) }, 0, NULL, qmp_closefd },
	{ "stop", { { 0 } }, 0, NULL, qmp_stop },
	{ "cont", { { 0 } }, 0, NULL, qmp_cont },
	{ "pmemsave",
	  { ARG("val", INT), ARG("size", INT), ARG("filename", STR) },
	  0, NULL, qmp_pmemsave },
	{ "human-monitor-command",
	  { ARG("command-line", STR), OPT("cpu-index", INT) },
	  QMP_CMD_UNLOCKED, NULL, qmp_human_monitor_command },
	{ "quit", { { 0 } }, 0, NULL, qmp_quit },
	{ "query-block", { { 0 } }, 0, NULL, empty_list },
	{ "query-named-block-nodes", { OPT("flat", BOOL) }, 0, NULL,
	  empty_list },
	{ "query-chardev", { { 0 } }, 0, NULL, qmp_query_chardev },
	{ "query-iothreads", { { 0 } }, 0, NULL, empty_list },
	{ "query-cpus-fast", { { 0 } }, 0, NULL, empty_list },
	{ "qom-list", { ARG("path", STR) }, 0, NULL, qmp_qom_list },
	/* the machine and the binary (monitor/qmp_machine.c) */
	{ "query-target", { { 0 } }, 0, NULL, qmp_query_target },
	{ "query-kvm", { { 0 } }, 0, NULL, qmp_query_kvm },
	{ "query-qmp-schema", { { 0 } }, 0, NULL, qmp_query_qmp_schema },
	{ "qom-list-types",
	  { OPT("implements", STR), OPT("abstract", BOOL) }, 0, NULL,
	  qmp_qom_list_types },
	{ "query-machines", { { 0 } }, 0, NULL, qmp_query_machines },
	{ "device-list-properties", { ARG("typename", STR) }, 0, NULL,
	  qmp_device_list_properties },
	{ "qom-list-properties", { ARG("typename", STR) }, 0, NULL,
	  qmp_qom_list_properties },
	{ "query-command-line-options", { OPT("option", STR) }, 0, NULL,
	  qmp_query_command_line_options },
	{ "query-uuid", { { 0 } }, 0, NULL, qmp_query_uuid },
	{ "system_powerdown", { { 0 } }, 0, NULL, qmp_system_powerdown },
	{ "system_reset", { { 0 } }, 0, NULL, qmp_system_reset },
	{ 0 }
};

const struct qmp_command *qmp_find_command(const char *name)
{
	for (const struct qmp_command *c = qmp_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}
