/*
 * QEMU 7.2's checks of a whole capability or parameter set, in QEMU's
 * order, so that the first error reported is QEMU's
 * (migrate_caps_check(), migrate_params_check()).  Pure functions over
 * merged copies: the store (options.c) calls them under its lock before a
 * commit.  No lock, no allocation beyond *errp.
 */
#ifndef QMIG_MIGRATION_OPTIONS_CHECK_H
#define QMIG_MIGRATION_OPTIONS_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/options_table.h"

/*
 * The capability set caps[] with the parameters num[]/str[]: QEMU's
 * cross-checks first, then qmig's "not supported" refusals.
 */
bool mig_caps_check(const bool *caps, const uint64_t *num, char *const *str,
		    struct error **errp);

/*
 * The parameter set num[]/str[] with the capabilities caps[]: every
 * type's bounds in table order, then QEMU's range checks in QEMU's order
 * (changed or not), then the checks across capabilities.
 */
bool mig_params_check(const uint64_t *num, char *const *str,
		      const bool *caps, struct error **errp);

#endif
