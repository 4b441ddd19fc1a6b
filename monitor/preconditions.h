/*
 * Preconditions a command row of either monitor can carry in its flags.
 * hmp.c and qmp.c check a row's flags with preconditions_check_locked()
 * once its arguments have parsed and before its handler runs, so each rule
 * and its error text live here once, not in each handler of each monitor.
 * They take bits 16 and up; below are each monitor's own row flags.
 */
#ifndef QMIG_MONITOR_PRECONDITIONS_H
#define QMIG_MONITOR_PRECONDITIONS_H

#include <stdbool.h>

#include "machine/vm.h"
#include "util/error.h"

enum {
	/* Refused while the outgoing migration runs: "There's a migration
	 * process in progress" (QEMU's QERR_MIGRATION_ACTIVE). */
	CMD_NOT_WHILE_MIGRATING = 1u << 16,
};

/* true if every rule in flags holds (vm->lock held); else *errp.  Other
 * bits of flags are ignored; no rule, no look at the vm. */
bool preconditions_check_locked(struct vm *vm, unsigned flags,
				struct error **errp);

#endif
