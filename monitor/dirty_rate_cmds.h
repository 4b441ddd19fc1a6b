/*
 * The dirty-rate commands of both monitors: HMP calc_dirty_rate and info
 * dirty_rate, QMP calc-dirty-rate and query-dirty-rate, worded as QEMU
 * 7.2 (migration/dirtyrate.c).  The measurement is migration/dirty_rate.
 */
#ifndef QMIG_MONITOR_DIRTY_RATE_CMDS_H
#define QMIG_MONITOR_DIRTY_RATE_CMDS_H

#include <jansson.h>

#include "monitor/hmp.h"
#include "monitor/qmp.h"

/* HMP argument slots of calc_dirty_rate, as its table row lists them. */
enum { CALC_ARG_RING, CALC_ARG_BITMAP, CALC_ARG_SECOND, CALC_ARG_PAGES };

void hmp_calc_dirty_rate(struct monitor *mon, const struct hmp_values *v);
void hmp_info_dirty_rate(struct monitor *mon, const struct hmp_values *v);

json_t *qmp_calc_dirty_rate(struct qmp_session *s, json_t *args,
			    struct error **errp);
json_t *qmp_query_dirty_rate(struct qmp_session *s, json_t *args,
			     struct error **errp);

#endif
