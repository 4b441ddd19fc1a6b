/*
 * QEMU's MigrationStatus: the states both directions of a migration go
 * through, their names on the wire of QMP and in `info migrate`, and the
 * groupings the monitors and the engine ask about.  A header of its own so
 * that the machine (vm.h) can name a status without the migration.
 */
#ifndef QMIG_MIGRATION_MIG_STATUS_H
#define QMIG_MIGRATION_MIG_STATUS_H

#include <stdbool.h>

/* QEMU's MigrationStatus, in its order. */
enum mig_status {
	MIG_STATUS_NONE,
	MIG_STATUS_SETUP,
	MIG_STATUS_CANCELLING,
	MIG_STATUS_CANCELLED,
	MIG_STATUS_ACTIVE,
	MIG_STATUS_POSTCOPY_ACTIVE,
	MIG_STATUS_POSTCOPY_PAUSED,
	MIG_STATUS_POSTCOPY_RECOVER,
	MIG_STATUS_COMPLETED,
	MIG_STATUS_FAILED,
	MIG_STATUS_COLO,
	MIG_STATUS_PRE_SWITCHOVER,
	MIG_STATUS_DEVICE,
	MIG_STATUS_WAIT_UNPLUG,
	MIG_STATUS__COUNT
};

const char *mig_status_name(enum mig_status status);
int mig_status_lookup(const char *name); /* -1 if unknown */
/* setup, active, cancelling, pre-switchover, device...: still going. */
bool mig_status_is_running(enum mig_status status);
/* active-like states: `info migrate` shows the RAM block. */
bool mig_status_is_active_like(enum mig_status status);

#endif
