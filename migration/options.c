/*
 * The migration capability and parameter store (contract in options.h).
 *
 * DESIGN: one struct mig_options per process side, shared by the monitor
 * thread(s) and the migration thread.  o->lock guards caps[], num[],
 * str[] and generation; every public function takes it for its whole
 * duration and never calls out while holding it, so it nests under no
 * other lock and no other lock nests under it.  Updates are validated on
 * a private merged copy built under the lock and committed before the
 * lock is dropped, so readers never see half an update.
 *
 * Everything per capability and per parameter lives in the two tables
 * below; the functions only walk them.  The one exception is the order of
 * QEMU 7.2's checks, which differs from the display order and is kept in
 * param_check_order[] so that the first error reported is QEMU's.
 */
#include "migration/options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/size_parse.h"
#include "util/xalloc.h"

/* The smallest XBZRLE cache QEMU accepts: its target page size. */
#define MIG_TARGET_PAGE_SIZE_BYTES 4096ULL

/*
 * Capabilities qmig refuses to turn on, and why:
 *   rdma-pin-all                 no RDMA transport
 *   auto-converge                no vCPUs to throttle
 *   zero-blocks, block, dirty-bitmaps   no block migration
 *   postcopy-ram, postcopy-blocktime, postcopy-preempt, release-ram
 *                                precopy only
 *   x-colo                       no COLO
 *   multifd, zero-copy-send      one migration channel only
 *   x-ignore-shared              every RAM block is migrated
 *   validate-uuid                no VM UUID
 *   background-snapshot          no snapshots
 * late-block-activate is honoured trivially: there are no block devices.
 * The message is uniform so that clients can match it.
 */
#define MIG_CAP_UNSUPPORTED(name) \
	"Capability '" name "' is not supported by qmig"

const struct mig_cap_info mig_cap_table[MIG_CAP__COUNT] = {
	[MIG_CAP_XBZRLE] = { "xbzrle", NULL },
	[MIG_CAP_RDMA_PIN_ALL] = {
		"rdma-pin-all", MIG_CAP_UNSUPPORTED("rdma-pin-all") },
	[MIG_CAP_AUTO_CONVERGE] = {
		"auto-converge", MIG_CAP_UNSUPPORTED("auto-converge") },
	[MIG_CAP_ZERO_BLOCKS] = {
		"zero-blocks", MIG_CAP_UNSUPPORTED("zero-blocks") },
	[MIG_CAP_COMPRESS] = { "compress", NULL },
	[MIG_CAP_EVENTS] = { "events", NULL },
	[MIG_CAP_POSTCOPY_RAM] = {
		"postcopy-ram", MIG_CAP_UNSUPPORTED("postcopy-ram") },
	[MIG_CAP_X_COLO] = { "x-colo", MIG_CAP_UNSUPPORTED("x-colo") },
	[MIG_CAP_RELEASE_RAM] = {
		"release-ram", MIG_CAP_UNSUPPORTED("release-ram") },
	[MIG_CAP_BLOCK] = { "block", MIG_CAP_UNSUPPORTED("block") },
	[MIG_CAP_RETURN_PATH] = { "return-path", NULL },
	[MIG_CAP_PAUSE_BEFORE_SWITCHOVER] = { "pause-before-switchover", NULL },
	[MIG_CAP_MULTIFD] = { "multifd", MIG_CAP_UNSUPPORTED("multifd") },
	[MIG_CAP_DIRTY_BITMAPS] = {
		"dirty-bitmaps", MIG_CAP_UNSUPPORTED("dirty-bitmaps") },
	[MIG_CAP_POSTCOPY_BLOCKTIME] = {
		"postcopy-blocktime",
		MIG_CAP_UNSUPPORTED("postcopy-blocktime") },
	[MIG_CAP_LATE_BLOCK_ACTIVATE] = { "late-block-activate", NULL },
	[MIG_CAP_X_IGNORE_SHARED] = {
		"x-ignore-shared", MIG_CAP_UNSUPPORTED("x-ignore-shared") },
	[MIG_CAP_VALIDATE_UUID] = {
		"validate-uuid", MIG_CAP_UNSUPPORTED("validate-uuid") },
	[MIG_CAP_BACKGROUND_SNAPSHOT] = {
		"background-snapshot",
		MIG_CAP_UNSUPPORTED("background-snapshot") },
	[MIG_CAP_ZERO_COPY_SEND] = {
		"zero-copy-send", MIG_CAP_UNSUPPORTED("zero-copy-send") },
	[MIG_CAP_POSTCOPY_PREEMPT] = {
		"postcopy-preempt", MIG_CAP_UNSUPPORTED("postcopy-preempt") },
};

