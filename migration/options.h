/*
 * The migration capabilities and parameters: one table row per capability
 * and per parameter (name, type, default, range, unit, QMP position, where
 * it is shown, what a change does to a running migration), and the store
 * that holds their values.  QEMU 7.2's names, defaults, order and error
 * texts (shared/docs/monitor-reference.md §4-5).
 *
 * Where each job is:
 *   migration/options_table.c   the rows, the per-type operations, lookups
 *   migration/options_check.c   QEMU 7.2's checks of a merged set, in order
 *   migration/options.c         the store: lock, snapshot, commit, generation
 *   migration/options_hmp.c     HMP syntax: migrate_set_*, info migrate_*
 *   monitor/qmp_options.c       QMP: query-migrate-*, migrate-set-* (JSON)
 * A parameter of an existing type is one row here and in options_table.c
 * (plus its tests); the monitors and the checks walk the table.
 *
 * Changes are all-or-nothing: an update is parsed into a struct
 * mig_param_update / mig_cap_update, validated on a copy of the current
 * values, and only then committed; on any error nothing changes.
 *
 * Thread safety: every function taking a struct mig_options may be called
 * from any thread; the store has its own lock.  Whether a change is allowed
 * in the current migration state (capabilities are frozen while an outgoing
 * migration runs) is decided by the caller, which knows that state.
 */
#ifndef QMIG_MIGRATION_OPTIONS_H
#define QMIG_MIGRATION_OPTIONS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/options_table.h"
#include "util/error.h"

struct mig_options {
	pthread_mutex_t lock;            /* guards every field below */
	bool caps[MIG_CAP__COUNT];       /* capability states */
	uint64_t num[MIG_PARAM__COUNT];  /* numbers, bools 0/1, enum index */
	char *str[MIG_PARAM__COUNT];     /* string parameters (owned), else NULL */
	uint64_t generation;             /* bumped by every successful commit */
	/*
	 * The generation of the commit that last changed each parameter's
	 * value (0: still the default); setting the same value again does
	 * not count as a change.
	 */
	uint64_t changed[MIG_PARAM__COUNT];
};

/* A set of capability changes: only members with set[i] are changed. */
struct mig_cap_update {
	bool set[MIG_CAP__COUNT];
	bool state[MIG_CAP__COUNT];
};

/* A set of parameter changes: only members with has[i] are changed. */
struct mig_param_update {
	bool has[MIG_PARAM__COUNT];
	uint64_t num[MIG_PARAM__COUNT];
	char *str[MIG_PARAM__COUNT]; /* owned; freed by _release */
};

void mig_options_init(struct mig_options *o);    /* every default */
void mig_options_release(struct mig_options *o);

bool mig_options_cap(struct mig_options *o, enum mig_cap cap);
uint64_t mig_options_num(struct mig_options *o, enum mig_param param);
uint64_t mig_options_generation(struct mig_options *o);
/* A consistent copy of everything (the caller releases it). */
void mig_options_snapshot(struct mig_options *o, struct mig_options *copy);

/* A copy of a string parameter ("" when unset); the caller frees it. */
char *mig_options_str_dup(struct mig_options *o, enum mig_param param);

/*
 * The OR of the `apply` bits of every parameter whose value a commit
 * after generation `since` changed: what a migration that read the
 * options at `since` has to act on.
 */
unsigned mig_options_applies_since(struct mig_options *o, uint64_t since);

/*
 * Applies the update to a copy of the current capabilities and validates
 * the resulting set: first QEMU 7.2's cross-checks in QEMU's order and
 * with its texts (postcopy-ram vs x-ignore-shared, zero-copy-send needs
 * multifd without compress/xbzrle/multifd-compression/TLS, postcopy-preempt
 * needs postcopy-ram and no compress, multifd vs compress), so that QEMU's
 * message appears wherever QEMU gives one; then mig_cap_table's
 * unsupported entries.  On success commits and bumps the generation; on
 * error changes nothing.
 */
bool mig_options_apply_caps(struct mig_options *o,
			    const struct mig_cap_update *update,
			    struct error **errp);

/*
 * Merges the update into a copy of the current values and validates the
 * whole copy: the bounds of each QMP type ("Parameter 'compress-level'
 * expects uint8_t"), then QEMU 7.2's migrate_params_check() in its order
 * and with its texts (underscore names: "Parameter 'compress_level'
 * expects a value between 0 and 9").  On success commits every member of
 * the update and bumps the generation (also for an empty update); on
 * error changes nothing.  A string member that is NULL is stored as "".
 */
bool mig_options_apply_params(struct mig_options *o,
			      const struct mig_param_update *update,
			      struct error **errp);
void mig_param_update_init(struct mig_param_update *update); /* empty */
void mig_param_update_release(struct mig_param_update *update);
/* Sets a string member (a copy of value; NULL for QMP's null). */
void mig_param_update_set_str(struct mig_param_update *update,
			      enum mig_param param, const char *value);

#endif
