#include "monitor/dirty_rate_cmds.h"

#include <inttypes.h>

#include "migration/dirty_rate.h"
#include "machine/vm.h"
#include "monitor/monitor.h"
#include "monitor/qmp_json.h"

void hmp_calc_dirty_rate(struct monitor *mon, const struct hmp_values *v)
{
	int64_t sec = v->num[CALC_ARG_SECOND];
	/* QEMU takes -1 for "not given", so `... 1 -1` is the default too. */
	int64_t pages = v->on[CALC_ARG_PAGES] ? v->num[CALC_ARG_PAGES] : -1;
	enum dirty_rate_mode mode = DIRTY_RATE_MODE_PAGE_SAMPLING;

	if (!sec) {
		monitor_printf(mon, "Incorrect period length specified!\n");
		return;
	}
	if (v->on[CALC_ARG_RING] && v->on[CALC_ARG_BITMAP]) {
		monitor_printf(mon, "Either dirty ring or dirty bitmap "
				    "can be specified!\n");
		return;
	}
	if (v->on[CALC_ARG_BITMAP])
		mode = DIRTY_RATE_MODE_DIRTY_BITMAP;
	else if (v->on[CALC_ARG_RING])
		mode = DIRTY_RATE_MODE_DIRTY_RING;
	struct error *err = NULL;
	if (!dirty_rate_start(mon->vm->dirty_rate, sec, pages != -1, pages,
			      mode, &err)) {
		monitor_error(mon, err->msg);
		error_free(err);
		return;
	}
	monitor_printf(mon, "Starting dirty rate measurement with period %"
			    PRId64 " seconds\n", sec);
	monitor_printf(mon,
		       "[Please use 'info dirty_rate' to check results]\n");
}

void hmp_info_dirty_rate(struct monitor *mon, const struct hmp_values *v)
{
	struct dirty_rate_info info;
	dirty_rate_info(mon->vm->dirty_rate, &info);
	monitor_printf(mon, "Status: %s\n", dirty_rate_status_name(info.status));
	/* "(ms)" is QEMU 7.2's word for a figure in seconds. */
	monitor_printf(mon, "Start Time: %" PRId64 " (ms)\n", info.start_time);
	monitor_printf(mon, "Sample Pages: %" PRIu64 " (per GB)\n",
		       info.sample_pages);
	monitor_printf(mon, "Period: %" PRId64 " (sec)\n", info.calc_time);
	monitor_printf(mon, "Mode: %s\n", dirty_rate_mode_name(info.mode));
	if (info.has_dirty_rate)
		monitor_printf(mon, "Dirty rate: %" PRId64 " (MB/s)\n",
			       info.dirty_rate);
	else
		monitor_printf(mon, "Dirty rate: (not ready)\n");
}

json_t *qmp_calc_dirty_rate(struct qmp_session *s, json_t *args,
			    struct error **errp)
{
	json_t *pages = json_object_get(args, "sample-pages");
	json_t *mode_arg = json_object_get(args, "mode");
	int mode = DIRTY_RATE_MODE_PAGE_SAMPLING;
	if (mode_arg) {
		mode = dirty_rate_mode_lookup(json_string_value(mode_arg));
		if (mode < 0) {
			error_setf(errp,
				   "Parameter 'mode' does not accept value '%s'",
				   json_string_value(mode_arg));
			return NULL;
		}
	}
	if (!dirty_rate_start(s->vm->dirty_rate,
			      json_integer_value(json_object_get(args,
								 "calc-time")),
			      pages != NULL,
			      pages ? json_integer_value(pages) : 0,
			      (enum dirty_rate_mode)mode, errp))
		return NULL;
	return json_object();
}

/* DirtyRateInfo in the member order QEMU 7.2 prints (its QDict's hash
 * order, not the schema's; test_qemu_fidelity compares the two live). */
json_t *qmp_query_dirty_rate(struct qmp_session *s, json_t *args,
			     struct error **errp)
{
	struct dirty_rate_info info;
	dirty_rate_info(s->vm->dirty_rate, &info);
	json_t *v = json_object();
	json_object_set_new(v, "status",
			    json_string(dirty_rate_status_name(info.status)));
	json_object_set_new(v, "sample-pages", qmp_json_u64(info.sample_pages));
	if (info.has_dirty_rate)
		json_object_set_new(v, "dirty-rate",
				    json_integer(info.dirty_rate));
	json_object_set_new(v, "mode",
			    json_string(dirty_rate_mode_name(info.mode)));
	json_object_set_new(v, "start-time", json_integer(info.start_time));
	json_object_set_new(v, "calc-time", json_integer(info.calc_time));
	return v;
}
