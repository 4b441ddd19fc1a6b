#include "machine/machine_opts.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/keyval.h"
#include "util/xalloc.h"

void machine_opts_init(struct machine_opts *mo)
{
	memset(mo, 0, sizeof(*mo));
	mo->type = MACHINE_NAME;
}

void machine_opts_release(struct machine_opts *mo)
{
	free(mo->name);
	free(mo->process_name);
	free(mo->memory_backend);
	for (int i = 0; i < mo->nbackends; i++)
		free(mo->backends[i].id);
	memset(mo, 0, sizeof(*mo));
}

/* ---- UUID ---- */

bool machine_uuid_parse(const char *text, uint8_t uuid[16])
{
	if (strlen(text) != 36)
		return false;
	int n = 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return false;
			continue;
		}
		if (!isxdigit((unsigned char)text[i]))
			return false;
		int d = isdigit((unsigned char)text[i]) ?
			text[i] - '0' : tolower((unsigned char)text[i]) - 'a' + 10;
		if (n % 2 == 0)
			uuid[n / 2] = (uint8_t)(d << 4);
		else
			uuid[n / 2] |= (uint8_t)d;
		n++;
	}
	return true;
}

void machine_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* ---- the options ---- */

static bool parse_machine(struct machine_opts *mo, const char *arg,
			  struct error **errp)
{
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		if (!key || !strcmp(key, "type")) {
			if (!strcmp(val, MACHINE_NAME)) {
				mo->type = MACHINE_NAME;
			} else if (!strcmp(val, "none")) {
				mo->type = "none";
			} else {
				error_setf(errp, "unsupported machine type '%s': qmig has only '"
					   MACHINE_NAME "' (also called 'none')",
					   val);
				ok = false;
			}
		} else if (!strcmp(key, "accel")) {
			/* checked like -accel: tcg must be among the choices */
			if (!strstr(val, "tcg")) {
				error_setf(errp, "invalid accelerator %s: qmig runs no vCPU and offers only 'tcg'",
					   val);
				ok = false;
			}
		} else if (!strcmp(key, "usb") || !strcmp(key, "dump-guest-core") ||
			   !strcmp(key, "mem-merge") || !strcmp(key, "graphics")) {
			/* qmig has no USB bus and no display; its RAM is never
			 * in a core dump it writes (it writes none) */
			bool b;
			ok = keyval_onoff(key, val, &b, errp);
		} else if (!strcmp(key, "memory-backend")) {
			free(mo->memory_backend);
			mo->memory_backend = xstrdup(val ? val : "");
		} else {
			error_setf(errp, "Property 'none-machine.%s' not found",
				   key);
			ok = false;
		}
	}
	keyval_release(&kv);
	return ok;
}

static bool parse_accel(const char *arg, struct error **errp)
{
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		if (!key || !strcmp(key, "accel")) {
			if (strcmp(val, "tcg")) {
				error_setf(errp, "invalid accelerator %s: qmig runs no vCPU and offers only 'tcg'",
					   val);
				ok = false;
			}
		} else if (!strcmp(key, "thread") || !strcmp(key, "tb-size") ||
			   !strcmp(key, "split-wx")) {
			/* tuning of a TCG that translates nothing here */
		} else {
			error_setf(errp, "Property 'tcg-accel.%s' not found",
				   key);
			ok = false;
		}
	}
	keyval_release(&kv);
	return ok;
}

static bool parse_count(const char *key, const char *val, long *out,
			struct error **errp)
{
	char *end;
	errno = 0;
	long n = val ? strtol(val, &end, 10) : -1;
	if (!val || errno || *end || n < 0) {
		error_setf(errp, "Parameter '%s' expects a number", key);
		return false;
	}
	*out = n;
	return true;
}

/* -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T] */
static bool parse_smp(const char *machine, const char *arg,
		      struct error **errp)
{
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	long cpus = 0, maxcpus = 0, topo = 1;
	while (ok && keyval_next(&kv, &key, &val)) {
		long n;
		if (!key || !strcmp(key, "cpus")) {
			ok = parse_count("cpus", val, &cpus, errp);
		} else if (!strcmp(key, "maxcpus")) {
			ok = parse_count(key, val, &maxcpus, errp);
		} else if (!strcmp(key, "sockets") || !strcmp(key, "dies") ||
			   !strcmp(key, "clusters") || !strcmp(key, "cores") ||
			   !strcmp(key, "threads") || !strcmp(key, "books") ||
			   !strcmp(key, "drawers")) {
			ok = parse_count(key, val, &n, errp);
			if (ok && n)
				topo *= n;
		} else {
			error_setf(errp, "Invalid parameter '%s'", key);
			ok = false;
		}
	}
	keyval_release(&kv);
	if (!ok)
		return false;
	long total = cpus ? cpus : topo;
	if (maxcpus > total)
		total = maxcpus;
	if (topo > total)
		total = topo;
	if (total > 1) {
		error_setf(errp,
			   "Invalid SMP CPUs %ld. The max CPUs supported by machine '%s' is 1",
			   total, machine);
		return false;
	}
	return true;
}

