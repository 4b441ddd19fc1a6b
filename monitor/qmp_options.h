/*
 * The capabilities and parameters in QMP's words: QEMU 7.2's JSON types,
 * member order and input-visitor errors for query-migrate-capabilities,
 * query-migrate-parameters, migrate-set-capabilities and
 * migrate-set-parameters.  Walks the tables of migration/options.h (one
 * JSON converter per parameter type); the store validates and commits.
 *
 * The handlers and visitors have the shapes of struct qmp_command's
 * members (monitor/qmp.h) and run as its rows say (vm->lock held).
 */
#ifndef QMIG_MONITOR_QMP_OPTIONS_H
#define QMIG_MONITOR_QMP_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "migration/options.h"
#include "monitor/qmp.h"
#include "util/error.h"

/*
 * MigrationParameters of a snapshot: QEMU 7.2's members in QEMU's order
 * (the rows' qmp_pos), then qmig's own that are not at their default
 * (mig_param_shown()).  A new reference.
 */
json_t *qmp_options_parameters_json(const struct mig_options *snap);

json_t *qmp_query_migrate_capabilities(struct qmp_session *s, json_t *args,
				       struct error **errp);
json_t *qmp_query_migrate_parameters(struct qmp_session *s, json_t *args,
				     struct error **errp);

/* QEMU's input visitor on MigrationCapabilityStatusList elements. */
bool qmp_visit_set_capabilities(struct qmp_session *s, json_t *args,
				struct error **errp);
json_t *qmp_migrate_set_capabilities(struct qmp_session *s, json_t *args,
				     struct error **errp);

/*
 * QEMU's input visitor on the MigrateSetParameters members present, in
 * the table's (schema) order: "Parameter 'compress-level' expects
 * uint8_t", "Invalid parameter type for 'tls-creds', expected:
 * StrOrNull", ...
 */
bool qmp_visit_set_parameters(struct qmp_session *s, json_t *args,
			      struct error **errp);
json_t *qmp_migrate_set_parameters(struct qmp_session *s, json_t *args,
				   struct error **errp);

#endif
