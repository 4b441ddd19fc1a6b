/*
 * The virtual machine qmig plays: its RAM, the workloads that write it,
 * its run state, the migration options, and the outgoing and incoming
 * migrations.  One big lock (QEMU's BQL) guards the run state and the
 * migration states; monitors take it for every command, the migration
 * threads only around state changes, never across I/O.
 */
#ifndef QMIG_MIGRATION_VM_H
#define QMIG_MIGRATION_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/mig_status.h"
#include "migration/options.h"
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

struct migration;  /* migration/migration.h */
struct incoming;   /* migration/incoming.h */

/* What happened, as the engine knows it; the QMP layer turns it into
 * QEMU's event name and data. */
enum vm_event_kind {
	VM_EVENT_STOP,
	VM_EVENT_RESUME,
	VM_EVENT_MIGRATION,       /* .status: either direction's new state */
	VM_EVENT_MIGRATION_PASS,  /* .pass: the dirty sync count */
	VM_EVENT_POWERDOWN,       /* the power button was pressed */
	VM_EVENT_SHUTDOWN,        /* the guest shut itself down */
};

struct vm_event {
	enum vm_event_kind kind;
	enum mig_status status;
	uint64_t pass;
};

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
	bool no_shutdown;          /* -no-shutdown: a guest shutdown stops */
	bool no_acpi;              /* -no-acpi: system_powerdown reaches no
				    * guest */

	struct guest_ram ram;      /* fixed after vm_init */
	/* One allocation each: a workload's thread holds its address, so
	 * adding one must not move the others (a realloc'd array did). */
	struct workload **workloads;
	size_t nworkloads;
	struct mig_options options; /* has its own lock */
	struct migration *outgoing; /* never NULL after vm_init */
	struct incoming *incoming;  /* NULL unless -incoming was given */
	int64_t clock_offset_ns;    /* for the timer device section */

	vm_event_fn event_fn;       /* may be NULL */
	void *event_opaque;
	bool quit_requested;        /* `quit`: main() exits */
	/* Monitor connections open now, HMP and QMP together (no lock:
	 * monitor/monitor_socket.c's accept loops cap it). */
	atomic_int monitor_connections;
};

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
 * system_powerdown: POWERDOWN; then, unless -no-acpi left the machine
 * without the ACPI power button, the guest shuts down as an obedient OS
 * does (SHUTDOWN, guest-shutdown): with -no-shutdown it stops in
 * "shutdown" (STOP), else the process is to exit, which the return value
 * says (the caller exits once its reply is out).
 */
bool vm_powerdown_locked(struct vm *vm);

#endif