/* MultiFDCompression; index 0 ("none") is the default. */
static const char *const multifd_compression_names[] = {
	"none", "zlib", "zstd", NULL
};

#define ROW_U8(n, def, lo, hi, text) \
	{ .name = n, .type = MIG_PARAM_TYPE_U8, .default_num = def, \
	  .min = lo, .max = hi, .hmp_unit = "", .hmp_syntax = MIG_HMP_UINT, \
	  .check = MIG_CHECK_RANGE, .check_text = text }
#define ROW_BOOL(n, def) \
	{ .name = n, .type = MIG_PARAM_TYPE_BOOL, .default_num = def, \
	  .min = 0, .max = 1, .hmp_unit = "", .hmp_syntax = MIG_HMP_BOOL, \
	  .check = MIG_CHECK_NONE }
#define ROW_STR(n) \
	{ .name = n, .type = MIG_PARAM_TYPE_STR, .default_str = "", \
	  .hmp_unit = "", .hmp_syntax = MIG_HMP_STR, .check = MIG_CHECK_NONE }
#define ROW_SIZE_RANGE(n, def, lo, hi, unit, text) \
	{ .name = n, .type = MIG_PARAM_TYPE_SIZE, .default_num = def, \
	  .min = lo, .max = hi, .hmp_unit = unit, .hmp_syntax = MIG_HMP_SIZE, \
	  .check = MIG_CHECK_RANGE, .check_text = text }