/* -name [guest=]NAME[,process=P][,debug-threads=on|off] */
static bool parse_name(struct machine_opts *mo, const char *arg,
		       struct error **errp)
{
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		if (!key || !strcmp(key, "guest")) {
			free(mo->name);
			mo->name = xstrdup(val ? val : "");
		} else if (!strcmp(key, "process")) {
			free(mo->process_name);
			mo->process_name = xstrdup(val ? val : "");
		} else if (!strcmp(key, "debug-threads")) {
			/* qmig's threads keep their own names */
			bool b;
			ok = keyval_onoff(key, val, &b, errp);
		} else {
			error_setf(errp, "Invalid parameter '%s'", key);
			ok = false;
		}
	}
	keyval_release(&kv);
	return ok;
}

/* An option made only of on/off keys; a key whose value is NULL is
 * checked and has no effect on this machine. */
struct onoff_key {
	const char *name;
	bool *value;
};

static bool parse_onoff_keys(const char *arg, const struct onoff_key *keys,
			     struct error **errp)
{
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		const struct onoff_key *k = keys;
		while (k->name && !(key && !strcmp(key, k->name)))
			k++;
		if (k->name) {
			bool ignored;
			ok = keyval_onoff(key, val, k->value ? k->value : &ignored,
					  errp);
		} else {
			error_setf(errp, "Invalid parameter '%s'",
				   key ? key : val);
			ok = false;
		}
	}
	keyval_release(&kv);
	return ok;
}

/* -overcommit mem-lock=on|off,cpu-pm=on|off (no vCPU for cpu-pm) */
static bool parse_overcommit(struct machine_opts *mo, const char *arg,
			     struct error **errp)
{
	const struct onoff_key keys[] = {
		{ "mem-lock", &mo->mem_lock }, { "cpu-pm", NULL }, { NULL, NULL },
	};
	return parse_onoff_keys(arg, keys, errp);
}

/* -rtc base=utc|localtime|DATE,clock=host|rt|vm,driftfix=none|slew:
 * the machine has no RTC device; the values are still checked. */
static bool parse_rtc(const char *arg, struct error **errp)
{
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		if (key && !strcmp(key, "base") && val) {
			int y, mo, d, h, mi, s;
			char c;
			if (strcmp(val, "utc") && strcmp(val, "localtime") &&
			    sscanf(val, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h,
				   &mi, &s, &c) != 6 &&
			    sscanf(val, "%d-%d-%d%c", &y, &mo, &d, &c) != 3) {
				error_setf(errp, "invalid datetime format\n"
					   "valid formats: '2006-06-17T16:01:21' or '2006-06-17'");
				ok = false;
			}
		} else if (key && !strcmp(key, "clock") && val) {
			if (strcmp(val, "host") && strcmp(val, "rt") &&
			    strcmp(val, "vm")) {
				error_setf(errp, "invalid option value '%s'",
					   val);
				ok = false;
			}
		} else if (key && !strcmp(key, "driftfix") && val) {
			if (strcmp(val, "none") && strcmp(val, "slew")) {
				error_setf(errp, "invalid option value '%s'",
					   val);
				ok = false;
			}
		} else {
			error_setf(errp, "Invalid parameter '%s'",
				   key ? key : val);
			ok = false;
		}
	}
	keyval_release(&kv);
	return ok;
}

/* -boot [order=][,once=][,menu=][,strict=][,splash=][,splash-time=]
 * [,reboot-timeout=]: there is no boot device; the keys are checked. */
static bool parse_boot(const char *arg, struct error **errp)
{
	static const char *const keys[] = {
		"order", "once", "menu", "splash", "splash-time",
		"reboot-timeout", "strict", NULL,
	};
	struct keyval kv;
	keyval_init(&kv, arg);
	char *key, *val;
	bool ok = true;
	while (ok && keyval_next(&kv, &key, &val)) {
		if (!key)
			continue; /* the implied key is order= */
		bool known = false;
		for (int i = 0; keys[i]; i++)
			known |= !strcmp(key, keys[i]);
		if (!known) {
			error_setf(errp, "Invalid parameter '%s'", key);
			ok = false;
		} else if (!strcmp(key, "strict") || !strcmp(key, "menu")) {
			bool b;
			ok = keyval_onoff(key, val, &b, errp);
		}
	}
	keyval_release(&kv);
	return ok;
}

