/*
 * The HMP command table and its handlers.  Handlers parse nothing
 * themselves: the dispatcher has typed the arguments from the row; they
 * call the same engine functions QMP calls and turn errors into output.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "migration/incoming.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "monitor/hmp.h"
#include "monitor/info_migrate.h"

static void report(struct monitor *mon, struct error *err)
{
	monitor_error(mon, err->msg);
	error_free(err);
}

/* ---- help ---- */

static void hmp_help(struct monitor *mon, const struct hmp_values *v)
{
	const char *name = v->str[0];
	const char *sub = v->str[1];
	if (!name) {
		for (const struct hmp_command *c = hmp_commands; c->name; c++)
			hmp_format_help_line(&mon->out, "", c);
		return;
	}
	const struct hmp_command *cmd = hmp_find(hmp_commands, name);
	if (!cmd) {
		monitor_usage_error(mon, NULL, "unknown command: '%s'", name);
		return;
	}
	if (cmd->subcommands && sub) {
		const struct hmp_command *sc = hmp_find(cmd->subcommands, sub);
		if (!sc) {
			monitor_usage_error(mon, NULL,
					    "unknown command: '%s %s'", name,
					    sub);
			return;
		}
		hmp_format_help_line(&mon->out, "info ", sc);
		return;
	}
	if (cmd->subcommands) {
		for (const struct hmp_command *c = cmd->subcommands; c->name;
		     c++)
			hmp_format_help_line(&mon->out, "info ", c);
		return;
	}
	hmp_format_help_line(&mon->out, "", cmd);
}

static void hmp_info(struct monitor *mon, const struct hmp_values *v)
{
	/* `info` alone lists its subcommands, as `help info` does. */
	for (const struct hmp_command *c = hmp_info_commands; c->name; c++)
		hmp_format_help_line(&mon->out, "info ", c);
}

/* ---- info ---- */

static void hmp_info_status(struct monitor *mon, const struct hmp_values *v)
{
	enum runstate rs = mon->vm->runstate;
	if (rs == RUNSTATE_RUNNING)
		monitor_printf(mon, "VM status: running\n");
	else if (rs == RUNSTATE_PAUSED)
		monitor_printf(mon, "VM status: paused\n");
	else
		monitor_printf(mon, "VM status: paused (%s)\n",
			       runstate_name(rs));
}

static void hmp_info_name(struct monitor *mon, const struct hmp_values *v)
{
	if (mon->vm->name)
		monitor_printf(mon, "%s\n", mon->vm->name);
}

static void hmp_info_migrate(struct monitor *mon, const struct hmp_values *v)
{
	info_migrate_format_locked(mon->vm, &mon->out);
}

static void hmp_info_migrate_capabilities(struct monitor *mon,
					  const struct hmp_values *v)
{
	mig_options_format_caps(&mon->vm->options, &mon->out);
}

static void hmp_info_migrate_parameters(struct monitor *mon,
					const struct hmp_values *v)
{
	mig_options_format_params(&mon->vm->options, &mon->out);
}

/* ---- migration ---- */

static void hmp_migrate(struct monitor *mon, const struct hmp_values *v)
{
	struct vm *vm = mon->vm;
	struct error *err = NULL;
	if (v->on[1] || v->on[2]) {
		monitor_error(mon, "qmig has no block devices: block migration (-b, -i) is not supported");
		return;
	}
	if (v->on[3]) {
		monitor_error(mon, "Cannot resume if there is no paused migration");
		return;
	}
	if (!migration_start(vm, v->str[4], &err)) {
		report(mon, err);
		return;
	}
	if (v->on[0])
		return;
	if (mon->mode == MONITOR_MODE_CAPTURE) {
		monitor_printf(mon, "terminal does not allow synchronous migration, continuing detached\n");
		return;
	}
	/* Blocking: like QEMU, the monitor waits for the end.  Piped and
	 * interactive sessions get the failure as this command's error. */
	bool report_here = mon->mode != MONITOR_MODE_SOCKET;
	vm->outgoing->waiter_reports_error = report_here;
	enum mig_status status = migration_wait_locked(vm);
	if (status == MIG_STATUS_FAILED && report_here)
		monitor_error(mon, vm->outgoing->error_desc
					   ? vm->outgoing->error_desc
					   : "migration failed");
}