const struct mig_param_info mig_param_table[MIG_PARAM__COUNT] = {
	[MIG_PARAM_ANNOUNCE_INITIAL] = ROW_SIZE_RANGE("announce-initial",
		50, 0, 100000, " ms", "a value between 0 and 100000"),
	[MIG_PARAM_ANNOUNCE_MAX] = ROW_SIZE_RANGE("announce-max",
		550, 0, 100000, " ms", "a value between 0 and 100000"),
	[MIG_PARAM_ANNOUNCE_ROUNDS] = ROW_SIZE_RANGE("announce-rounds",
		5, 0, 1000, "", "a value between 0 and 1000"),
	/* QEMU rejects 0 but its text says "between 0 and 10000". */
	[MIG_PARAM_ANNOUNCE_STEP] = ROW_SIZE_RANGE("announce-step",
		100, 1, 10000, " ms", "a value between 0 and 10000"),
	[MIG_PARAM_COMPRESS_LEVEL] = ROW_U8("compress-level",
		MIG_DEFAULT_COMPRESS_LEVEL, 0, 9, "a value between 0 and 9"),
	[MIG_PARAM_COMPRESS_THREADS] = ROW_U8("compress-threads",
		MIG_DEFAULT_COMPRESS_THREADS, 1, 255,
		"a value between 1 and 255"),
	[MIG_PARAM_COMPRESS_WAIT_THREAD] = ROW_BOOL("compress-wait-thread", 1),
	[MIG_PARAM_DECOMPRESS_THREADS] = ROW_U8("decompress-threads",
		MIG_DEFAULT_DECOMPRESS_THREADS, 1, 255,
		"a value between 1 and 255"),
	[MIG_PARAM_THROTTLE_TRIGGER_THRESHOLD] = ROW_U8(
		"throttle-trigger-threshold", 50, 1, 100,
		"an integer in the range of 1 to 100"),
	[MIG_PARAM_CPU_THROTTLE_INITIAL] = ROW_U8("cpu-throttle-initial",
		20, 1, 99, "an integer in the range of 1 to 99"),
	[MIG_PARAM_CPU_THROTTLE_INCREMENT] = ROW_U8("cpu-throttle-increment",
		10, 1, 99, "an integer in the range of 1 to 99"),
	[MIG_PARAM_CPU_THROTTLE_TAILSLOW] = ROW_BOOL("cpu-throttle-tailslow", 0),
	/* min is the current cpu-throttle-initial, checked on the merge. */
	[MIG_PARAM_MAX_CPU_THROTTLE] = {
		.name = "max-cpu-throttle", .type = MIG_PARAM_TYPE_U8,
		.default_num = 99, .min = 0, .max = 99, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_UINT,
		.check = MIG_CHECK_GE_CPU_THROTTLE_INITIAL,
		.check_text =
			"an integer in the range of cpu_throttle_initial to 99" },
	[MIG_PARAM_TLS_CREDS] = ROW_STR("tls-creds"),
	[MIG_PARAM_TLS_HOSTNAME] = ROW_STR("tls-hostname"),
	/* 0 means no limit; QMP's -1 is stored as 2^64-1. */
	[MIG_PARAM_MAX_BANDWIDTH] = {
		.name = "max-bandwidth", .type = MIG_PARAM_TYPE_SIZE,
		.default_num = MIG_DEFAULT_MAX_BANDWIDTH_BYTES,
		.min = 0, .max = UINT64_MAX, .hmp_unit = " bytes/second",
		.hmp_syntax = MIG_HMP_SIZE_MIB, .check = MIG_CHECK_NONE },
	[MIG_PARAM_DOWNTIME_LIMIT] = {
		.name = "downtime-limit", .type = MIG_PARAM_TYPE_U64,
		.default_num = MIG_DEFAULT_DOWNTIME_LIMIT_MS,
		.min = 0, .max = MIG_MAX_DOWNTIME_LIMIT_MS, .hmp_unit = " ms",
		.hmp_syntax = MIG_HMP_SIZE, .check = MIG_CHECK_RANGE,
		.check_text =
			"an integer in the range of 0 to (2000 * 1000) ms" },
	[MIG_PARAM_X_CHECKPOINT_DELAY] = {
		.name = "x-checkpoint-delay", .type = MIG_PARAM_TYPE_U32,
		.default_num = 20000, .min = 0, .max = UINT32_MAX,
		.hmp_unit = " ms", .hmp_syntax = MIG_HMP_UINT,
		.check = MIG_CHECK_NONE },
	[MIG_PARAM_BLOCK_INCREMENTAL] = ROW_BOOL("block-incremental", 0),
	[MIG_PARAM_MULTIFD_CHANNELS] = ROW_U8("multifd-channels", 2, 1, 255,
		"a value between 1 and 255"),
	[MIG_PARAM_MULTIFD_COMPRESSION] = {
		.name = "multifd-compression", .type = MIG_PARAM_TYPE_ENUM,
		.default_num = 0, .min = 0, .max = 2, .hmp_unit = "",
		.enum_names = multifd_compression_names,
		.hmp_syntax = MIG_HMP_ENUM, .check = MIG_CHECK_NONE },
	[MIG_PARAM_XBZRLE_CACHE_SIZE] = {
		.name = "xbzrle-cache-size", .type = MIG_PARAM_TYPE_SIZE,
		.default_num = MIG_DEFAULT_XBZRLE_CACHE_SIZE_BYTES,
		.min = MIG_TARGET_PAGE_SIZE_BYTES, .max = UINT64_MAX,
		.hmp_unit = " bytes", .hmp_syntax = MIG_HMP_SIZE_INT64,
		.check = MIG_CHECK_POW2,
		.check_text =
			"a power of two no less than the target page size" },
	[MIG_PARAM_MAX_POSTCOPY_BANDWIDTH] = {
		.name = "max-postcopy-bandwidth", .type = MIG_PARAM_TYPE_SIZE,
		.default_num = 0, .min = 0, .max = UINT64_MAX, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_SIZE, .check = MIG_CHECK_NONE },
	[MIG_PARAM_TLS_AUTHZ] = ROW_STR("tls-authz"),
	[MIG_PARAM_MULTIFD_ZLIB_LEVEL] = ROW_U8("multifd-zlib-level", 1, 0, 9,
		"a value between 0 and 9"),
	[MIG_PARAM_MULTIFD_ZSTD_LEVEL] = ROW_U8("multifd-zstd-level", 1, 0, 20,
		"a value between 0 and 20"),
};

