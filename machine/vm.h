/*
 * The virtual machine qmig plays: its RAM, the workloads that write it,
 * its run state and events.  The migration state it carries (options,
 * outgoing and incoming migrations) is only pointed to here: migration/
 * reads the machine, the machine does not know the engine
 * (migration/machine_setup.c attaches it).  One big lock (QEMU's BQL)
 * guards the run state and the migration states; monitors take it for
 * every command, the migration threads only around state changes, never
 * across I/O.
 */
#ifndef QMIG_MACHINE_VM_H
#define QMIG_MACHINE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "machine/guest_clock.h"
#include "ram/guest_ram.h"
#include "ram/workload.h"

/* QEMU's RunState values that qmig's machine can be in. */
enum runstate {
	RUNSTATE_PRELAUNCH,     /* -S, nothing migrated in yet */
	RUNSTATE_RUNNING,
	RUNSTATE_PAUSED,        /* stop */
	RUNSTATE_INMIGRATE,     /* destination waiting for / loading a stream */
	RUNSTATE_FINISH_MIGRATE,/* source stopped for the switch-over */
	RUNSTATE_POSTMIGRATE,   /* source after a completed migration */
	RUNSTATE_SHUTDOWN,
};

const char *runstate_name(enum runstate state);

struct mig_options; /* migration/options.h */
struct migration;   /* migration/migration.h */
struct incoming;    /* migration/incoming.h */
struct dirty_rate;  /* migration/dirty_rate.h */

/* What happened, as the engine knows it; the QMP layer turns it into
 * QEMU's event name and data. */
enum vm_event_kind {
	VM_EVENT_STOP,
	VM_EVENT_RESUME,
	VM_EVENT_MIGRATION,       /* .status: either direction's new state */
	VM_EVENT_MIGRATION_PASS,  /* .pass: the dirty sync count */
	VM_EVENT_RESET,           /* a monitor's system_reset */
	VM_EVENT_POWERDOWN,       /* the power button was pressed */
	VM_EVENT_SHUTDOWN,        /* the guest shut itself down */
	VM_EVENT_HOST_SIGNAL,     /* SIGTERM and the like: qmig ends */
};

struct vm_event {
	enum vm_event_kind kind;
	const char *status; /* MIGRATION: QEMU's MigrationStatus name */
	uint64_t pass;      /* MIGRATION_PASS */
};

/*
 * A monitor's character device, as `info chardev` and query-chardev list
 * it: -chardev's id or QEMU's "compat_monitorN", and QEMU's filename
 * ("unix:PATH,server=on", "tcp:HOST:PORT,server=on" with the port the
 * socket got, "stdio").
 */
struct vm_chardev {
	char *label;
	char *filename;
};

#define VM_MAX_CHARDEVS 64

/* Receives events with vm->lock held (QMP delivers them). */
typedef void (*vm_event_fn)(void *opaque, const struct vm_event *event);

struct vm {
	pthread_mutex_t lock;      /* the big lock: fields below */
	pthread_cond_t changed;    /* broadcast on every state change */
	enum runstate runstate;
	/* runstate == running, readable without the lock (the RAM code
	 * counts bytes sent while the guest runs as precopy bytes). */
	atomic_bool guest_running;
	bool autostart;            /* run after an incoming migration (no -S) */
	char *name;                /* -name, or NULL */
	uint8_t uuid[16];          /* -uuid; zero without (as QEMU) */
	bool has_uuid;             /* -uuid was given (QEMU's qemu_uuid_set) */
	bool no_shutdown;          /* -no-shutdown: a guest shutdown stops */
	bool no_acpi;              /* -no-acpi: system_powerdown reaches no
				    * guest */

	struct guest_ram ram;      /* fixed after vm_init */
	/* One allocation each: a workload's thread holds its address, so
	 * adding one must not move the others (a realloc'd array did). */
	struct workload **workloads;
	size_t nworkloads;
	struct mig_options *options; /* has its own lock; by machine_init */
	struct migration *outgoing;  /* attached by machine_init */
	struct incoming *incoming;  /* NULL unless -incoming was given */
	struct dirty_rate *dirty_rate; /* calc-dirty-rate's; by machine_init */
	struct guest_clock clock;   /* runs while the VM runs (timer section) */

	vm_event_fn event_fn;       /* may be NULL */
	void *event_opaque;
	bool quit_requested;        /* `quit`: main() exits */
	/* The monitors' character devices, in the order they started. */
	struct vm_chardev chardevs[VM_MAX_CHARDEVS];
	int nchardevs;
	/* Monitor connections open now, HMP and QMP together (no lock:
	 * monitor/monitor_socket.c's accept loops cap it). */
	atomic_int monitor_connections;
	/* Start-up has created every monitor: their sessions may start
	 * (monitor/chardev.h, chardev_open_sessions). */
	bool monitors_open;
};

/* The bare machine: RAM and run state, no migration state attached
 * (migration/machine_setup.h builds the whole one). */
int vm_init(struct vm *vm, uint64_t ram_bytes, struct error **errp);
void vm_release(struct vm *vm);

/* Starts the workloads, so that they write while the VM runs. */
int vm_add_workload(struct vm *vm, const struct workload_spec *spec,
		    struct error **errp);

/* Run control; the caller holds vm->lock. */
void vm_stop_locked(struct vm *vm, enum runstate new_state);
void vm_start_locked(struct vm *vm);
bool vm_is_running_locked(const struct vm *vm);

/* The monitors' `stop` and `cont` (QEMU's qmp_stop, qmp_cont), held lock.
 * On a destination still in inmigrate they only decide whether the guest
 * runs once the migration is in; `cont` refuses in finish-migrate with
 * "Migration is not finalized yet". */
void vm_user_stop_locked(struct vm *vm);
bool vm_user_cont_locked(struct vm *vm, struct error **errp);
void vm_emit_event_locked(struct vm *vm, const struct vm_event *event);

/*
 * The monitors' system_reset (held lock).  The machine has no CPU, no
 * ROM and no device whose state a reset restores, and QEMU keeps RAM
 * across a reset, so what remains is QEMU's visible part: the RESET
 * event, and a VM that is not running (nor migrating in or out) becomes
 * `prelaunch`, as QEMU's main loop does after a reset.
 */
void vm_system_reset_locked(struct vm *vm);

/* Records a monitor's character device (held lock); past
 * VM_MAX_CHARDEVS the device works but is not listed. */
void vm_add_chardev_locked(struct vm *vm, const char *label,
			   const char *filename);

/*
 * system_powerdown: POWERDOWN; then, unless -no-acpi left the machine
 * without the ACPI power button, the guest shuts down as an obedient OS
 * does (SHUTDOWN, guest-shutdown): with -no-shutdown it stops in
 * "shutdown" (STOP), else the process is to exit, which the return value
 * says (the caller exits once its reply is out).
 */
bool vm_powerdown_locked(struct vm *vm);

#endif
