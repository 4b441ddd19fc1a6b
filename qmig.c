/*
 * qmig: one process plays one QEMU 7.2 of a live migration (`-M none`):
 * a source whose guest RAM a workload keeps writing, or a destination
 * started with -incoming.  This file is the command line and main().
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>

#include "migration/incoming.h"
#include "machine/machine_opts.h"
#include "migration/migration.h"
#include "migration/machine_setup.h"
#include "codec/xbzrle.h"
#include "monitor/chardev.h"
#include "monitor/hmp.h"
#include "monitor/host_signals.h"
#include "monitor/monitor_socket.h"
#include "monitor/monitor_stdio.h"
#include "monitor/qmp.h"
#include "monitor/qmp_cmdline.h"
#include "ram/ram_size.h"
#include "util/daemon.h"
#include "util/xalloc.h"

#define MAX_LIST 16

struct cmdline {
	uint64_t ram_bytes;
	const char *monitors[MAX_LIST];
	int nmonitors;
	const char *qmps[MAX_LIST];      /* -qmp */
	int nqmps;
	/* The N of each one's compat_monitorN: QEMU numbers -monitor and
	 * -qmp devices together, in command-line order (not -monitor none). */
	int monitor_no[MAX_LIST];
	int qmp_no[MAX_LIST];
	int ncompat;
	const char *chardevs[MAX_LIST];  /* -chardev */
	int nchardevs;
	const char *mons[MAX_LIST];      /* -mon */
	int nmons;
	const char *workloads[MAX_LIST];
	int nworkloads;
	const char *incoming;
	bool start_paused; /* -S */
	const char *name;  /* -name guest= */
	bool ram_given;    /* -m */
	bool daemonize;
	const char *pidfile;
	struct machine_opts machine; /* -machine, -uuid, -name, ... */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: qmig [options]\n"
		"Plays one QEMU 7.2 (machine 'none') in a live RAM migration.\n"
		"\n"
		"  -m [size=]SIZE[,slots=N][,maxmem=SIZE]\n"
		"                     guest RAM as QEMU reads it (suffixes k, M, G...;\n"
		"                     MiB without one; rounded up to 8k; default 128M)\n"
		"  -M NAME[,accel=tcg][,usb=off][,dump-guest-core=off][,memory-backend=ID]\n"
		"                     the machine: '" MACHINE_NAME "' or 'none' (the same one)\n"
		"  -monitor DEV       HMP monitor: stdio, unix:PATH,server=on,wait=off,\n"
		"                     tcp:HOST:PORT,server=on,wait=off or none (repeatable;\n"
		"                     default stdio)\n"
		"  -qmp DEV           QMP (JSON) monitor: unix:PATH,server=on,wait=off or\n"
		"                     tcp:HOST:PORT,server=on,wait=off (repeatable)\n"
		"  -chardev socket,id=ID,path=PATH|host=H,port=P|fd=N,server=on,wait=off\n"
		"  -mon chardev=ID,mode=control|readline\n"
		"                     a monitor on a chardev, as libvirt starts QEMU\n"
		"                     (any -qmp or -mon turns the default stdio monitor off)\n"
		"  -incoming URI      wait for a migration: tcp:HOST:PORT, unix:PATH,\n"
		"                     exec:COMMAND, or defer (then use migrate_incoming)\n"
		"  -S                 do not start the guest (after an incoming migration)\n"
		"  -name [guest=]NAME[,process=P][,debug-threads=on|off]\n"
		"                     the VM's name (process=: the process's name)\n"
		"  -uuid UUID         the VM's UUID (query-uuid, info uuid)\n"
		"  -daemonize         run in the background once the monitors listen\n"
		"  -pidfile FILE      write the process id to FILE\n"
		"  -no-shutdown       a guest shutdown stops the VM instead of exiting\n"
		"  -no-acpi           system_powerdown reaches no guest (POWERDOWN only)\n"
		"  -msg timestamp=on  prefix error messages with the time\n"
		"  -overcommit mem-lock=on|off\n"
		"                     mem-lock=on locks the guest RAM (mlockall)\n"
		"  -smp 1[,sockets=1,cores=1,threads=1]\n"
		"                     one vCPU at most (there is none to run)\n"
		"  -object secret,id=ID,file=F|data=D, -object memory-backend-ram,id=ID,size=S\n"
		"  -accel tcg, -rtc base=utc, -boot ..., -audiodev driver=none,id=ID,\n"
		"  -no-user-config    accepted as libvirt passes them; nothing to do\n"
		"  -workload SPEC     what the guest does to its RAM (repeatable):\n"
		"                     idle, image=FILE, seed, random[,rate=R][,area=A][,seed=N]\n"
		"  -nodefaults, -nographic, -display none\n"
		"                     accepted for QEMU compatibility\n"
		"  --dump-hmp-docs    print docs/monitor.md (generated from the\n"
		"                     monitor's command table) and exit\n"
		"  -h, --help         this text\n"
		"  -version, --version\n"
		"\n"
		"See docs/usage.md.\n");
}