/* migrate_params_check()'s order in QEMU 7.2; the first failure wins. */
static const enum mig_param param_check_order[] = {
	MIG_PARAM_COMPRESS_LEVEL,
	MIG_PARAM_COMPRESS_THREADS,
	MIG_PARAM_DECOMPRESS_THREADS,
	MIG_PARAM_THROTTLE_TRIGGER_THRESHOLD,
	MIG_PARAM_CPU_THROTTLE_INITIAL,
	MIG_PARAM_CPU_THROTTLE_INCREMENT,
	MIG_PARAM_DOWNTIME_LIMIT,
	MIG_PARAM_MULTIFD_CHANNELS,
	MIG_PARAM_MULTIFD_ZLIB_LEVEL,
	MIG_PARAM_MULTIFD_ZSTD_LEVEL,
	MIG_PARAM_XBZRLE_CACHE_SIZE,
	MIG_PARAM_MAX_CPU_THROTTLE,
	MIG_PARAM_ANNOUNCE_INITIAL,
	MIG_PARAM_ANNOUNCE_MAX,
	MIG_PARAM_ANNOUNCE_ROUNDS,
	MIG_PARAM_ANNOUNCE_STEP,
};

/* The value a QMP type can hold, and its name in QEMU's type errors. */
static uint64_t type_max(enum mig_param_type type, const char **type_name)
{
	switch (type) {
	case MIG_PARAM_TYPE_U8:
		*type_name = "uint8_t";
		return UINT8_MAX;
	case MIG_PARAM_TYPE_U32:
		*type_name = "uint32_t";
		return UINT32_MAX;
	case MIG_PARAM_TYPE_BOOL:
		*type_name = "boolean";
		return 1;
	case MIG_PARAM_TYPE_U64:
	case MIG_PARAM_TYPE_SIZE:
	case MIG_PARAM_TYPE_STR:
	case MIG_PARAM_TYPE_ENUM:
		break;
	}
	*type_name = "uint64";
	return UINT64_MAX;
}

/* ---- init, release, getters ---- */

void mig_options_init(struct mig_options *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];

		if (p->type == MIG_PARAM_TYPE_STR)
			o->str[i] = xstrdup(p->default_str);
		else
			o->num[i] = p->default_num;
	}
}

void mig_options_release(struct mig_options *o)
{
	if (!o)
		return;
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		free(o->str[i]);
		o->str[i] = NULL;
	}
	pthread_mutex_destroy(&o->lock);
}

bool mig_options_cap(struct mig_options *o, enum mig_cap cap)
{
	bool on;

	pthread_mutex_lock(&o->lock);
	on = o->caps[cap];
	pthread_mutex_unlock(&o->lock);
	return on;
}

uint64_t mig_options_num(struct mig_options *o, enum mig_param param)
{
	uint64_t v;

	pthread_mutex_lock(&o->lock);
	v = o->num[param];
	pthread_mutex_unlock(&o->lock);
	return v;
}

char *mig_options_str_dup(struct mig_options *o, enum mig_param param)
{
	char *s;

	pthread_mutex_lock(&o->lock);
	s = xstrdup(o->str[param] ? o->str[param] : "");
	pthread_mutex_unlock(&o->lock);
	return s;
}

uint64_t mig_options_generation(struct mig_options *o)
{
	uint64_t g;

	pthread_mutex_lock(&o->lock);
	g = o->generation;
	pthread_mutex_unlock(&o->lock);
	return g;
}

void mig_options_snapshot(struct mig_options *o, struct mig_options *copy)
{
	memset(copy, 0, sizeof(*copy));
	pthread_mutex_init(&copy->lock, NULL);
	pthread_mutex_lock(&o->lock);
	memcpy(copy->caps, o->caps, sizeof(copy->caps));
	memcpy(copy->num, o->num, sizeof(copy->num));
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		copy->str[i] = o->str[i] ? xstrdup(o->str[i]) : NULL;
	copy->generation = o->generation;
	pthread_mutex_unlock(&o->lock);
}

/* ---- lookup ---- */

