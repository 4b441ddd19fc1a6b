/*
 * The machine qmig runs: a vm (migration/vm.h) with its outgoing
 * migration attached.  It lives apart from vm.c so that the machine's
 * state sits below the migration engine that reads it: migration.c
 * includes vm.h, and only this file includes both.
 */
#ifndef QMIG_MIGRATION_MACHINE_H
#define QMIG_MIGRATION_MACHINE_H

#include "migration/vm.h"

int machine_init(struct vm *vm, uint64_t ram_bytes, struct error **errp);
void machine_release(struct vm *vm);

#endif