static void hmp_migrate_cancel(struct monitor *mon, const struct hmp_values *v)
{
	migration_cancel(mon->vm);
}

static void hmp_migrate_incoming(struct monitor *mon,
				 const struct hmp_values *v)
{
	struct error *err = NULL;
	if (!incoming_start(mon->vm, v->str[0], &err))
		report(mon, err);
}

static void hmp_migrate_set_capability(struct monitor *mon,
				       const struct hmp_values *v)
{
	struct vm *vm = mon->vm;
	struct error *err = NULL;
	/* QEMU checks the name before the migration state. */
	if (mig_cap_lookup_hmp(v->str[0], &err) < 0) {
		report(mon, err);
		return;
	}
	if (mig_status_is_running(vm->outgoing->status)) {
		monitor_error(mon, "There's a migration process in progress");
		return;
	}
	if (!mig_options_set_cap_hmp(&vm->options, v->str[0], v->on[1], &err))
		report(mon, err);
}

static void hmp_migrate_set_parameter(struct monitor *mon,
				      const struct hmp_values *v)
{
	struct error *err = NULL;
	/* qmig also takes the seeds' underscore spellings. */
	if (!mig_options_set_param_hmp(&mon->vm->options, v->str[0], v->str[1],
				       true, &err))
		report(mon, err);
}

/* The seeds' spellings of `migrate_set_parameter xbzrle-cache-size`. */
static void hmp_migrate_set_cache_size(struct monitor *mon,
				       const struct hmp_values *v)
{
	struct error *err = NULL;
	if (!mig_options_set_param_hmp(&mon->vm->options, "xbzrle-cache-size",
				       v->str[0], false, &err))
		report(mon, err);
}

/* ---- run state and memory ---- */

static void hmp_stop(struct monitor *mon, const struct hmp_values *v)
{
	struct vm *vm = mon->vm;
	if (vm->runstate == RUNSTATE_INMIGRATE)
		vm->autostart = false; /* stay paused after the migration */
	else if (vm->runstate == RUNSTATE_RUNNING)
		vm_stop_locked(vm, RUNSTATE_PAUSED);
}

static void hmp_cont(struct monitor *mon, const struct hmp_values *v)
{
	struct vm *vm = mon->vm;
	switch (vm->runstate) {
	case RUNSTATE_INMIGRATE:
		vm->autostart = true;
		break;
	case RUNSTATE_FINISH_MIGRATE:
		monitor_error(mon, "Migration is not finalized yet");
		break;
	default:
		vm_start_locked(vm);
		break;
	}
}

static void hmp_pmemsave(struct monitor *mon, const struct hmp_values *v)
{
	struct error *err = NULL;
	if (guest_ram_save_to_file(&mon->vm->ram, (uint64_t)v->num[0],
				   (uint64_t)v->num[1], v->str[2], &err) < 0)
		report(mon, err);
}

static void hmp_quit(struct monitor *mon, const struct hmp_values *v)
{
	mon->quit = true;
	mon->vm->quit_requested = true;
	pthread_cond_broadcast(&mon->vm->changed);
}

/* ---- the tables ---- */