int mig_cap_lookup(const char *name)
{
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		if (!strcmp(name, mig_cap_table[i].name))
			return i;
	return -1;
}

/* name equals canonical, where '_' in name may stand for '-'. */
static bool name_matches(const char *name, const char *canonical,
			 bool accept_underscores)
{
	for (; *name && *canonical; name++, canonical++) {
		if (*name == *canonical)
			continue;
		if (accept_underscores && *name == '_' && *canonical == '-')
			continue;
		return false;
	}
	return *name == *canonical;
}

int mig_param_lookup(const char *name, bool accept_underscores)
{
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		if (name_matches(name, mig_param_table[i].name,
				 accept_underscores))
			return i;
	return -1;
}

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
	if (name_matches(name, "block-bitmap-mapping", accept_underscores))
		error_setf(errp, "The block-bitmap-mapping parameter can only "
			   "be set through QMP");
	else
		error_setf(errp, "invalid parameter value: %s", name);
	return -1;
}

/* ---- capabilities ---- */

static bool tls_creds_set(char *const *str)
{
	return str[MIG_PARAM_TLS_CREDS] && *str[MIG_PARAM_TLS_CREDS];
}

/*
 * QEMU 7.2's migrate_caps_check() on the resulting set, in its order,
 * keeping the checks that depend only on capabilities and parameters
 * (host-dependent ones become "not supported" below).
 */
static bool caps_cross_check(const bool *caps, const uint64_t *num,
			     char *const *str, struct error **errp)
{
	if (caps[MIG_CAP_POSTCOPY_RAM] && caps[MIG_CAP_X_IGNORE_SHARED]) {
		error_setf(errp, "Postcopy is not compatible with ignore-shared");
		return false;
	}
	if (caps[MIG_CAP_ZERO_COPY_SEND] &&
	    (!caps[MIG_CAP_MULTIFD] || caps[MIG_CAP_COMPRESS] ||
	     caps[MIG_CAP_XBZRLE] || num[MIG_PARAM_MULTIFD_COMPRESSION] ||
	     tls_creds_set(str))) {
		error_setf(errp, "Zero copy only available for non-compressed "
			   "non-TLS multifd migration");
		return false;
	}
	if (caps[MIG_CAP_POSTCOPY_PREEMPT]) {
		if (!caps[MIG_CAP_POSTCOPY_RAM]) {
			error_setf(errp,
				   "Postcopy preempt requires postcopy-ram");
			return false;
		}
		if (caps[MIG_CAP_COMPRESS]) {
			error_setf(errp, "Postcopy preempt not compatible with "
				   "compress");
			return false;
		}
	}
	if (caps[MIG_CAP_MULTIFD] && caps[MIG_CAP_COMPRESS]) {
		error_setf(errp, "Multifd is not compatible with compress");
		return false;
	}
	return true;
}

bool mig_options_apply_caps(struct mig_options *o,
			    const struct mig_cap_update *update,
			    struct error **errp)
{
	bool caps[MIG_CAP__COUNT];
	bool ok = false;

	pthread_mutex_lock(&o->lock);
	memcpy(caps, o->caps, sizeof(caps));
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		if (update->set[i])
			caps[i] = update->state[i];

	/* QEMU's own messages first, where QEMU would give them. */
	if (!caps_cross_check(caps, o->num, o->str, errp))
		goto out;
	for (int i = 0; i < MIG_CAP__COUNT; i++) {
		if (caps[i] && mig_cap_table[i].unsupported) {
			error_setf(errp, "%s", mig_cap_table[i].unsupported);
			goto out;
		}
	}
	memcpy(o->caps, caps, sizeof(caps));
	o->generation++;
	ok = true;
out:
	pthread_mutex_unlock(&o->lock);
	return ok;
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

/* ---- parameters: HMP parsing ---- */

/* The underscore spelling QEMU's range errors use, into buf. */
static const char *underscore_name(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < size; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[i] = '\0';
	return buf;
}

/* QEMU's string input visitor for uintN: strtoull base 0, then bounds. */
static bool parse_hmp_uint(const struct mig_param_info *p, const char *value,
			   uint64_t *out, struct error **errp)
{
	const char *type_name;
	uint64_t max = type_max(p->type, &type_name);
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno == ERANGE || end == value || *end) {
		error_setf(errp, "Parameter '%s' expects uint64", p->name);
		return false;
	}
	/* strtoull accepts "-1" as 2^64-1, which fails here as in QEMU. */
	if (v > max) {
		error_setf(errp, "Parameter '%s' expects %s", p->name,
			   type_name);
		return false;
	}
	*out = v;
	return true;
}

