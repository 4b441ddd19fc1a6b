/*
 * The capabilities and parameters in QMP's words (contract in
 * qmp_options.h): one JSON converter per parameter type.
 */
#include "monitor/qmp_options.h"

#include <assert.h>
#include <string.h>

#include "monitor/qmp_json.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- per type: to JSON, and QEMU's input visitor from JSON ---- */

struct json_type_ops {
	json_t *(*to_json)(const struct mig_param_info *p, uint64_t num,
			   const char *str);
	/*
	 * Checks v as QEMU's input visitor does (false with its text); on
	 * success stores it into update->num/str[param].
	 */
	bool (*from_json)(enum mig_param param, json_t *v,
			  struct mig_param_update *update,
			  struct error **errp);
};

static json_t *uint_to_json(const struct mig_param_info *p, uint64_t num,
			    const char *str)
{
	return qmp_json_u64(num);
}

static json_t *bool_to_json(const struct mig_param_info *p, uint64_t num,
			    const char *str)
{
	return json_boolean(num);
}

static json_t *str_to_json(const struct mig_param_info *p, uint64_t num,
			   const char *str)
{
	return json_string_nocheck(str ? str : "");
}

static json_t *enum_to_json(const struct mig_param_info *p, uint64_t num,
			    const char *str)
{
	return json_string(p->enum_names[num]);
}

/* "Invalid parameter type for 'NAME', expected: TYPE" */
static bool type_error(const struct mig_param_info *p, struct error **errp)
{
	error_setf(errp, "Invalid parameter type for '%s', expected: %s",
		   p->name, mig_param_types[p->type].qmp_name);
	return false;
}

static bool uint_from_json(enum mig_param param, json_t *v,
			   struct mig_param_update *update,
			   struct error **errp)
{
	const struct mig_param_info *p = &mig_param_table[param];
	uint64_t u;

	if (!qmp_json_get_u64(v, &u)) {
		error_setf(errp, "Parameter '%s' expects uint64", p->name);
		return false;
	}
	if (!mig_param_types[p->type].check(p, u, errp))
		return false;
	update->has[param] = true;
	update->num[param] = u;
	return true;
}

static bool bool_from_json(enum mig_param param, json_t *v,
			   struct mig_param_update *update,
			   struct error **errp)
{
	if (!json_is_boolean(v))
		return type_error(&mig_param_table[param], errp);
	update->has[param] = true;
	update->num[param] = json_is_true(v);
	return true;
}

/* tls-creds, tls-hostname, tls-authz are StrOrNull. */
static bool str_from_json(enum mig_param param, json_t *v,
			  struct mig_param_update *update,
			  struct error **errp)
{
	if (json_is_null(v)) {
		mig_param_update_set_str(update, param, NULL);
		return true;
	}
	if (!qmp_json_is_string(v))
		return type_error(&mig_param_table[param], errp);
	mig_param_update_set_str(update, param, json_string_value(v));
	return true;
}

static bool enum_from_json(enum mig_param param, json_t *v,
			   struct mig_param_update *update,
			   struct error **errp)
{
	const struct mig_param_info *p = &mig_param_table[param];

	if (!qmp_json_is_string(v))
		return type_error(p, errp);
	int k = mig_param_enum_lookup(param, json_string_value(v));
	if (k < 0) {
		error_setf(errp, "Parameter '%s' does not accept value '%s'",
			   p->name, json_string_value(v));
		return false;
	}
	update->has[param] = true;
	update->num[param] = (uint64_t)k;
	return true;
}

static const struct json_type_ops json_types[] = {
	[MIG_PARAM_TYPE_U8] = { uint_to_json, uint_from_json },
	[MIG_PARAM_TYPE_U32] = { uint_to_json, uint_from_json },
	[MIG_PARAM_TYPE_U64] = { uint_to_json, uint_from_json },
	[MIG_PARAM_TYPE_SIZE] = { uint_to_json, uint_from_json },
	[MIG_PARAM_TYPE_BOOL] = { bool_to_json, bool_from_json },
	[MIG_PARAM_TYPE_STR] = { str_to_json, str_from_json },
	[MIG_PARAM_TYPE_ENUM] = { enum_to_json, enum_from_json },
};
_Static_assert(ARRAY_SIZE(json_types) == MIG_PARAM_TYPE__COUNT,
	       "json_types[] needs one entry per enum mig_param_type");

/* ---- parameters ---- */

