#include "monitor/qmp_machine.h"

#include <stdlib.h>
#include <string.h>

#include "machine/machine_opts.h"
#include "migration/options_table.h"
#include "util/xalloc.h"

json_t *qmp_query_target(struct qmp_session *s, json_t *args,
			 struct error **errp)
{
	/* The stream is QEMU's qemu-system-x86_64 -M none. */
	return json_pack("{s:s}", "arch", "x86_64");
}

json_t *qmp_query_kvm(struct qmp_session *s, json_t *args,
		      struct error **errp)
{
	/* qmig runs no vCPU, so no KVM either; "present": false also keeps
	 * libvirt's cached probe valid (it re-probes when KVM changes). */
	return json_pack("{s:b,s:b}", "enabled", 0, "present", 0);
}

/* ---- query-qmp-schema ---- */

/*
 * SchemaInfo for qmig's own commands and events.  Argument members come
 * from the command table (and the parameter table for
 * migrate-set-parameters); return types are "any", which claims nothing
 * qmig does not do.  Type names are qmig's own (QEMU numbers them;
 * clients must not rely on either).
 */
static json_t *builtin(const char *name, const char *json_type)
{
	return json_pack("{s:s,s:s,s:s}", "name", name, "meta-type", "builtin",
			 "json-type", json_type);
}

static const char *arg_type_name(enum qmp_arg_type t)
{
	switch (t) {
	case QMP_ARG_STR: return "str";
	case QMP_ARG_BOOL: return "bool";
	case QMP_ARG_INT: return "int";
	case QMP_ARG_ARRAY: return "[any]";
	case QMP_ARG_ANY: break;
	}
	return "any";
}

static const char *param_type_name(enum mig_param_type t)
{
	switch (t) {
	case MIG_PARAM_TYPE_U8: return "uint8";
	case MIG_PARAM_TYPE_U32: return "uint32";
	case MIG_PARAM_TYPE_U64: return "uint64";
	case MIG_PARAM_TYPE_SIZE: return "size";
	case MIG_PARAM_TYPE_BOOL: return "bool";
	case MIG_PARAM_TYPE_STR:
	case MIG_PARAM_TYPE_ENUM:
	case MIG_PARAM_TYPE__COUNT: break;
	}
	return "str";
}

static json_t *member(const char *name, const char *type, bool optional)
{
	json_t *m = json_pack("{s:s,s:s}", "name", name, "type", type);
	if (optional)
		json_object_set_new(m, "default", json_null());
	return m;
}

static json_t *object_type(const char *name, json_t *members)
{
	return json_pack("{s:s,s:s,s:o}", "name", name, "meta-type", "object",
			 "members", members);
}

static json_t *command_args(const struct qmp_command *c)
{
	json_t *members = json_array();
	if (c->flags & QMP_CMD_PARAMS) {
		for (int p = 0; p < MIG_PARAM__COUNT; p++)
			json_array_append_new(
				members,
				member(mig_param_table[p].name,
				       param_type_name(mig_param_table[p].type),
				       true));
	}
	for (const struct qmp_arg *a = c->args; a->name; a++)
		json_array_append_new(members,
				      member(a->name, arg_type_name(a->type),
					     a->optional));
	return members;
}

static void add_event(json_t *list, const char *name, json_t *members)
{
	char *type = xasprintf("%s:data", name);
	json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", name,
					      "meta-type", "event", "arg-type",
					      type));
	json_array_append_new(list, object_type(type, members));
	free(type);
}

json_t *qmp_query_qmp_schema(struct qmp_session *s, json_t *args,
			     struct error **errp)
{
	json_t *list = json_array();
	for (const struct qmp_command *c = qmp_commands; c->name; c++) {
		char *type = xasprintf("%s:arg", c->name);
		json_array_append_new(
			list, json_pack("{s:s,s:s,s:s,s:s,s:b}", "name",
					c->name, "meta-type", "command",
					"arg-type", type, "ret-type", "any",
					"allow-oob", 0));
		json_array_append_new(list, object_type(type, command_args(c)));
		free(type);
	}
	add_event(list, "STOP", json_array());
	add_event(list, "RESUME", json_array());
	add_event(list, "POWERDOWN", json_array());
	add_event(list, "SHUTDOWN",
		  json_pack("[o,o]", member("guest", "bool", false),
			    member("reason", "str", false)));
	add_event(list, "MIGRATION",
		  json_pack("[o]", member("status", "str", false)));
	add_event(list, "MIGRATION_PASS",
		  json_pack("[o]", member("pass", "int", false)));
	static const char *const builtins[][2] = {
		{ "str", "string" }, { "int", "int" }, { "uint8", "int" },
		{ "uint32", "int" }, { "uint64", "int" }, { "size", "int" },
		{ "bool", "boolean" }, { "any", "value" },
	};
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		json_array_append_new(list, builtin(builtins[i][0],
						    builtins[i][1]));
	json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", "[any]",
					      "meta-type", "array",
					      "element-type", "any"));
	return list;
}

