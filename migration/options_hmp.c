/*
 * The capabilities and parameters in HMP's words (contract in
 * options_hmp.h): one parser per HMP syntax, one formatter per type.
 */
#include "migration/options_hmp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/size_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int mig_cap_lookup_hmp(const char *name, struct error **errp)
{
	int i = mig_cap_lookup(name);

	if (i < 0)
		error_setf(errp, "invalid parameter value: %s", name);
	return i;
}

int mig_param_lookup_hmp(const char *name, bool accept_underscores,
			 struct error **errp)
{
	int i = mig_param_lookup(name, accept_underscores);

	if (i >= 0)
		return i;
	/* A MigrationParameter that QEMU's HMP knows but refuses. */
	if (mig_name_matches(name, "block-bitmap-mapping", accept_underscores))
		error_setf(errp, "The block-bitmap-mapping parameter can only "
			   "be set through QMP");
	else
		error_setf(errp, "invalid parameter value: %s", name);
	return -1;
}

/* ---- parsing: one function per enum mig_param_hmp_syntax ---- */

/*
 * Reads value into *num (or update->str for strings); false with QEMU's
 * text, writing nothing.
 */
typedef bool parse_fn(const struct mig_param_info *p, const char *value,
		      uint64_t *num, struct error **errp);

/* QEMU's string input visitor for uintN: strtoull base 0, then bounds. */
static bool parse_uint(const struct mig_param_info *p, const char *value,
		       uint64_t *num, struct error **errp)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno == ERANGE || end == value || *end) {
		error_setf(errp, "Parameter '%s' expects uint64", p->name);
		return false;
	}
	/* strtoull accepts "-1" as 2^64-1, which fails here as in QEMU. */
	if (!mig_param_types[p->type].check(p, v, errp))
		return false;
	*num = v;
	return true;
}

/* QEMU's parse_option_size(): what visit_type_size() does for HMP. */
static bool parse_size(const struct mig_param_info *p, const char *value,
		       uint64_t *num, struct error **errp)
{
	int ret = size_parse_bytes(value, NULL, num);

	if (ret == -ERANGE) {
		error_setf(errp, "Value '%s' is out of range for parameter '%s'",
			   value, p->name);
		return false;
	}
	if (ret) {
		error_setf(errp, "Parameter '%s' expects a non-negative number "
			   "below 2^64\n"
			   "Optional suffix k, M, G, T, P or E means kilo-, "
			   "mega-, giga-, tera-, peta-\n"
			   "and exabytes, respectively.", p->name);
		return false;
	}
	return true;
}

/* xbzrle-cache-size: a size, but HMP's own limit is INT64_MAX. */
static bool parse_size_int64(const struct mig_param_info *p,
			     const char *value, uint64_t *num,
			     struct error **errp)
{
	uint64_t v;

	if (!parse_size(p, value, &v, errp))
		return false;
	if (v > INT64_MAX) {
		error_setf(errp, "Invalid size %s", value);
		return false;
	}
	*num = v;
	return true;
}

/* QEMU reads max-bandwidth in MiB unless a suffix says so. */
static bool parse_size_mib(const struct mig_param_info *p, const char *value,
			   uint64_t *num, struct error **errp)
{
	uint64_t v;

	if (size_parse_mib(value, NULL, &v) || v > INT64_MAX) {
		error_setf(errp, "Invalid size %s", value);
		return false;
	}
	*num = v;
	return true;
}

static bool parse_bool(const struct mig_param_info *p, const char *value,
		       uint64_t *num, struct error **errp)
{
	static const char *const on[] = { "on", "yes", "true", "y" };
	static const char *const off[] = { "off", "no", "false", "n" };

	for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
		if (!strcmp(value, on[i])) {
			*num = 1;
			return true;
		}
		if (!strcmp(value, off[i])) {
			*num = 0;
			return true;
		}
	}
	error_setf(errp, "Parameter '%s' expects 'on' or 'off'", p->name);
	return false;
}

/* Strings are taken as they are (mig_param_parse_hmp copies them). */
static bool parse_str(const struct mig_param_info *p, const char *value,
		      uint64_t *num, struct error **errp)
{
	return true;
}

static bool parse_enum(const struct mig_param_info *p, const char *value,
		       uint64_t *num, struct error **errp)
{
	for (uint64_t i = 0; p->enum_names[i]; i++) {
		if (!strcmp(value, p->enum_names[i])) {
			*num = i;
			return true;
		}
	}
	error_setf(errp, "Parameter '%s' does not accept value '%s'", p->name,
		   value);
	return false;
}