json_t *qmp_options_parameters_json(const struct mig_options *snap)
{
	int order[MIG_PARAM__COUNT];
	json_t *v = json_object();

	/* The rows' qmp_pos is a permutation of 1..MIG_PARAM__COUNT
	 * (test_options checks it). */
	memset(order, -1, sizeof(order));
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		unsigned pos = mig_param_table[i].qmp_pos;

		assert(pos >= 1 && pos <= MIG_PARAM__COUNT &&
		       order[pos - 1] < 0);
		order[pos - 1] = i;
	}
	for (int k = 0; k < MIG_PARAM__COUNT; k++) {
		int i = order[k];
		const struct mig_param_info *p = &mig_param_table[i];

		if (!mig_param_shown(i, false, snap->num[i], snap->str[i]))
			continue;
		json_object_set_new(v, p->name,
				    json_types[p->type].to_json(
					    p, snap->num[i], snap->str[i]));
	}
	return v;
}

json_t *qmp_query_migrate_parameters(struct qmp_session *s, json_t *args,
				     struct error **errp)
{
	struct mig_options snap;
	mig_options_snapshot(s->vm->options, &snap);
	json_t *v = qmp_options_parameters_json(&snap);
	mig_options_release(&snap);
	return v;
}

/* Members absent from args are left alone; update may be scratch. */
static bool params_from_json(json_t *args, struct mig_param_update *update,
			     struct error **errp)
{
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];
		json_t *v = json_object_get(args, p->name);

		if (v && !json_types[p->type].from_json(i, v, update, errp))
			return false;
	}
	return true;
}

bool qmp_visit_set_parameters(struct qmp_session *s, json_t *args,
			      struct error **errp)
{
	struct mig_param_update scratch;
	mig_param_update_init(&scratch);
	bool ok = params_from_json(args, &scratch, errp);
	mig_param_update_release(&scratch);
	return ok;
}

json_t *qmp_migrate_set_parameters(struct qmp_session *s, json_t *args,
				   struct error **errp)
{
	struct mig_param_update update;
	mig_param_update_init(&update);
	bool ok = params_from_json(args, &update, errp) &&
		  mig_options_apply_params(s->vm->options, &update, errp);
	mig_param_update_release(&update);
	return ok ? json_object() : NULL;
}

/* ---- capabilities ---- */

json_t *qmp_query_migrate_capabilities(struct qmp_session *s, json_t *args,
				       struct error **errp)
{
	struct mig_options snap;
	mig_options_snapshot(s->vm->options, &snap);
	json_t *list = json_array();
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		json_array_append_new(list,
				      json_pack("{s:b,s:s}", "state",
						snap.caps[i], "capability",
						mig_cap_table[i].name));
	mig_options_release(&snap);
	return list;
}

/* One MigrationCapabilityStatus, element i of the list. */
static bool visit_capability(size_t i, json_t *el, struct error **errp)
{
	if (!json_is_object(el)) {
		error_setf(errp,
			   "Invalid parameter type for 'capabilities[%zu]', expected: object",
			   i);
		return false;
	}
	json_t *cap = json_object_get(el, "capability");
	json_t *state = json_object_get(el, "state");
	if (!cap) {
		error_setf(errp,
			   "Parameter 'capabilities[%zu].capability' is missing",
			   i);
		return false;
	}
	if (!qmp_json_is_string(cap)) {
		error_setf(errp,
			   "Invalid parameter type for 'capabilities[%zu].capability', expected: string",
			   i);
		return false;
	}
	if (mig_cap_lookup(json_string_value(cap)) < 0) {
		error_setf(errp,
			   "Parameter 'capability' does not accept value '%s'",
			   json_string_value(cap));
		return false;
	}
	if (!state) {
		error_setf(errp,
			   "Parameter 'capabilities[%zu].state' is missing", i);
		return false;
	}
	if (!json_is_boolean(state)) {
		error_setf(errp,
			   "Invalid parameter type for 'capabilities[%zu].state', expected: boolean",
			   i);
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(el, key, v) {
		if (strcmp(key, "capability") && strcmp(key, "state")) {
			error_setf(errp,
				   "Parameter 'capabilities[%zu].%s' is unexpected",
				   i, key);
			return false;
		}
	}
	return true;
}

bool qmp_visit_set_capabilities(struct qmp_session *s, json_t *args,
				struct error **errp)
{
	size_t i;
	json_t *el;
	json_array_foreach(json_object_get(args, "capabilities"), i, el)
		if (!visit_capability(i, el, errp))
			return false;
	return true;
}

json_t *qmp_migrate_set_capabilities(struct qmp_session *s, json_t *args,
				     struct error **errp)
{
	struct mig_cap_update update;
	memset(&update, 0, sizeof(update));
	size_t i;
	json_t *el;
	json_array_foreach(json_object_get(args, "capabilities"), i, el) {
		int cap = mig_cap_lookup(
			json_string_value(json_object_get(el, "capability")));
		update.set[cap] = true;
		update.state[cap] = json_is_true(json_object_get(el, "state"));
	}
	if (!mig_options_apply_caps(s->vm->options, &update, errp))
		return NULL;
	return json_object();
}