static void __attribute__((noreturn)) die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "qmig: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'qmig --help' for more information.\n");
	exit(2);
}

static const char *need_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		die_usage("option '%s' needs an argument", argv[*i]);
	return argv[++*i];
}

/* Set by -msg timestamp=on, for the messages main() prints. */
static bool msg_timestamp;

/* QEMU's error_report() prefix: "2026-12-01T11:52:19.792584Z " with
 * -msg timestamp=on, then the program's name. */
static void print_error_prefix(void)
{
	if (msg_timestamp) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		char buf[32];
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%06ldZ ", buf, (long)tv.tv_usec);
	}
	fprintf(stderr, "qmig: ");
}

/* A machine option's refused value: QEMU's text, exit 1 as QEMU. */
static void __attribute__((noreturn)) die_machine_opt(const char *opt,
						       const char *arg,
						       struct error *err)
{
	print_error_prefix();
	if (machine_opts_error_prefix(opt))
		fprintf(stderr, "%s %s: ", opt, arg);
	fprintf(stderr, "%s\n", err->msg);
	exit(1);
}

/* -h, -version and -dump-hmp-docs answer and exit, wherever they are. */
static void print_and_exit_if_asked(const char *opt)
{
	if (!strcmp(opt, "-h") || !strcmp(opt, "-help")) {
		usage(stdout);
		exit(0);
	} else if (!strcmp(opt, "-version")) {
		printf("qmig version %s (migration stream and monitor of QEMU 7.2)\n",
		       QMIG_VERSION);
		exit(0);
	} else if (!strcmp(opt, "-dump-hmp-docs")) {
		struct strbuf sb;
		strbuf_init(&sb);
		hmp_docs_markdown(&sb);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
		exit(fflush(stdout) ? 1 : 0);
	}
}

/* The options that may be repeated, each into its list. */
static bool list_option(struct cmdline *cl, const char *opt,
			const char ***list, int **count)
{
	if (!strcmp(opt, "-monitor"))
		*list = cl->monitors, *count = &cl->nmonitors;
	else if (!strcmp(opt, "-qmp"))
		*list = cl->qmps, *count = &cl->nqmps;
	else if (!strcmp(opt, "-chardev"))
		*list = cl->chardevs, *count = &cl->nchardevs;
	else if (!strcmp(opt, "-mon"))
		*list = cl->mons, *count = &cl->nmons;
	else if (!strcmp(opt, "-workload"))
		*list = cl->workloads, *count = &cl->nworkloads;
	else
		return false;
	return true;
}

static void parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->ram_bytes = GUEST_RAM_DEFAULT_BYTES;
	machine_opts_init(&cl->machine);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		/* QEMU takes both -opt and --opt. */
		if (opt[0] == '-' && opt[1] == '-')
			opt++;
		print_and_exit_if_asked(opt);
		const char **list;
		int *count;
		if (list_option(cl, opt, &list, &count)) {
			if (*count == MAX_LIST)
				die_usage("too many %s options", opt);
			const char *v = need_arg(argc, argv, &i);
			if (list == cl->monitors && strcmp(v, "none"))
				cl->monitor_no[*count] = cl->ncompat++;
			else if (list == cl->qmps)
				cl->qmp_no[*count] = cl->ncompat++;
			list[(*count)++] = v;
		} else if (!strcmp(opt, "-m")) {
			/* QEMU 7.2's reading and words (ram/ram_size.h);
			 * it exits 1, hint lines unprefixed. */
			const char *v = need_arg(argc, argv, &i);
			struct error *err = NULL;
			if (ram_size_parse(v, &cl->ram_bytes, &err) < 0) {
				fprintf(stderr, "qmig: %s\n", err->msg);
				exit(1);
			}
			cl->ram_given = true;
		} else if (!strcmp(opt, "-incoming")) {
			cl->incoming = need_arg(argc, argv, &i);
		} else if (!strcmp(opt, "-S")) {
			cl->start_paused = true;
		} else if (!strcmp(opt, "-daemonize")) {
			cl->daemonize = true;
		} else if (!strcmp(opt, "-pidfile")) {
			cl->pidfile = need_arg(argc, argv, &i);
		} else if (!strcmp(opt, "-nodefaults") ||
			   !strcmp(opt, "-nographic")) {
			/* nothing to do: qmig has no default devices or display */
		} else if (!strcmp(opt, "-display")) {
			const char *v = need_arg(argc, argv, &i);
			if (strcmp(v, "none"))
				die_usage("unsupported display '%s': qmig has only 'none'",
					  v);
		} else if (machine_opts_takes_arg(opt)) {
			const char *v = need_arg(argc, argv, &i);
			struct error *err = NULL;
			if (machine_opts_parse(&cl->machine, opt, v, &err) < 0)
				die_machine_opt(opt, v, err);
			msg_timestamp = cl->machine.msg_timestamp;
		} else if (machine_opts_parse(&cl->machine, opt, NULL, NULL) == 1) {
			/* a flag: -no-shutdown, -no-acpi, -no-user-config */
		} else {
			die_usage("unknown option '%s'", argv[i]);
		}
	}
	struct error *err = NULL;
	if (!machine_opts_finish(&cl->machine, cl->ram_given, &cl->ram_bytes,
				 &err))
		die_machine_opt("-machine", "", err);
	cl->name = cl->machine.name;
}

