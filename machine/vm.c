#include "machine/vm.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/xalloc.h"

const char *runstate_name(enum runstate state)
{
	switch (state) {
	case RUNSTATE_PRELAUNCH: return "prelaunch";
	case RUNSTATE_RUNNING: return "running";
	case RUNSTATE_PAUSED: return "paused";
	case RUNSTATE_INMIGRATE: return "inmigrate";
	case RUNSTATE_FINISH_MIGRATE: return "finish-migrate";
	case RUNSTATE_POSTMIGRATE: return "postmigrate";
	case RUNSTATE_SHUTDOWN: return "shutdown";
	}
	return "unknown";
}

int vm_init(struct vm *vm, uint64_t ram_bytes, struct error **errp)
{
	memset(vm, 0, sizeof(*vm));
	if (guest_ram_init(&vm->ram, ram_bytes, errp) < 0)
		return -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->changed, NULL);
	vm->runstate = RUNSTATE_PAUSED;
	vm->autostart = true;
	guest_clock_init(&vm->clock);
	return 0;
}

void vm_release(struct vm *vm)
{
	for (size_t i = 0; i < vm->nworkloads; i++) {
		workload_stop(vm->workloads[i]);
		free(vm->workloads[i]);
	}
	free(vm->workloads);
	guest_ram_release(&vm->ram);
	free(vm->name);
	for (int i = 0; i < vm->nchardevs; i++) {
		free(vm->chardevs[i].label);
		free(vm->chardevs[i].filename);
	}
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->changed);
}

int vm_add_workload(struct vm *vm, const struct workload_spec *spec,
		    struct error **errp)
{
	struct workload *w = xcalloc(1, sizeof(*w));
	vm->ram.pristine = false;
	if (workload_start(w, spec, &vm->ram, errp) < 0) {
		free(w);
		return -1;
	}
	vm->workloads = xrealloc(vm->workloads,
				 (vm->nworkloads + 1) * sizeof(*vm->workloads));
	vm->workloads[vm->nworkloads++] = w;
	if (vm->runstate == RUNSTATE_RUNNING)
		workload_resume(w);
	return 0;
}

bool vm_is_running_locked(const struct vm *vm)
{
	return vm->runstate == RUNSTATE_RUNNING;
}

void vm_emit_event_locked(struct vm *vm, const struct vm_event *event)
{
	if (vm->event_fn)
		vm->event_fn(vm->event_opaque, event);
}

void vm_system_reset_locked(struct vm *vm)
{
	vm_emit_event_locked(vm, &(struct vm_event){ .kind = VM_EVENT_RESET });
	if (vm->runstate != RUNSTATE_RUNNING &&
	    vm->runstate != RUNSTATE_INMIGRATE &&
	    vm->runstate != RUNSTATE_FINISH_MIGRATE) {
		vm->runstate = RUNSTATE_PRELAUNCH;
		pthread_cond_broadcast(&vm->changed);
	}
}

void vm_stop_locked(struct vm *vm, enum runstate new_state)
{
	bool was_running = vm->runstate == RUNSTATE_RUNNING;
	for (size_t i = 0; i < vm->nworkloads; i++)
		workload_pause(vm->workloads[i]);
	vm->runstate = new_state;
	atomic_store(&vm->guest_running, false);
	guest_clock_disable(&vm->clock);
	if (was_running)
		vm_emit_event_locked(vm, &(struct vm_event){ .kind = VM_EVENT_STOP });
	pthread_cond_broadcast(&vm->changed);
}

void vm_user_stop_locked(struct vm *vm)
{
	if (vm->runstate == RUNSTATE_INMIGRATE)
		vm->autostart = false; /* stay paused after the migration */
	else if (vm->runstate == RUNSTATE_RUNNING)
		vm_stop_locked(vm, RUNSTATE_PAUSED);
}

bool vm_user_cont_locked(struct vm *vm, struct error **errp)
{
	switch (vm->runstate) {
	case RUNSTATE_INMIGRATE:
		vm->autostart = true;
		return true;
	case RUNSTATE_FINISH_MIGRATE:
		error_setf(errp, "Migration is not finalized yet");
		return false;
	case RUNSTATE_SHUTDOWN:
		/* -no-shutdown kept the machine; QEMU wants a reset first */
		error_setf(errp, "Resetting the Virtual Machine is required");
		return false;
	default:
		vm_start_locked(vm);
		return true;
	}
}

void vm_start_locked(struct vm *vm)
{
	if (vm->runstate == RUNSTATE_RUNNING)
		return;
	vm->runstate = RUNSTATE_RUNNING;
	atomic_store(&vm->guest_running, true);
	guest_clock_enable(&vm->clock);
	for (size_t i = 0; i < vm->nworkloads; i++)
		workload_resume(vm->workloads[i]);
	vm_emit_event_locked(vm, &(struct vm_event){ .kind = VM_EVENT_RESUME });
	pthread_cond_broadcast(&vm->changed);
}

void vm_add_chardev_locked(struct vm *vm, const char *label,
			   const char *filename)
{
	if (vm->nchardevs == VM_MAX_CHARDEVS)
		return;
	vm->chardevs[vm->nchardevs].label = xstrdup(label);
	vm->chardevs[vm->nchardevs].filename = xstrdup(filename);
	vm->nchardevs++;
}

bool vm_powerdown_locked(struct vm *vm)
{
	vm_emit_event_locked(vm, &(struct vm_event){ .kind = VM_EVENT_POWERDOWN });
	if (vm->no_acpi)
		return false; /* no ACPI: the button reaches no guest */
	vm_emit_event_locked(vm, &(struct vm_event){ .kind = VM_EVENT_SHUTDOWN });
	if (!vm->no_shutdown)
		return true;
	vm_stop_locked(vm, RUNSTATE_SHUTDOWN);
	return false;
}