/* -audiodev: only the "none" driver (qmig makes no sound). */
static bool parse_audiodev(const char *arg, struct error **errp)
{
	const char *driver = NULL, *id = NULL;
	json_t *obj = NULL;
	struct keyval kv = { 0 };
	if (arg[0] == '{') {
		json_error_t jerr;
		obj = json_loads(arg, 0, &jerr);
		if (!json_is_object(obj)) {
			json_decref(obj);
			error_setf(errp, "JSON parse error, %s", jerr.text);
			return false;
		}
		driver = json_string_value(json_object_get(obj, "driver"));
		id = json_string_value(json_object_get(obj, "id"));
	} else {
		keyval_init(&kv, arg);
		char *key, *val;
		while (keyval_next(&kv, &key, &val)) {
			if (!key || !strcmp(key, "driver"))
				driver = val;
			else if (!strcmp(key, "id"))
				id = val;
		}
	}
	bool ok = true;
	if (!driver) {
		error_setf(errp, "Parameter 'driver' is missing");
		ok = false;
	} else if (!id) {
		error_setf(errp, "Parameter 'id' is missing");
		ok = false;
	} else if (strcmp(driver, "none")) {
		error_setf(errp, "Parameter 'driver' does not accept value '%s': qmig has only 'none'",
			   driver);
		ok = false;
	}
	json_decref(obj);
	keyval_release(&kv);
	return ok;
}

/* -msg timestamp=on|off[,guest-name=on|off] */
static bool parse_msg(struct machine_opts *mo, const char *arg,
		      struct error **errp)
{
	const struct onoff_key keys[] = {
		{ "timestamp", &mo->msg_timestamp }, { "guest-name", NULL },
		{ NULL, NULL },
	};
	return parse_onoff_keys(arg, keys, errp);
}

static const char *const with_arg[] = {
	"-machine", "-M", "-accel", "-smp", "-uuid", "-name", "-object",
	"-overcommit", "-rtc", "-boot", "-audiodev", "-msg", "-device", NULL,
};

bool machine_opts_takes_arg(const char *opt)
{
	for (int i = 0; with_arg[i]; i++)
		if (!strcmp(opt, with_arg[i]))
			return true;
	return false;
}

bool machine_opts_error_prefix(const char *opt)
{
	/* QEMU reports these through its option parser, which names the
	 * option; -smp, -machine and -rtc errors come later, bare. */
	return !strcmp(opt, "-uuid") || !strcmp(opt, "-name") ||
	       !strcmp(opt, "-object") || !strcmp(opt, "-device") ||
	       !strcmp(opt, "-overcommit") || !strcmp(opt, "-boot") ||
	       !strcmp(opt, "-audiodev") || !strcmp(opt, "-msg") ||
	       !strcmp(opt, "-accel");
}

int machine_opts_parse(struct machine_opts *mo, const char *opt,
		       const char *arg, struct error **errp)
{
	bool ok;
	if (!strcmp(opt, "-no-shutdown")) {
		mo->no_shutdown = true;
		return 1;
	}
	if (!strcmp(opt, "-no-acpi")) {
		mo->no_acpi = true;
		return 1;
	}
	if (!strcmp(opt, "-no-user-config"))
		return 1; /* qmig reads no configuration files */
	if (!machine_opts_takes_arg(opt))
		return 0;
	if (!strcmp(opt, "-machine") || !strcmp(opt, "-M")) {
		ok = parse_machine(mo, arg, errp);
	} else if (!strcmp(opt, "-accel")) {
		ok = parse_accel(arg, errp);
	} else if (!strcmp(opt, "-smp")) {
		ok = parse_smp(mo->type, arg, errp);
	} else if (!strcmp(opt, "-uuid")) {
		ok = machine_uuid_parse(arg, mo->uuid);
		if (ok)
			mo->has_uuid = true;
		else
			error_setf(errp, "failed to parse UUID string: wrong format");
	} else if (!strcmp(opt, "-name")) {
		ok = parse_name(mo, arg, errp);
	} else if (!strcmp(opt, "-object")) {
		ok = machine_object_parse(mo, arg, errp);
	} else if (!strcmp(opt, "-overcommit")) {
		ok = parse_overcommit(mo, arg, errp);
	} else if (!strcmp(opt, "-rtc")) {
		ok = parse_rtc(arg, errp);
	} else if (!strcmp(opt, "-boot")) {
		ok = parse_boot(arg, errp);
	} else if (!strcmp(opt, "-audiodev")) {
		ok = parse_audiodev(arg, errp);
	} else if (!strcmp(opt, "-msg")) {
		ok = parse_msg(mo, arg, errp);
	} else {
		/* -device: the machine has no bus for any */
		char *type = xstrndup(arg, strcspn(arg, ","));
		error_setf(errp, "'%s' is not a valid device model name",
			   type);
		free(type);
		ok = false;
	}
	return ok ? 1 : -1;
}

bool machine_opts_finish(struct machine_opts *mo, bool ram_given,
			 uint64_t *ram_bytes, struct error **errp)
{
	if (!mo->memory_backend)
		return true;
	for (int i = 0; i < mo->nbackends; i++) {
		if (strcmp(mo->backends[i].id, mo->memory_backend))
			continue;
		if (ram_given && mo->backends[i].size != *ram_bytes) {
			error_setf(errp, "Machine memory size does not match the size of the memory backend");
			return false;
		}
		*ram_bytes = mo->backends[i].size;
		return true;
	}
	error_setf(errp, "Memory backend '%s' not found", mo->memory_backend);
	return false;
}
