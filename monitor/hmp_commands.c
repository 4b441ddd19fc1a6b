/*
 * The HMP command table and its handlers.  Handlers parse nothing
 * themselves: the dispatcher has typed the arguments from the row; they
 * call the same engine functions QMP calls and turn errors into output.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migration/incoming.h"
#include "machine/machine_opts.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "migration/options_hmp.h"
#include "monitor/dirty_rate_cmds.h"
#include "monitor/hmp.h"
#include "monitor/hmp_machine.h"
#include "monitor/info_migrate.h"
#include "monitor/preconditions.h"
#include "monitor/qmp.h"

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

static void hmp_info_uuid(struct monitor *mon, const struct hmp_values *v)
{
	char text[37];
	machine_uuid_format(mon->vm->uuid, text);
	monitor_printf(mon, "%s\n", text);
}

static void hmp_info_migrate(struct monitor *mon, const struct hmp_values *v)
{
	info_migrate_format_locked(mon->vm, &mon->out);
}

static void hmp_info_migrate_capabilities(struct monitor *mon,
					  const struct hmp_values *v)
{
	mig_options_format_caps(mon->vm->options, &mon->out);
}

static void hmp_info_migrate_parameters(struct monitor *mon,
					const struct hmp_values *v)
{
	mig_options_format_params(mon->vm->options, &mon->out);
}

/* ---- migration ---- */

/* How often a blocking `migrate` on a terminal redraws its progress line. */
#define PROGRESS_INTERVAL_MS 200

/*
 * Set by the SIGINT handler that a blocking `migrate` on a terminal
 * installs around its wait (the one file-scope mutable: a signal handler
 * has nowhere else to write).  Any thread may run the handler.
 */
static volatile sig_atomic_t migrate_interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	migrate_interrupted = 1;
}

#define CANCEL_HINT " (Ctrl-C cancels)"

/*
 * The progress line, from the atomics in stats (vm->lock held): the
 * longest of its forms that fits in width columns, so that the line never
 * wraps and keeps the Ctrl-C hint; the last form is cut if even it does
 * not fit.
 */
static void format_progress_locked(struct vm *vm, struct strbuf *sb,
				   size_t width)
{
	const struct migration *m = vm->outgoing;
	const struct mig_stats *s = &m->stats;
	const char *status = mig_status_name(m->status);
	uint64_t pass = (uint64_t)STAT_GET(s->dirty_sync_count);
	uint64_t sent = (uint64_t)STAT_GET(s->transferred) >> 10;
	uint64_t total = vm->ram.size_bytes >> 10;
	uint64_t left = (uint64_t)STAT_GET(s->remaining_bytes) >> 10;
	double mbps = STAT_GET(s->mbps);
	uint64_t downtime = (uint64_t)STAT_GET(s->expected_downtime_ms);
	for (int form = 0;; form++) {
		strbuf_reset(sb);
		switch (form) {
		case 0:
			strbuf_addf(sb, "%s: pass %" PRIu64 ", sent %" PRIu64
				    " of %" PRIu64 " KiB, remaining %" PRIu64
				    " KiB, %.2f mbps, expected downtime %" PRIu64
				    " ms" CANCEL_HINT,
				    status, pass, sent, total, left, mbps,
				    downtime);
			break;
		case 1:
			strbuf_addf(sb, "%s: pass %" PRIu64 ", sent %" PRIu64
				    "/%" PRIu64 " KiB, remaining %" PRIu64
				    " KiB, %.0f mbps" CANCEL_HINT,
				    status, pass, sent, total, left, mbps);
			break;
		case 2:
			strbuf_addf(sb, "%s: sent %" PRIu64 "/%" PRIu64
				    " KiB, left %" PRIu64 " KiB" CANCEL_HINT,
				    status, sent, total, left);
			break;
		case 3:
			strbuf_addf(sb, "%s: %" PRIu64 "/%" PRIu64 " KiB"
				    CANCEL_HINT, status, sent, total);
			break;
		default:
			strbuf_addf(sb, "%s" CANCEL_HINT, status);
			return;
		}
		if (sb->len <= width)
			return;
	}
}

