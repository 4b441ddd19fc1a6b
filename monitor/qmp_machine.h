/*
 * The QMP commands that describe the machine and the binary, which
 * libvirt 9.0's capability probe sends (shared/docs/libvirt-emulator.md
 * §1), and the machine's identity and power button: query-target,
 * query-kvm, query-qmp-schema, qom-list-types, query-machines,
 * device-list-properties, qom-list-properties,
 * query-command-line-options, query-uuid, system_powerdown.  Every
 * answer is true of qmig, from its own tables; where libvirt needs a
 * word qmig is not quite (the tcg-accel type of a machine that runs no
 * vCPU) docs/libvirt.md says so.
 */
#ifndef QMIG_MONITOR_QMP_MACHINE_H
#define QMIG_MONITOR_QMP_MACHINE_H

#include "monitor/qmp.h"

json_t *qmp_query_target(struct qmp_session *s, json_t *args,
			 struct error **errp);
json_t *qmp_query_kvm(struct qmp_session *s, json_t *args,
		      struct error **errp);
json_t *qmp_query_qmp_schema(struct qmp_session *s, json_t *args,
			     struct error **errp);
json_t *qmp_qom_list_types(struct qmp_session *s, json_t *args,
			   struct error **errp);
json_t *qmp_query_machines(struct qmp_session *s, json_t *args,
			   struct error **errp);
json_t *qmp_device_list_properties(struct qmp_session *s, json_t *args,
				   struct error **errp);
json_t *qmp_qom_list_properties(struct qmp_session *s, json_t *args,
				struct error **errp);
json_t *qmp_query_command_line_options(struct qmp_session *s, json_t *args,
				       struct error **errp);
json_t *qmp_query_uuid(struct qmp_session *s, json_t *args,
		       struct error **errp);
json_t *qmp_system_powerdown(struct qmp_session *s, json_t *args,
			     struct error **errp);
json_t *qmp_system_reset(struct qmp_session *s, json_t *args,
			 struct error **errp);

#endif
