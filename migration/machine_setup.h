/*
 * The machine qmig runs: a vm (machine/vm.h) with its migration state
 * attached, the option store and the outgoing migration.  The machine
 * sits below the engine that reads it, so the engine attaches itself.
 */
#ifndef QMIG_MIGRATION_MACHINE_SETUP_H
#define QMIG_MIGRATION_MACHINE_SETUP_H

#include "machine/vm.h"

int machine_init(struct vm *vm, uint64_t ram_bytes, struct error **errp);
void machine_release(struct vm *vm);

#endif