/*
 * A blocking `migrate` on a terminal: waits for the end of the migration
 * (vm->lock held, released while waiting and while writing to the tty),
 * redrawing the progress line every PROGRESS_INTERVAL_MS; Ctrl-C cancels
 * the migration instead of killing qmig.  Erases the line at the end.
 */
static enum mig_status wait_with_progress_locked(struct monitor *mon)
{
	struct vm *vm = mon->vm;
	struct sigaction sa, old_sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	migrate_interrupted = 0;
	sigaction(SIGINT, &sa, &old_sa);

	struct strbuf line;
	strbuf_init(&line);
	while (mig_status_is_running(vm->outgoing->status)) {
		if (migrate_interrupted) {
			migrate_interrupted = 0;
			migration_cancel(vm);
		}
		format_progress_locked(vm, &line, monitor_progress_width());
		pthread_mutex_unlock(&vm->lock);
		monitor_progress(mon, line.buf);
		pthread_mutex_lock(&vm->lock);
		if (!mig_status_is_running(vm->outgoing->status))
			break;
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline); /* vm->changed's clock */
		deadline.tv_nsec += PROGRESS_INTERVAL_MS * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->changed, &vm->lock, &deadline);
	}
	strbuf_release(&line);
	pthread_mutex_unlock(&vm->lock);
	monitor_progress(mon, NULL);
	pthread_mutex_lock(&vm->lock);
	sigaction(SIGINT, &old_sa, NULL);
	return vm->outgoing->status;
}