static parse_fn *const parsers[] = {
	[MIG_HMP_UINT] = parse_uint,
	[MIG_HMP_SIZE] = parse_size,
	[MIG_HMP_SIZE_INT64] = parse_size_int64,
	[MIG_HMP_SIZE_MIB] = parse_size_mib,
	[MIG_HMP_BOOL] = parse_bool,
	[MIG_HMP_STR] = parse_str,
	[MIG_HMP_ENUM] = parse_enum,
};
_Static_assert(ARRAY_SIZE(parsers) == MIG_HMP__COUNT,
	       "parsers[] needs one entry per enum mig_param_hmp_syntax");

bool mig_param_parse_hmp(enum mig_param param, const char *value,
			 struct mig_param_update *update, struct error **errp)
{
	const struct mig_param_info *p = &mig_param_table[param];
	uint64_t v = 0;

	if (!parsers[p->hmp_syntax](p, value, &v, errp))
		return false;
	if (mig_param_types[p->type].is_str) {
		mig_param_update_set_str(update, param, value);
		return true;
	}
	update->has[param] = true;
	update->num[param] = v;
	return true;
}

bool mig_options_set_cap_hmp(struct mig_options *o, const char *name,
			     bool state, struct error **errp)
{
	struct mig_cap_update update = { 0 };
	int cap = mig_cap_lookup_hmp(name, errp);

	if (cap < 0)
		return false;
	update.set[cap] = true;
	update.state[cap] = state;
	return mig_options_apply_caps(o, &update, errp);
}

bool mig_options_set_param_hmp(struct mig_options *o, const char *name,
			       const char *value, bool accept_underscores,
			       struct error **errp)
{
	struct mig_param_update update;
	bool ok = false;
	int param;

	mig_param_update_init(&update);
	param = mig_param_lookup_hmp(name, accept_underscores, errp);
	if (param < 0)
		goto out;
	if (!mig_param_parse_hmp(param, value, &update, errp))
		goto out;
	ok = mig_options_apply_params(o, &update, errp);
out:
	mig_param_update_release(&update);
	return ok;
}

/* ---- formatting: one function per enum mig_param_type ---- */

typedef void format_fn(const struct mig_param_info *p, uint64_t num,
		       const char *str, struct strbuf *out);

static void format_uint(const struct mig_param_info *p, uint64_t num,
			const char *str, struct strbuf *out)
{
	strbuf_addf(out, "%" PRIu64 "%s", num, p->hmp_unit);
}

static void format_bool(const struct mig_param_info *p, uint64_t num,
			const char *str, struct strbuf *out)
{
	strbuf_addstr(out, num ? "on" : "off");
}

static void format_str(const struct mig_param_info *p, uint64_t num,
		       const char *str, struct strbuf *out)
{
	strbuf_addf(out, "'%s'", str ? str : "");
}

static void format_enum(const struct mig_param_info *p, uint64_t num,
			const char *str, struct strbuf *out)
{
	strbuf_addstr(out, p->enum_names[num]);
}

static format_fn *const formatters[] = {
	[MIG_PARAM_TYPE_U8] = format_uint,
	[MIG_PARAM_TYPE_U32] = format_uint,
	[MIG_PARAM_TYPE_U64] = format_uint,
	[MIG_PARAM_TYPE_SIZE] = format_uint,
	[MIG_PARAM_TYPE_BOOL] = format_bool,
	[MIG_PARAM_TYPE_STR] = format_str,
	[MIG_PARAM_TYPE_ENUM] = format_enum,
};
_Static_assert(ARRAY_SIZE(formatters) == MIG_PARAM_TYPE__COUNT,
	       "formatters[] needs one entry per enum mig_param_type");

void mig_param_format_hmp(enum mig_param param, uint64_t num,
			  const char *str, struct strbuf *out)
{
	const struct mig_param_info *p = &mig_param_table[param];

	formatters[p->type](p, num, str, out);
}

void mig_options_format_caps(struct mig_options *o, struct strbuf *out)
{
	struct mig_options snap;

	mig_options_snapshot(o, &snap);
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		strbuf_addf(out, "%s: %s\n", mig_cap_table[i].name,
			    snap.caps[i] ? "on" : "off");
	mig_options_release(&snap);
}

void mig_options_format_params(struct mig_options *o, struct strbuf *out)
{
	struct mig_options snap;

	mig_options_snapshot(o, &snap);
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		if (!mig_param_shown(i, true, snap.num[i], snap.str[i]))
			continue;
		strbuf_addf(out, "%s: ", mig_param_table[i].name);
		mig_param_format_hmp(i, snap.num[i], snap.str[i], out);
		strbuf_addch(out, '\n');
	}
	mig_options_release(&snap);
}