/* QEMU's parse_option_size(): what visit_type_size() does for HMP. */
static bool parse_hmp_size(const struct mig_param_info *p, const char *value,
			   uint64_t *out, struct error **errp)
{
	int ret = size_parse_bytes(value, NULL, out);

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

static bool parse_hmp_bool(const struct mig_param_info *p, const char *value,
			   uint64_t *out, struct error **errp)
{
	static const char *const on[] = { "on", "yes", "true", "y" };
	static const char *const off[] = { "off", "no", "false", "n" };

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (!strcmp(value, on[i])) {
			*out = 1;
			return true;
		}
		if (!strcmp(value, off[i])) {
			*out = 0;
			return true;
		}
	}
	error_setf(errp, "Parameter '%s' expects 'on' or 'off'", p->name);
	return false;
}

static bool parse_hmp_enum(const struct mig_param_info *p, const char *value,
			   uint64_t *out, struct error **errp)
{
	for (uint64_t i = 0; p->enum_names[i]; i++) {
		if (!strcmp(value, p->enum_names[i])) {
			*out = i;
			return true;
		}
	}
	error_setf(errp, "Parameter '%s' does not accept value '%s'", p->name,
		   value);
	return false;
}

bool mig_param_parse_hmp(enum mig_param param, const char *value,
			 struct mig_param_update *update, struct error **errp)
{
	const struct mig_param_info *p = &mig_param_table[param];
	uint64_t v = 0;
	bool ok = false;

	switch (p->hmp_syntax) {
	case MIG_HMP_UINT:
		ok = parse_hmp_uint(p, value, &v, errp);
		break;
	case MIG_HMP_SIZE:
		ok = parse_hmp_size(p, value, &v, errp);
		break;
	case MIG_HMP_SIZE_INT64:
		ok = parse_hmp_size(p, value, &v, errp);
		if (ok && v > INT64_MAX) {
			error_setf(errp, "Invalid size %s", value);
			ok = false;
		}
		break;
	case MIG_HMP_SIZE_MIB:
		/* QEMU reads max-bandwidth in MiB unless a suffix says so. */
		ok = size_parse_mib(value, NULL, &v) == 0 && v <= INT64_MAX;
		if (!ok)
			error_setf(errp, "Invalid size %s", value);
		break;
	case MIG_HMP_BOOL:
		ok = parse_hmp_bool(p, value, &v, errp);
		break;
	case MIG_HMP_ENUM:
		ok = parse_hmp_enum(p, value, &v, errp);
		break;
	case MIG_HMP_STR:
		free(update->str[param]);
		update->str[param] = xstrdup(value);
		update->has[param] = true;
		return true;
	}
	if (!ok)
		return false;
	update->has[param] = true;
	update->num[param] = v;
	return true;
}

/* ---- parameters: validation and commit ---- */

static bool is_power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * QEMU's migrate_params_check() on the merged values: every parameter,
 * changed or not, in QEMU's order.  Type bounds first (what QMP's input
 * visitor rejects before QEMU's checks run).
 */