/*
 * Test-only settings, read from the environment here and nowhere else
 * (library code never reads it; what changes a migration is a migration
 * parameter).  QMIG_XBZRLE=c|sse2|avx2|avx512 runs that XBZRLE encoder:
 * all give the same bytes, so tests and benchmarks can cover each.
 */
static void apply_test_settings(void)
{
	const char *name = getenv("QMIG_XBZRLE");
	if (!name)
		return;
	int v = xbzrle_variant_lookup(name);
	if (v < 0)
		fprintf(stderr, "qmig: QMIG_XBZRLE=%s ignored: no such XBZRLE "
			"encoder (c, sse2, avx2, avx512)\n", name);
	else if (!xbzrle_force_variant(v))
		fprintf(stderr, "qmig: QMIG_XBZRLE=%s ignored: this CPU cannot "
			"run it\n", name);
}

/* The machine: RAM, name, workloads. */
static bool build_vm(struct vm *vm, const struct cmdline *cl,
		     struct error **errp)
{
	if (machine_init(vm, cl->ram_bytes, errp) < 0)
		return false;
	if (cl->name)
		vm->name = xstrdup(cl->name);
	memcpy(vm->uuid, cl->machine.uuid, sizeof(vm->uuid));
	vm->has_uuid = cl->machine.has_uuid;
	vm->no_shutdown = cl->machine.no_shutdown;
	vm->no_acpi = cl->machine.no_acpi;
	vm->autostart = !cl->start_paused;
	for (int i = 0; i < cl->nworkloads; i++) {
		struct workload_spec spec;
		if (!workload_spec_parse(cl->workloads[i], &spec, errp))
			return false;
		int rc = vm_add_workload(vm, &spec, errp);
		workload_spec_release(&spec);
		if (rc < 0)
			return false;
	}
	return true;
}

/* The run state to begin in: inmigrate (listening unless "defer"),
 * prelaunch (-S) or running.  *context names a failing option. */