static void hmp_migrate(struct monitor *mon, const struct hmp_values *v)
{
	struct vm *vm = mon->vm;
	struct error *err = NULL;
	struct migrate_request req = {
		.uri = v->str[4], .blk = v->on[1], .inc = v->on[2],
		.resume = v->on[3],
	};
	if (!migration_start(vm, &req, &err)) {
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
	 * interactive sessions get the failure as this command's error; a
	 * socket session, as QEMU, only on stderr and in `info migrate`. */
	bool report_here = mon->mode != MONITOR_MODE_SOCKET;
	vm->outgoing->waiter_reports_error = report_here;
	bool tty = mon->mode == MONITOR_MODE_TTY;
	enum mig_status status = tty ? wait_with_progress_locked(mon)
				     : migration_wait_locked(vm);
	/* The prompt would come back without a word otherwise. */
	if (status == MIG_STATUS_CANCELLED && tty)
		monitor_printf(mon, "migration cancelled\n");
	if (status == MIG_STATUS_FAILED && report_here)
		monitor_error(mon, vm->outgoing->error_desc
					   ? vm->outgoing->error_desc
					   : "migration failed");
}

static void hmp_migrate_continue(struct monitor *mon,
				 const struct hmp_values *v)
{
	struct error *err = NULL;
	/* HMP's wording for a name that is no MigrationStatus. */
	if (mig_status_lookup(v->str[0]) < 0) {
		struct strbuf sb;
		strbuf_init(&sb);
		strbuf_addf(&sb, "invalid parameter value: %s", v->str[0]);
		monitor_error(mon, sb.buf);
		strbuf_release(&sb);
		return;
	}
	if (!migration_continue(mon->vm, v->str[0], &err))
		report(mon, err);
}

/*
 * The postcopy commands.  qmig migrates precopy only: postcopy-ram (and
 * dirty-bitmaps) cannot be turned on, so no migration ever reaches a
 * postcopy state and these give QEMU 7.2's error for every other state.
 */
static void hmp_migrate_pause(struct monitor *mon, const struct hmp_values *v)
{
	monitor_error(mon, "migrate-pause is currently only supported during postcopy-active state");
}

static void hmp_migrate_recover(struct monitor *mon,
				const struct hmp_values *v)
{
	monitor_error(mon, "Migrate recover can only be run when postcopy is paused.");
}

static void hmp_migrate_start_postcopy(struct monitor *mon,
				       const struct hmp_values *v)
{
	struct vm *vm = mon->vm;
	if (!mig_options_cap(vm->options, MIG_CAP_POSTCOPY_RAM) &&
	    !mig_options_cap(vm->options, MIG_CAP_DIRTY_BITMAPS))
		monitor_error(mon, "Enable postcopy with migrate_set_capability before the start of migration");
	else if (vm->outgoing->status == MIG_STATUS_NONE)
		monitor_error(mon, "Postcopy must be started after migration has been started");
	else
		monitor_error(mon, "qmig does not implement postcopy");
}

static void hmp_migrate_cancel(struct monitor *mon, const struct hmp_values *v)
{
	migration_cancel(mon->vm);
}

static void hmp_migrate_incoming(struct monitor *mon,
				 const struct hmp_values *v)
{
	struct error *err = NULL;
	if (!incoming_start(mon->vm, v->str[0], NULL, &err))
		report(mon, err);
}

static void hmp_migrate_set_capability(struct monitor *mon,
				       const struct hmp_values *v)
{
	struct error *err = NULL;
	if (!mig_options_set_cap_hmp(mon->vm->options, v->str[0], v->on[1],
				     &err))
		report(mon, err);
}

static void hmp_migrate_set_parameter(struct monitor *mon,
				      const struct hmp_values *v)
{
	struct error *err = NULL;
	/* qmig also takes the seeds' underscore spellings. */
	if (!mig_options_set_param_hmp(mon->vm->options, v->str[0], v->str[1],
				       true, &err))
		report(mon, err);
}

/* The seeds' spellings of `migrate_set_parameter xbzrle-cache-size`. */
static void hmp_migrate_set_cache_size(struct monitor *mon,
				       const struct hmp_values *v)
{
	struct error *err = NULL;
	if (!mig_options_set_param_hmp(mon->vm->options, "xbzrle-cache-size",
				       v->str[0], false, &err))
		report(mon, err);
}

/* ---- run state and memory ---- */

static void hmp_stop(struct monitor *mon, const struct hmp_values *v)
{
	vm_user_stop_locked(mon->vm);
}

static void hmp_cont(struct monitor *mon, const struct hmp_values *v)
{
	struct error *err = NULL;
	if (!vm_user_cont_locked(mon->vm, &err))
		report(mon, err);
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

/*
 * One row per command, sorted by name as QEMU's `help` lists them.  name,
 * alias, params and help are QEMU 7.2's (hmp-commands.hx), so that `help`
 * prints QEMU's lines; doc is what docs/monitor.md adds.
 */
const struct hmp_command hmp_info_commands[] = {
	{ .name = "chardev", .params = "",
	  .help = "show the character devices",
	  .doc = "`LABEL: filename=FILENAME` for each monitor socket (and "
		 "`stdio`): `-chardev`'s id or QEMU's `compat_monitorN` "
		 "(`-monitor` and `-qmp` counted together in command-line "
		 "order, as QEMU), and `unix:PATH,server=on` or "
		 "`tcp:HOST:PORT,server=on` with the port the socket is bound "
		 "to, so that a `-monitor tcp:127.0.0.1:0,...` can be found. "
		 "Unlike QEMU: in start-up order (QEMU lists them in hash "
		 "order), and never `disconnected:` (a qmig socket always "
		 "takes more clients).",
	  .handler = hmp_info_chardev },
	{ .name = "dirty_rate", .params = "",
	  .help = "show dirty rate information",
	  .doc = "The last `calc_dirty_rate` measurement: status "
		 "(`unstarted`, `measuring`, `measured`), start time (seconds, "
		 "labelled `(ms)` as QEMU 7.2 does), sample pages per GB (0 "
		 "once measured by the dirty bitmap), period, mode and the "
		 "rate in MB/s (MiB/s), `(not ready)` before it is measured.",
	  .handler = hmp_info_dirty_rate },
	{ .name = "history", .params = "",
	  .help = "show the command line history",
	  .doc = "`N: 'LINE'` for the lines this session has run, oldest "
		 "first, including this one; as QEMU's readline, at most 64 and "
		 "a repeated line moves to the end. Each socket session has "
		 "its own; QMP's `human-monitor-command` has none. (The "
		 "terminal's Up-arrow history, saved in `~/.qmig_history`, is "
		 "readline's and spans sessions.)",
	  .handler = hmp_info_history },
	{ .name = "migrate", .params = "", .help = "show migration status",
	  .doc = "The `globals:` block, then (once a migration has run) the "
		 "status line, times and the RAM block; XBZRLE and compression "
		 "lines while those capabilities are on. Field order, units and "
		 "which lines appear in which state are QEMU 7.2's.",
	  .handler = hmp_info_migrate },
	{ .name = "migrate_capabilities", .params = "",
	  .help = "show current migration capabilities",
	  .doc = "One `name: on|off` line per capability, in QEMU 7.2's order "
		 "(see Capabilities below).",
	  .handler = hmp_info_migrate_capabilities },
	{ .name = "migrate_parameters", .params = "",
	  .help = "show current migration parameters",
	  .doc = "The 24 lines QEMU 7.2 prints, with its units, then one for "
		 "each of qmig's own parameters not at its default (see "
		 "Parameters below).",
	  .handler = hmp_info_migrate_parameters },
	{ .name = "name", .params = "", .help = "show the current VM name",
	  .doc = "The `-name` given on the command line; nothing without one.",
	  .handler = hmp_info_name },
	{ .name = "ramblock", .params = "",
	  .help = "Display system ramblock information",
	  .doc = "QEMU's table for the one block, `ram`: page size 4 KiB, "
		 "offset 0, used and total the `-m` size.",
	  .handler = hmp_info_ramblock },
	{ .name = "status", .params = "",
	  .help = "show the current VM status (running|paused)",
	  .doc = "`VM status: running`, `VM status: paused`, or `VM status: "
		 "paused (RUNSTATE)` (`inmigrate`, `postmigrate`, "
		 "`finish-migrate`, `prelaunch`).",
	  .handler = hmp_info_status },
	{ .name = "uuid", .params = "", .help = "show the current VM UUID",
	  .doc = "The `-uuid` given on the command line, else "
		 "`00000000-0000-0000-0000-000000000000` (as QEMU).",
	  .handler = hmp_info_uuid },
	{ .name = "version", .params = "", .help = "show the version of QEMU",
	  .doc = "The QEMU version qmig speaks for, then the package, as QEMU "
		 "prints them (`7.2.22qmig VERSION`, as `query-version`).",
	  .handler = hmp_info_version },
	{ 0 }
};

const struct hmp_command hmp_commands[] = {
	{ .name = "calc_dirty_rate",
	  .args = { [CALC_ARG_RING] = { "dirty_ring", HMP_ARG_FLAG, 'r',
					HMP_COMPLETE_NONE },
		    [CALC_ARG_BITMAP] = { "dirty_bitmap", HMP_ARG_FLAG, 'b',
					  HMP_COMPLETE_NONE },
		    [CALC_ARG_SECOND] = { "second", HMP_ARG_INT, 0,
					  HMP_COMPLETE_NONE },
		    [CALC_ARG_PAGES] = { "sample_pages_per_GB",
					 HMP_ARG_OPT_INT, 0,
					 HMP_COMPLETE_NONE } },
	  .params = "[-r] [-b] second [sample_pages_per_GB]",
	  .help = "start a round of guest dirty rate measurement (using -r to"
		  "\n\t\t\t specify dirty ring as the method of calculation and"
		  "\n\t\t\t -b to specify dirty bitmap as method of calculation)",
	  .doc = "Measures how fast the guest dirties its RAM over SECOND "
		 "seconds (1 to 60) on a thread of its own; `info dirty_rate` "
		 "shows the result. By default page sampling (CRC32 of "
		 "SAMPLE_PAGES_PER_GB random pages per GiB, 128 to 16384, "
		 "default 512, before and after); `-b` counts the pages the "
		 "guest's writers marked in a dirty log of its own, which a "
		 "running migration does not disturb. `-r` (KVM's dirty ring) "
		 "is refused as QEMU 7.2 refuses it without one: `mode "
		 "dirty-ring is not enabled, use other method instead.`",
	  .handler = hmp_calc_dirty_rate },
	{ .name = "cont", .alias = "c", .params = "",
	  .help = "resume emulation",
	  .doc = "Runs the guest's workload again; no-op on a running VM. On a "
		 "destination still waiting for its migration it only makes "
		 "the VM run once the migration completes. While the source is "
		 "stopped for the switch-over: `Migration is not finalized "
		 "yet`. After a completed migration it resumes the source.",
	  .handler = hmp_cont },
	{ .name = "help", .alias = "?",
	  .args = { { "cmd", HMP_ARG_OPT_STR, 0, HMP_COMPLETE_COMMAND },
		    { "subcmd", HMP_ARG_OPT_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "[cmd]", .help = "show the help",
	  .doc = "Without an argument lists every command; `help CMD` shows "
		 "one, `help info` the info sub-commands, `help info SUB` one "
		 "of them. Unknown: `unknown command: 'CMD'`.",
	  .handler = hmp_help },
	{ .name = "info", .params = "[subcommand]",
	  .help = "show various information about the system state",
	  .doc = "`info` alone lists the sub-commands. Unknown: `unknown "
		 "command: 'info SUB'`.",
	  .handler = hmp_info, .subcommands = hmp_info_commands },
	{ .name = "memsave",
	  .args = { { "val", HMP_ARG_INT, 0, HMP_COMPLETE_NONE },
		    { "size", HMP_ARG_INT32, 0, HMP_COMPLETE_NONE },
		    { "filename", HMP_ARG_STR, 0, HMP_COMPLETE_FILE } },
	  .params = "addr size file",
	  .help = "save to disk virtual memory dump starting at 'addr' of size 'size'",
	  .doc = "Virtual addresses need a CPU to translate them, and the "
		 "machine has none: after QEMU's argument checks, always QEMU "
		 "7.2's `No CPU available` (a failed line in a script). Use "
		 "`pmemsave`.",
	  .handler = hmp_memsave },
	{ .name = "migrate",
	  .args = { { "detach", HMP_ARG_FLAG, 'd', HMP_COMPLETE_NONE },
		    { "blk", HMP_ARG_FLAG, 'b', HMP_COMPLETE_NONE },
		    { "inc", HMP_ARG_FLAG, 'i', HMP_COMPLETE_NONE },
		    { "resume", HMP_ARG_FLAG, 'r', HMP_COMPLETE_NONE },
		    { "uri", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "[-d] [-b] [-i] [-r] uri",
	  .help = "migrate to URI (using -d to not wait for completion)\n"
		  "\t\t\t -b for migration without shared storage with full copy of disk\n"
		  "\t\t\t -i for migration without shared storage with incremental copy of disk (base image shared between src and destination)\n"
		  "\t\t\t -r to resume a paused migration",
	  .doc = "URI: `tcp:HOST:PORT`, `unix:PATH`, `exec:COMMAND`. With "
		 "`-d` the command returns at once. Without it the monitor "
		 "waits for the end of the migration: on a terminal a progress "
		 "line (pass, RAM sent, remaining, throughput, expected "
		 "downtime; shorter forms on a narrow terminal, always ending in "
		 "`(Ctrl-C cancels)`) is redrawn every 200 ms and erased at the "
		 "end, and Ctrl-C cancels the migration (as `migrate_cancel`, "
		 "then `migration cancelled`); a piped "
		 "script gets a failure as this line's error; a socket session "
		 "shows nothing (the error goes to stderr and to `info "
		 "migrate`), as QEMU. Errors: `There's a migration process in "
		 "progress`, `Guest is waiting for an incoming migration`, "
		 "`Can't migrate the vm that was paused due to previous "
		 "migration`, `Parameter 'uri' expects a valid migration "
		 "protocol`, `error parsing address 'HOST'`; `-r`: `Cannot "
		 "resume if there is no paused migration`. qmig refuses `-b` "
		 "and `-i` (it has no block devices).",
	  .handler = hmp_migrate },
	{ .name = "migrate_cancel", .params = "",
	  .help = "cancel the current VM migration",
	  .doc = "Running → `cancelling` → `cancelled`; the VM keeps running. "
		 "No-op (no error) when nothing runs.",
	  .handler = hmp_migrate_cancel },
	{ .name = "migrate_continue",
	  .args = { { "state", HMP_ARG_STR, 0, HMP_COMPLETE_STATUS } },
	  .params = "state",
	  .help = "Continue migration from the given paused state",
	  .doc = "Releases a migration paused by `pause-before-switchover` "
		 "(`migrate_continue pre-switchover`). Another state than the "
		 "current one: `Migration not in expected state: CURRENT`; not "
		 "a state name: `invalid parameter value: NAME`.",
	  .handler = hmp_migrate_continue },
	{ .name = "migrate_incoming",
	  .args = { { "uri", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "uri",
	  .help = "Continue an incoming migration from an -incoming defer",
	  .doc = "Only with `-incoming defer` (`'-incoming' was not specified "
		 "on the command line`), and once (`The incoming migration has "
		 "already been started`).",
	  .handler = hmp_migrate_incoming },
	{ .name = "migrate_pause", .params = "",
	  .help = "Pause an ongoing migration (postcopy-only)",
	  .doc = "qmig migrates precopy only: always `migrate-pause is "
		 "currently only supported during postcopy-active state`.",
	  .handler = hmp_migrate_pause },
	{ .name = "migrate_recover",
	  .args = { { "uri", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "uri",
	  .help = "Continue a paused incoming postcopy migration",
	  .doc = "qmig migrates precopy only: always `Migrate recover can only "
		 "be run when postcopy is paused.`",
	  .handler = hmp_migrate_recover },
	{ .name = "migrate_set_cache_size",
	  .args = { { "value", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "value",
	  .help = "set the XBZRLE cache size (old spelling of migrate_set_parameter xbzrle-cache-size)",
	  .doc = "qmig only (QEMU 7.2 removed it: `unknown command`). The same "
		 "as `migrate_set_parameter xbzrle-cache-size VALUE`, with its "
		 "syntax and errors.",
	  .handler = hmp_migrate_set_cache_size },
	{ .name = "migrate_set_cachesize",
	  .args = { { "value", HMP_ARG_STR, 0, HMP_COMPLETE_NONE } },
	  .params = "value",
	  .help = "set the XBZRLE cache size (2012 spelling of migrate_set_parameter xbzrle-cache-size)",
	  .doc = "qmig only, as `migrate_set_cache_size`.",
	  .handler = hmp_migrate_set_cache_size },
	{ .name = "migrate_set_capability",
	  .args = { { "capability", HMP_ARG_CAPABILITY, 0,
		      HMP_COMPLETE_CAPABILITY },
		    { "state", HMP_ARG_ON_OFF, 0, HMP_COMPLETE_ON_OFF } },
	  .params = "capability state",
	  .help = "Enable/Disable the usage of a capability for migration",
	  .doc = "STATE is exactly `on` or `off` (`Expected 'on' or 'off'`). "
		 "Unknown name (names are case-sensitive and hyphenated): "
		 "`invalid parameter value: NAME`. "
		 "QEMU's cross-checks and texts come first (`Multifd is not "
		 "compatible with compress`, ...); a capability qmig does not "
		 "implement can be turned off but not on: `Capability 'NAME' "
		 "is not supported by qmig`.",
	  .flags = CMD_NOT_WHILE_MIGRATING,
	  .handler = hmp_migrate_set_capability },
	{ .name = "migrate_set_parameter",
	  .args = { { "parameter", HMP_ARG_STR, 0, HMP_COMPLETE_PARAMETER },
		    { "value", HMP_ARG_STR, 0, HMP_COMPLETE_PARAM_VALUE } },
	  .params = "parameter value",
	  .help = "Set the parameter for migration",
	  .doc = "Any time, also during a migration. Value syntax and error "
		 "texts are QEMU 7.2's for each parameter (see Parameters "
		 "below). qmig also accepts underscores for hyphens "
		 "(`compress_level`), which QEMU 7.2 rejects.",
	  .handler = hmp_migrate_set_parameter },
	{ .name = "migrate_start_postcopy", .params = "",
	  .help = "Followup to a migration command to switch the migration to postcopy mode. The postcopy-ram capability must be set on both source and destination before the original migration command .",
	  .doc = "qmig migrates precopy only and postcopy-ram cannot be turned "
		 "on: always `Enable postcopy with migrate_set_capability "
		 "before the start of migration`.",
	  .handler = hmp_migrate_start_postcopy },
	{ .name = "pmemsave",
	  .args = { { "val", HMP_ARG_INT, 0, HMP_COMPLETE_NONE },
		    { "size", HMP_ARG_INT, 0, HMP_COMPLETE_NONE },
		    { "filename", HMP_ARG_STR, 0, HMP_COMPLETE_FILE } },
	  .params = "addr size file",
	  .help = "save to disk physical memory dump starting at 'addr' of size 'size'",
	  .doc = "ADDR and SIZE are expressions (`0x1000`, `4096 * 2`). The "
		 "file always gets SIZE bytes, also past the end of RAM. "
		 "`Could not open 'FILE': REASON`. Unlike QEMU, an operator not "
		 "followed by an operand ends the expression, so that "
		 "`pmemsave 0 4096 /tmp/f` works; and arithmetic wraps at 64 "
		 "bits, also `0x8000000000000000/-1`, of which QEMU 7.2 dies "
		 "(SIGFPE).",
	  .handler = hmp_pmemsave },
	{ .name = "quit", .alias = "q", .params = "",
	  .help = "quit the emulator",
	  .doc = "No output; qmig exits with status 0 (a piped script: 1 if "
		 "an earlier line failed).",
	  .handler = hmp_quit },
	{ .name = "stop", .alias = "s", .params = "",
	  .help = "stop emulation",
	  .doc = "Stops the guest's workload; idempotent.",
	  .handler = hmp_stop },
	{ .name = "sum",
	  .args = { { "start", HMP_ARG_INT32, 0, HMP_COMPLETE_NONE },
		    { "size", HMP_ARG_INT32, 0, HMP_COMPLETE_NONE } },
	  .params = "addr size",
	  .help = "compute the checksum of a memory region",
	  .doc = "The BSD checksum (Unix `sum`) of SIZE bytes of RAM from "
		 "ADDR, as five decimal digits. Both are 32-bit (`'sum' has "
		 "failed: integer is for 32-bit values`, also for a negative "
		 "one); bytes past the end of RAM count as 0, as QEMU's "
		 "unassigned memory.",
	  .handler = hmp_sum },
	{ .name = "system_reset", .params = "", .help = "reset the system",
	  .doc = "What a reset means on a machine of RAM alone, as in QEMU 7.2 "
		 "`-M none`: the QMP event `RESET` (`guest: false`, `reason: "
		 "host-qmp-system-reset`), RAM and the workloads untouched (QEMU "
		 "keeps RAM across a reset), and a VM that was not running (nor "
		 "migrating) becomes `paused (prelaunch)`, as QEMU's.",
	  .handler = hmp_system_reset },
	{ .name = "xp",
	  .args = { { "fmt", HMP_ARG_FORMAT, 0, HMP_COMPLETE_NONE },
		    { "addr", HMP_ARG_INT, 0, HMP_COMPLETE_NONE } },
	  .params = "/fmt addr",
	  .help = "physical memory dump starting at 'addr'",
	  .doc = "QEMU's dump: `/COUNT` units, FORMAT `x` (hex, the first "
		 "default), `d`, `u`, `o`, `c`, SIZE `b` `h` `w` (the first "
		 "default) `g`; a format or size left out is the last one "
		 "given (per session in qmig, per process in QEMU). A line "
		 "that leaves RAM: `Cannot access memory`. `i` (disassembly): "
		 "`Can not dump without CPU`.",
	  .handler = hmp_xp },
	{ 0 }
};
