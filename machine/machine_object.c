/*
 * -object for machine_opts: the two object types libvirt 9.0 creates for
 * a RAM-only domain, "secret" (its master key, which qmig only checks it
 * can read) and "memory-backend-ram" (the RAM, whose size -machine
 * memory-backend= ties to -m), in QEMU's key=value form and in libvirt's
 * JSON form.
 */
#include "machine/machine_opts.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ram/guest_ram.h"
#include "util/keyval.h"
#include "util/size_parse.h"
#include "util/xalloc.h"

/* One -object, as "TYPE,id=..,k=v" or libvirt's JSON {"qom-type": ..}. */
struct object_desc {
	const char *type, *id, *size, *file, *data, *format;
};

static bool add_backend(struct machine_opts *mo, const struct object_desc *o,
			struct error **errp)
{
	if (!o->size) {
		error_setf(errp, "can't create backend with size 0");
		return false;
	}
	uint64_t size;
	if (size_parse_bytes(o->size, NULL, &size) < 0) {
		error_setf(errp, "Parameter 'size' expects a non-negative number below 2^64");
		return false;
	}
	if (!size) {
		error_setf(errp, "can't create backend with size 0");
		return false;
	}
	/* qmig's RAM is whole target pages, as -m's */
	if (size % GUEST_PAGE_SIZE) {
		error_setf(errp, "invalid RAM size '%s' (a multiple of 4k)",
			   o->size);
		return false;
	}
	if (mo->nbackends == MACHINE_MAX_BACKENDS) {
		error_setf(errp, "too many memory backends (at most %d)",
			   MACHINE_MAX_BACKENDS);
		return false;
	}
	mo->backends[mo->nbackends].id = xstrdup(o->id);
	mo->backends[mo->nbackends].size = size;
	mo->nbackends++;
	return true;
}

static bool check_secret(const struct object_desc *o, struct error **errp)
{
	if (o->format && strcmp(o->format, "raw") &&
	    strcmp(o->format, "base64")) {
		error_setf(errp, "Parameter 'format' does not accept value '%s'",
			   o->format);
		return false;
	}
	if (!!o->file == !!o->data) {
		error_setf(errp, "Either 'file' or 'data' must be provided");
		return false;
	}
	/* qmig decrypts nothing, but a secret it cannot read is an error in
	 * QEMU, and libvirt must learn of a wrong path here too. */
	if (o->file) {
		FILE *f = fopen(o->file, "rb");
		if (!f) {
			error_setf(errp, "Unable to read %s: %s", o->file,
				   strerror(errno));
			return false;
		}
		fclose(f);
	}
	return true;
}

static bool add_object(struct machine_opts *mo, const struct object_desc *o,
		       struct error **errp)
{
	if (!o->type) {
		error_setf(errp, "Parameter 'qom-type' is missing");
		return false;
	}
	if (!o->id) {
		error_setf(errp, "Parameter 'id' is missing");
		return false;
	}
	if (!strcmp(o->type, "secret"))
		return check_secret(o, errp);
	if (!strcmp(o->type, "memory-backend-ram"))
		return add_backend(mo, o, errp);
	error_setf(errp, "invalid object type: %s", o->type);
	return false;
}

/* Keys both object types may carry that change nothing for qmig. */
static bool object_key_ignored(const char *key)
{
	static const char *const keys[] = {
		"share", "prealloc", "merge", "dump", "reserve",
		"x-use-canonical-path-for-ramblock-id", "keyid", "iv", NULL,
	};
	for (int i = 0; keys[i]; i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

static bool set_object_key(struct object_desc *o, const char *key,
			   const char *val, struct error **errp)
{
	if (!strcmp(key, "qom-type"))
		o->type = val;
	else if (!strcmp(key, "id"))
		o->id = val;
	else if (!strcmp(key, "size"))
		o->size = val;
	else if (!strcmp(key, "file"))
		o->file = val;
	else if (!strcmp(key, "data"))
		o->data = val;
	else if (!strcmp(key, "format"))
		o->format = val;
	else if (!object_key_ignored(key)) {
		error_setf(errp, "Property '%s.%s' not found",
			   o->type ? o->type : "object", key);
		return false;
	}
	return true;
}

static bool parse_object_json(struct machine_opts *mo, const char *arg,
			      struct error **errp)
{
	json_error_t jerr;
	json_t *obj = json_loads(arg, 0, &jerr);
	if (!json_is_object(obj)) {
		json_decref(obj);
		error_setf(errp, "JSON parse error, %s", jerr.text);
		return false;
	}
	struct object_desc o = { 0 };
	char nums[2][32];
	int nnums = 0;
	bool ok = true;
	const char *key;
	json_t *v;
	/* qom-type first, for the "Property 'TYPE.KEY'" text */
	o.type = json_string_value(json_object_get(obj, "qom-type"));
	json_object_foreach(obj, key, v) {
		const char *s = json_string_value(v);
		if (json_is_integer(v) && nnums < 2) {
			snprintf(nums[nnums], sizeof(nums[0]), "%lld",
				 (long long)json_integer_value(v));
			s = nums[nnums++];
		}
		if (!s && !json_is_boolean(v)) {
			error_setf(errp, "Invalid parameter type for '%s'", key);
			ok = false;
			break;
		}
		if (s && !set_object_key(&o, key, s, errp)) {
			ok = false;
			break;
		}
		if (!s && !object_key_ignored(key)) {
			error_setf(errp, "Property '%s.%s' not found",
				   o.type ? o.type : "object", key);
			ok = false;
			break;
		}
	}
	if (ok)
		ok = add_object(mo, &o, errp);
	json_decref(obj);
	return ok;
}

bool machine_object_parse(struct machine_opts *mo, const char *arg,
			  struct error **errp)
{
	if (arg[0] == '{')
		return parse_object_json(mo, arg, errp);
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	struct object_desc o = { 0 };
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		if (!key)
			o.type = val;
		else if (!val)
			ok = object_key_ignored(key) ||
			     set_object_key(&o, key, "on", errp);
		else
			ok = set_object_key(&o, key, val, errp);
	}
	if (ok)
		ok = add_object(mo, &o, errp);
	keyval_release(&kv);
	return ok;
}