static bool start_vm(struct vm *vm, const struct cmdline *cl, char **context,
		     struct error **errp)
{
	bool ok = true;
	pthread_mutex_lock(&vm->lock);
	if (cl->incoming) {
		vm->incoming = incoming_new();
		vm->runstate = RUNSTATE_INMIGRATE;
		if (strcmp(cl->incoming, "defer") &&
		    !incoming_start(vm, cl->incoming, NULL, errp)) {
			/* QEMU names the option: "-incoming URI: MSG". */
			*context = xasprintf("-incoming %s: ", cl->incoming);
			ok = false;
		}
	} else if (cl->start_paused) {
		vm->runstate = RUNSTATE_PRELAUNCH;
	} else {
		vm_start_locked(vm);
	}
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

/* Whether stdin and stdout are a monitor: -monitor stdio, or no monitor
 * option at all (as QEMU: any of them replaces the default). */
static bool wants_stdio_monitor(const struct cmdline *cl)
{
	for (int i = 0; i < cl->nmonitors; i++)
		if (!strcmp(cl->monitors[i], "stdio"))
			return true;
	return cl->nmonitors == 0 && cl->nqmps == 0 && cl->nmons == 0;
}

/* The N of the stdio monitor's compat_monitorN: its place among -monitor
 * and -qmp, or 0 when it is the default. */
static int stdio_monitor_no(const struct cmdline *cl)
{
	for (int i = 0; i < cl->nmonitors; i++)
		if (!strcmp(cl->monitors[i], "stdio"))
			return cl->monitor_no[i];
	return 0;
}

/* -qmp, -chardev/-mon and -monitor; *stdio_monitor: see above. */
static bool start_monitors(struct vm *vm, struct qmp_server *qmp,
			   const struct cmdline *cl, bool *stdio_monitor,
			   struct error **errp)
{
	struct qmp_cmdline qcl = {
		.qmp = cl->qmps, .qmp_no = cl->qmp_no, .nqmp = cl->nqmps,
		.chardev = cl->chardevs, .nchardev = cl->nchardevs,
		.mon = cl->mons, .nmon = cl->nmons,
	};
	if (!qmp_cmdline_start(qmp, &qcl, errp))
		return false;
	*stdio_monitor = wants_stdio_monitor(cl);
	for (int i = 0; i < cl->nmonitors; i++) {
		const char *dev = cl->monitors[i];
		if (!strcmp(dev, "stdio") || !strcmp(dev, "none"))
			continue;
		struct chardev_spec spec;
		if (!chardev_spec_parse(dev, &spec, errp))
			return false;
		spec.option = "-monitor";
		char label[32];
		snprintf(label, sizeof(label), "compat_monitor%d",
			 cl->monitor_no[i]);
		bool ok = monitor_socket_start(vm, &spec, label, errp);
		chardev_spec_release(&spec);
		if (!ok)
			return false;
	}
	/* Every one listens: their sessions may start. */
	chardev_open_sessions(vm);
	return true;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	parse_cmdline(argc, argv, &cl);
	apply_test_settings();
	if (cl.daemonize && cl.nmonitors == 0 && cl.nqmps == 0 &&
	    cl.nmons == 0)
		die_usage("%s needs a monitor other than stdio (-qmp, -mon or -monitor)",
			  "-daemonize");
	for (int i = 0; cl.daemonize && i < cl.nmonitors; i++)
		if (!strcmp(cl.monitors[i], "stdio"))
			die_usage("%s cannot be used with -monitor stdio",
				  "-daemonize");
	if (cl.machine.process_name)
		prctl(PR_SET_NAME, cl.machine.process_name);
	/* A peer that goes away must fail the migration, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	static struct vm vm;
	static struct qmp_server qmp;
	struct error *err = NULL;
	char *fail_context = NULL; /* "OPTION VALUE: " before the message */
	bool stdio_monitor = false;
	int readyfd = -1;
	/* Before any thread: fork, and the child goes on. */
	if (cl.daemonize && (readyfd = daemon_start(&err)) < 0)
		goto fail;
	if (cl.pidfile && !pidfile_write(cl.pidfile, &err))
		goto fail;
	if (cl.machine.mem_lock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		error_setf(&err, "mlock: %s", strerror(errno));
		fail_context = xstrdup("locking memory failed: ");
		goto fail;
	}
	/* Before the first thread, which inherits the mask.  A terminal's
	 * readline session keeps Ctrl-C (it clears the line). */
	host_signals_block(!(wants_stdio_monitor(&cl) && isatty(STDIN_FILENO)));
	if (!build_vm(&vm, &cl, &err))
		goto fail;
	/* QMP: events to its clients, fd: URIs from its getfd registry. */
	qmp_server_init(&qmp, &vm);
	if (!host_signals_start(&vm, &qmp, &err))
		goto fail;
	/* Monitors last: a session must not see the VM before it runs. */
	if (!start_vm(&vm, &cl, &fail_context, &err) ||
	    !start_monitors(&vm, &qmp, &cl, &stdio_monitor, &err))
		goto fail;
	/* The monitors listen: a parent waiting for -daemonize may go. */
	if (readyfd >= 0)
		daemon_ready(readyfd);

	int status = 0;
	if (stdio_monitor) {
		char label[32];
		snprintf(label, sizeof(label), "compat_monitor%d",
			 stdio_monitor_no(&cl));
		status = monitor_stdio_run(&vm, label);
	} else {
		pthread_mutex_lock(&vm.lock);
		while (!vm.quit_requested)
			pthread_cond_wait(&vm.changed, &vm.lock);
		pthread_mutex_unlock(&vm.lock);
	}
	pthread_mutex_lock(&vm.lock);
	migration_reap_locked(&vm);
	pthread_mutex_unlock(&vm.lock);
	fflush(stdout);
	/* Exit without tearing down: threads may still be running, as in
	 * QEMU's quit; the OS reclaims the rest. */
	_exit(status);

fail:
	print_error_prefix();
	fprintf(stderr, "%s%s\n", fail_context ? fail_context : "",
		err->msg);
	/* As on quit: workload or monitor threads may be running, so no
	 * teardown; the OS reclaims the rest. */
	fflush(stdout);
	_exit(1);
}