const struct hmp_command hmp_info_commands[] = {
	{ .name = "migrate", .params = "", .help = "show migration status",
	  .handler = hmp_info_migrate },
	{ .name = "migrate_capabilities", .params = "",
	  .help = "show current migration capabilities",
	  .handler = hmp_info_migrate_capabilities },
	{ .name = "migrate_parameters", .params = "",
	  .help = "show current migration parameters",
	  .handler = hmp_info_migrate_parameters },
	{ .name = "name", .params = "", .help = "show the current VM name",
	  .handler = hmp_info_name },
	{ .name = "status", .params = "",
	  .help = "show the current VM status (running|paused)",
	  .handler = hmp_info_status },
	{ 0 }
};

const struct hmp_command hmp_commands[] = {
	{ .name = "cont", .alias = "c", .params = "",
	  .help = "resume emulation", .handler = hmp_cont },
	{ .name = "help", .alias = "?",
	  .args = { { "cmd", HMP_ARG_OPT_STR, 0, HMP_COMPLETE_COMMAND },
		    { "subcmd", HMP_ARG_OPT_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "[cmd]", .help = "show the help", .handler = hmp_help },
	{ .name = "info", .params = "[subcommand]",
	  .help = "show various information about the system state",
	  .handler = hmp_info, .subcommands = hmp_info_commands },
	{ .name = "migrate",
	  .args = { { "detach", HMP_ARG_FLAG, 'd', HMP_COMPLETE_NONE },
		    { "blk", HMP_ARG_FLAG, 'b', HMP_COMPLETE_NONE },
		    { "inc", HMP_ARG_FLAG, 'i', HMP_COMPLETE_NONE },
		    { "resume", HMP_ARG_FLAG, 'r', HMP_COMPLETE_NONE },
		    { "uri", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "[-d] [-b] [-i] [-r] uri",
	  .help = "migrate to URI (using -d to not wait for completion)",
	  .handler = hmp_migrate },
	{ .name = "migrate_cancel", .params = "",
	  .help = "cancel the current VM migration",
	  .handler = hmp_migrate_cancel },
	{ .name = "migrate_incoming",
	  .args = { { "uri", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "uri",
	  .help = "Continue an incoming migration from an -incoming defer",
	  .handler = hmp_migrate_incoming },
	{ .name = "migrate_set_cache_size",
	  .args = { { "value", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "value",
	  .help = "set the XBZRLE cache size (old spelling of migrate_set_parameter xbzrle-cache-size)",
	  .handler = hmp_migrate_set_cache_size },
	{ .name = "migrate_set_cachesize",
	  .args = { { "value", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "value",
	  .help = "set the XBZRLE cache size (2012 spelling of migrate_set_parameter xbzrle-cache-size)",
	  .handler = hmp_migrate_set_cache_size },
	{ .name = "migrate_set_capability",
	  .args = { { "capability", HMP_ARG_STR, 0, HMP_COMPLETE_CAPABILITY },
		    { "state", HMP_ARG_ON_OFF, 0, HMP_COMPLETE_ON_OFF } },
	  .params = "capability state",
	  .help = "Enable/Disable the usage of a capability for migration",
	  .handler = hmp_migrate_set_capability },
	{ .name = "migrate_set_parameter",
	  .args = { { "parameter", HMP_ARG_STR, 0, HMP_COMPLETE_PARAMETER },
		    { "value", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "parameter value",
	  .help = "Set the parameter for migration",
	  .handler = hmp_migrate_set_parameter },
	{ .name = "pmemsave",
	  .args = { { "val", HMP_ARG_INT, 0, HMP_COMPLETE_NONE },
		    { "size", HMP_ARG_INT, 0, HMP_COMPLETE_NONE },
		    { "filename", HMP_ARG_STR, 0, HMP_COMPLETE_FILE } },
	  .params = "addr size file",
	  .help = "save to disk physical memory dump starting at 'addr' of size 'size'",
	  .handler = hmp_pmemsave },
	{ .name = "quit", .alias = "q", .params = "",
	  .help = "quit the emulator", .handler = hmp_quit },
	{ .name = "stop", .alias = "s", .params = "",
	  .help = "stop emulation", .handler = hmp_stop },
	{ 0 }
};
