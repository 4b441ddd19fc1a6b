/*
 * The capabilities and parameters in HMP's words: QEMU 7.2's value syntax
 * for `migrate_set_parameter`, its error texts, and what
 * `info migrate_capabilities` / `info migrate_parameters` print.  Walks
 * the tables of options.h; the store does the validating and committing.
 *
 * Thread safety: functions taking a struct mig_options go through the
 * store's locked API (a snapshot to format); the others touch only their
 * arguments.
 */
#ifndef QMIG_MIGRATION_OPTIONS_HMP_H
#define QMIG_MIGRATION_OPTIONS_HMP_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/options.h"
#include "util/error.h"
#include "util/strbuf.h"

/*
 * The lookups with HMP's error for an unknown name (QEMU 7.2:
 * "invalid parameter value: foo"; for the QMP-only parameter
 * block-bitmap-mapping "The block-bitmap-mapping parameter can only be set
 * through QMP").  Return -1 after setting *errp.
 */
int mig_cap_lookup_hmp(const char *name, struct error **errp);
int mig_param_lookup_hmp(const char *name, bool accept_underscores,
			 struct error **errp);

/*
 * Parses an HMP value for one parameter into `update` (sets has[param]
 * and num[param], or replaces str[param] with a copy), with QEMU 7.2's
 * HMP syntax (mig_param_table[].hmp_syntax) and error texts, which name
 * the parameter with hyphens.  On error `update` is unchanged.  Range
 * checks happen in mig_options_apply_params(), as in QEMU.
 */
bool mig_param_parse_hmp(enum mig_param param, const char *value,
			 struct mig_param_update *update, struct error **errp);

/*
 * What HMP's `migrate_set_capability NAME on|off` and
 * `migrate_set_parameter NAME VALUE` do once the line is split: lookup
 * (mig_*_lookup_hmp), parse, validate, commit, with QEMU's error texts.
 * Whether the migration state allows it is still the caller's business.
 */
bool mig_options_set_cap_hmp(struct mig_options *o, const char *name,
			     bool state, struct error **errp);
bool mig_options_set_param_hmp(struct mig_options *o, const char *name,
			       const char *value, bool accept_underscores,
			       struct error **errp);

/*
 * One value as `info migrate_parameters` prints it after "name: ": the
 * number with the row's unit, on/off, 'string', the enum name.  str for
 * string types (NULL reads as "").
 */
void mig_param_format_hmp(enum mig_param param, uint64_t num,
			  const char *str, struct strbuf *out);

/*
 * `info migrate_capabilities` and `info migrate_parameters` as QEMU 7.2
 * prints them ("name: value[unit]" lines ending in '\n'), appended to
 * out.  The parameters are the MIG_SHOWN_HMP_QMP rows, then the
 * MIG_SHOWN_WHEN_SET rows that are not at their default.
 */
void mig_options_format_caps(struct mig_options *o, struct strbuf *out);
void mig_options_format_params(struct mig_options *o, struct strbuf *out);

#endif
