#include "ram/ram_size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/size_parse.h"
#include "util/xalloc.h"

/* QEMU rounds every RAM size up to this (machine_set_mem). */
#define RAM_SIZE_ALIGN 8192

/* QemuOpts' reading of a size option, with its two error texts. */
static bool opt_size(const char *arg, const char *name, const char *value,
		     uint64_t *out, struct error **errp)
{
	int rc = size_parse_bytes(value, NULL, out);
	if (rc == -ERANGE) {
		error_setf(errp, "-m %s: Value '%s' is out of range for parameter '%s'",
			   arg, value, name);
		return false;
	}
	if (rc < 0) {
		error_setf(errp,
			   "-m %s: Parameter '%s' expects a non-negative number below 2^64\n"
			   "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
			   "and exabytes, respectively.",
			   arg, name);
		return false;
	}
	return true;
}

/* The options, as QemuOpts validates them, one by one in order. */
struct mem_opts {
	const char *size, *maxmem, *slots; /* the last of each, or NULL */
	uint64_t slots_num;
};

static bool parse_opts(const char *arg, char *copy, struct mem_opts *o,
		       struct error **errp)
{
	bool first = true;
	for (char *tok = copy; tok; first = false) {
		char *comma = strchr(tok, ',');
		if (comma)
			*comma = '\0';
		char *eq = strchr(tok, '=');
		const char *key = tok, *value;
		if (eq) {
			*eq = '\0';
			value = eq + 1;
		} else if (first) {
			key = "size";
			value = tok;
		} else {
			/* QemuOpts' "key" alone is key=on */
			value = "on";
		}
		uint64_t v;
		if (!strcmp(key, "size") || !strcmp(key, "maxmem")) {
			if (!opt_size(arg, key, value, &v, errp))
				return false;
			*(!strcmp(key, "size") ? &o->size : &o->maxmem) = value;
		} else if (!strcmp(key, "slots")) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(value, &end, 0);
			if (!*value || *end || errno || strchr(value, '-')) {
				error_setf(errp, "-m %s: Parameter 'slots' expects a number",
					   arg);
				return false;
			}
			o->slots = value;
			o->slots_num = n;
		} else {
			error_setf(errp, "-m %s: Invalid parameter '%s'", arg, key);
			return false;
		}
		tok = comma ? comma + 1 : NULL;
	}
	return true;
}

int ram_size_parse(const char *arg, uint64_t *bytes, struct error **errp)
{
	char *copy = xstrdup(arg);
	struct mem_opts o = { 0 };
	int ret = -1;
	/* (QemuOpts reads "" as no option at all, not as an empty size) */
	if (*arg && !parse_opts(arg, copy, &o, errp))
		goto out;
	uint64_t size = 0;
	if (o.size)
		size_parse_bytes(o.size, NULL, &size);
	if (size) {
		/* The legacy form: a size that ends in a digit is MiB. */
		size_t n = strlen(o.size);
		if (o.size[n - 1] >= '0' && o.size[n - 1] <= '9') {
			char *mib = xasprintf("%sM", o.size);
			int rc = size_parse_bytes(mib, NULL, &size);
			free(mib);
			if (rc < 0) {
				error_setf(errp, "-m %s: Value '%sM' is out of range for parameter 'size'",
					   arg, o.size);
				goto out;
			}
		}
	}
	if (size > UINT64_MAX - (RAM_SIZE_ALIGN - 1)) {
		error_setf(errp, "ram size too large");
		goto out;
	}
	size = (size + RAM_SIZE_ALIGN - 1) / RAM_SIZE_ALIGN * RAM_SIZE_ALIGN;
	if (o.maxmem) {
		uint64_t max = 0;
		size_parse_bytes(o.maxmem, NULL, &max);
		if (max < size) {
			error_setf(errp,
				   "invalid value of maxmem: maximum memory size (0x%" PRIx64
				   ") must be at least the initial memory size (0x%" PRIx64 ")",
				   max, size);
			goto out;
		}
		if (o.slots && o.slots_num && max == size) {
			error_setf(errp,
				   "invalid value of maxmem: memory slots were specified but maximum memory size (0x%" PRIx64
				   ") is equal to the initial memory size (0x%" PRIx64 ")",
				   max, size);
			goto out;
		}
	} else if (o.slots) {
		error_setf(errp, "slots specified but no max-size");
		goto out;
	}
	if (!size) {
		/* QEMU's -M none then has no RAM at all; qmig's machine is its
		 * RAM. */
		error_setf(errp, "-m %s: qmig needs some RAM: a machine without a RAM block is not supported",
			   arg);
		goto out;
	}
	*bytes = size;
	ret = 0;
out:
	free(copy);
	return ret;
}