/* ---- QOM and machines ---- */

json_t *qmp_qom_list_types(struct qmp_session *s, json_t *args,
			   struct error **errp)
{
	/*
	 * The types qmig has.  libvirt refuses virt type 'qemu' without
	 * tcg-accel; qmig's "accelerator" runs no vCPU (there is none).
	 * As QEMU: abstract types only with "abstract": true, and
	 * "implements" keeps a type and its children.
	 */
	static const struct {
		const char *name, *parent;
		bool abstract;
	} types[] = {
		{ "accel", "object", true },
		{ "tcg-accel", "accel", false },
		{ "machine", "object", true },
		{ "none-machine", "machine", false },
	};
	const char *impl = json_string_value(json_object_get(args, "implements"));
	bool abstract = json_is_true(json_object_get(args, "abstract"));
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].abstract && !abstract)
			continue;
		if (impl && strcmp(impl, types[i].name) &&
		    strcmp(impl, types[i].parent) && strcmp(impl, "object"))
			continue;
		json_t *t = json_pack("{s:s,s:s}", "name", types[i].name,
				      "parent", types[i].parent);
		if (types[i].abstract)
			json_object_set_new(t, "abstract", json_true());
		json_array_append_new(list, t);
	}
	return list;
}

json_t *qmp_query_machines(struct qmp_session *s, json_t *args,
			   struct error **errp)
{
	/* One machine; libvirt drops a machine called "none", so it is
	 * listed under qmig's name (-machine takes both). */
	return json_pack("[{s:b,s:s,s:b,s:i,s:b,s:b}]",
			 "hotpluggable-cpus", 0, "name", MACHINE_NAME,
			 "numa-mem-supported", 0, "cpu-max", 1,
			 "deprecated", 0, "is-default", 1);
}

json_t *qmp_device_list_properties(struct qmp_session *s, json_t *args,
				   struct error **errp)
{
	/* The machine has no devices at all. */
	s->error_class = "DeviceNotFound";
	error_setf(errp, "Device '%s' not found",
		   json_string_value(json_object_get(args, "typename")));
	return NULL;
}

json_t *qmp_qom_list_properties(struct qmp_session *s, json_t *args,
				struct error **errp)
{
	/*
	 * No type qmig has carries a property a client could set.  For a
	 * type qmig lacks QEMU says the class is not found, but libvirt 9.0
	 * crashes on that error (a NULL list it then walks), so every type
	 * answers the empty list.
	 */
	return json_array();
}

json_t *qmp_query_command_line_options(struct qmp_session *s, json_t *args,
				       struct error **errp)
{
	/*
	 * qmig's options are not QemuOpts groups with introspectable
	 * parameters, so it lists none (libvirt then assumes none).
	 */
	const char *opt = json_string_value(json_object_get(args, "option"));
	if (opt) {
		error_setf(errp, "invalid option name: %s", opt);
		return NULL;
	}
	return json_array();
}

json_t *qmp_query_uuid(struct qmp_session *s, json_t *args,
		       struct error **errp)
{
	char text[37];
	machine_uuid_format(s->vm->uuid, text);
	return json_pack("{s:s}", "UUID", text);
}

json_t *qmp_system_powerdown(struct qmp_session *s, json_t *args,
			     struct error **errp)
{
	/* The reply goes out first, then the process exits (as quit). */
	if (vm_powerdown_locked(s->vm))
		s->quit = true;
	return json_object();
}

json_t *qmp_system_reset(struct qmp_session *s, json_t *args,
			 struct error **errp)
{
	/* One rule for both monitors: machine/vm.c's. */
	vm_system_reset_locked(s->vm);
	return json_object();
}