static bool params_check(const uint64_t *num, char *const *str,
			 const bool *caps, struct error **errp)
{
	char uname[64];

	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];
		const char *type_name;

		if (p->type == MIG_PARAM_TYPE_STR)
			continue;
		if (p->type == MIG_PARAM_TYPE_ENUM && num[i] > p->max) {
			error_setf(errp, "Parameter '%s' does not accept value "
				   "'%" PRIu64 "'", p->name, num[i]);
			return false;
		}
		if (num[i] > type_max(p->type, &type_name)) {
			error_setf(errp, "Parameter '%s' expects %s", p->name,
				   type_name);
			return false;
		}
	}

	for (size_t k = 0;
	     k < sizeof(param_check_order) / sizeof(param_check_order[0]);
	     k++) {
		enum mig_param i = param_check_order[k];
		const struct mig_param_info *p = &mig_param_table[i];
		uint64_t v = num[i];
		bool bad = false;

		switch (p->check) {
		case MIG_CHECK_NONE:
			break;
		case MIG_CHECK_RANGE:
			bad = v < p->min || v > p->max;
			break;
		case MIG_CHECK_POW2:
			bad = v < p->min || !is_power_of_2(v);
			break;
		case MIG_CHECK_GE_CPU_THROTTLE_INITIAL:
			bad = v < num[MIG_PARAM_CPU_THROTTLE_INITIAL] ||
			      v > p->max;
			break;
		}
		if (bad) {
			error_setf(errp, "Parameter '%s' expects %s",
				   underscore_name(p->name, uname,
						   sizeof(uname)),
				   p->check_text);
			return false;
		}
	}

	if (caps[MIG_CAP_ZERO_COPY_SEND] &&
	    (num[MIG_PARAM_MULTIFD_COMPRESSION] || tls_creds_set(str))) {
		error_setf(errp, "Zero copy only available for non-compressed "
			   "non-TLS multifd migration");
		return false;
	}
	return true;
}

bool mig_options_apply_params(struct mig_options *o,
			      const struct mig_param_update *update,
			      struct error **errp)
{
	uint64_t num[MIG_PARAM__COUNT];
	char *str[MIG_PARAM__COUNT];
	bool ok = false;

	pthread_mutex_lock(&o->lock);
	/* The merge borrows strings; nothing is owned until the commit. */
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		num[i] = update->has[i] ? update->num[i] : o->num[i];
		str[i] = o->str[i];
		if (update->has[i] &&
		    mig_param_table[i].type == MIG_PARAM_TYPE_STR)
			str[i] = update->str[i] ? update->str[i] : "";
	}
	if (!params_check(num, str, o->caps, errp))
		goto out;

	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		if (!update->has[i])
			continue;
		if (mig_param_table[i].type == MIG_PARAM_TYPE_STR) {
			char *copy = xstrdup(str[i]);

			free(o->str[i]);
			o->str[i] = copy;
		} else {
			o->num[i] = num[i];
		}
	}
	o->generation++;
	ok = true;
out:
	pthread_mutex_unlock(&o->lock);
	return ok;
}

void mig_param_update_init(struct mig_param_update *update)
{
	memset(update, 0, sizeof(*update));
}

void mig_param_update_release(struct mig_param_update *update)
{
	if (!update)
		return;
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		free(update->str[i]);
	mig_param_update_init(update);
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

/* ---- info ---- */

void mig_options_format_caps(struct mig_options *o, struct strbuf *out)
{
	pthread_mutex_lock(&o->lock);
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		strbuf_addf(out, "%s: %s\n", mig_cap_table[i].name,
			    o->caps[i] ? "on" : "off");
	pthread_mutex_unlock(&o->lock);
}

void mig_options_format_params(struct mig_options *o, struct strbuf *out)
{
	pthread_mutex_lock(&o->lock);
	for (int i = 0; i < MIG_PARAM__HMP_COUNT; i++) {
		const struct mig_param_info *p = &mig_param_table[i];

		strbuf_addf(out, "%s: ", p->name);
		switch (p->type) {
		case MIG_PARAM_TYPE_BOOL:
			strbuf_addstr(out, o->num[i] ? "on" : "off");
			break;
		case MIG_PARAM_TYPE_STR:
			strbuf_addf(out, "'%s'", o->str[i] ? o->str[i] : "");
			break;
		case MIG_PARAM_TYPE_ENUM:
			strbuf_addstr(out, p->enum_names[o->num[i]]);
			break;
		case MIG_PARAM_TYPE_U8:
		case MIG_PARAM_TYPE_U32:
		case MIG_PARAM_TYPE_U64:
		case MIG_PARAM_TYPE_SIZE:
			strbuf_addf(out, "%" PRIu64, o->num[i]);
			break;
		}
		strbuf_addf(out, "%s\n", p->hmp_unit);
	}
	pthread_mutex_unlock(&o->lock);
}
