/*
 * The capability and parameter rows, what each parameter type is, and the
 * lookups (contract in options.h).  Everything per capability and per
 * parameter is here; the store, the checks and the monitors only walk it.
 */
#include "migration/options_table.h"

#include <inttypes.h>
#include <string.h>

#include "migration/ram_wire.h"

/* The smallest XBZRLE cache QEMU accepts: its target page size. */
#define MIG_TARGET_PAGE_SIZE_BYTES ((uint64_t)RAM_PAGE_SIZE)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Capabilities qmig refuses to turn on, and why:
 *   rdma-pin-all                 no RDMA transport
 *   zero-blocks, block, dirty-bitmaps   no block migration
 *   postcopy-ram, postcopy-blocktime, postcopy-preempt, release-ram
 *                                precopy only
 *   x-colo                       no COLO
 *   x-ignore-shared              every RAM block is migrated
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
	/* Throttles the workload threads (ram/cpu_throttle.h). */
	[MIG_CAP_AUTO_CONVERGE] = { "auto-converge", NULL },
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
	[MIG_CAP_MULTIFD] = { "multifd", NULL },
	[MIG_CAP_DIRTY_BITMAPS] = {
		"dirty-bitmaps", MIG_CAP_UNSUPPORTED("dirty-bitmaps") },
	[MIG_CAP_POSTCOPY_BLOCKTIME] = {
		"postcopy-blocktime",
		MIG_CAP_UNSUPPORTED("postcopy-blocktime") },
	[MIG_CAP_LATE_BLOCK_ACTIVATE] = { "late-block-activate", NULL },
	[MIG_CAP_X_IGNORE_SHARED] = {
		"x-ignore-shared", MIG_CAP_UNSUPPORTED("x-ignore-shared") },
	/* The configuration's uuid subsection (migration/savevm.c). */
	[MIG_CAP_VALIDATE_UUID] = { "validate-uuid", NULL },
	[MIG_CAP_BACKGROUND_SNAPSHOT] = {
		"background-snapshot",
		MIG_CAP_UNSUPPORTED("background-snapshot") },
	/* MSG_ZEROCOPY on the multifd channels (util/zero_copy.h). */
	[MIG_CAP_ZERO_COPY_SEND] = { "zero-copy-send", NULL },
	[MIG_CAP_POSTCOPY_PREEMPT] = {
		"postcopy-preempt", MIG_CAP_UNSUPPORTED("postcopy-preempt") },
};

/* ---- what a type is ---- */

static bool check_bounds(const struct mig_param_info *p, uint64_t num,
			 struct error **errp)
{
	const struct mig_param_type_ops *t = &mig_param_types[p->type];

	if (num <= t->max)
		return true;
	error_setf(errp, "Parameter '%s' expects %s", p->name, t->qmp_name);
	return false;
}

static bool check_enum(const struct mig_param_info *p, uint64_t num,
		       struct error **errp)
{
	if (num <= p->max)
		return true;
	error_setf(errp, "Parameter '%s' does not accept value '%" PRIu64 "'",
		   p->name, num);
	return false;
}

/* A string has no bounds (and no num[] value to check). */
static bool check_nothing(const struct mig_param_info *p, uint64_t num,
			  struct error **errp)
{
	return true;
}

const struct mig_param_type_ops mig_param_types[] = {
	[MIG_PARAM_TYPE_U8] = { "uint8_t", UINT8_MAX, false, check_bounds },
	[MIG_PARAM_TYPE_U32] = { "uint32_t", UINT32_MAX, false, check_bounds },
	[MIG_PARAM_TYPE_U64] = { "uint64", UINT64_MAX, false, check_bounds },
	[MIG_PARAM_TYPE_SIZE] = { "uint64", UINT64_MAX, false, check_bounds },
	[MIG_PARAM_TYPE_BOOL] = { "boolean", 1, false, check_bounds },
	[MIG_PARAM_TYPE_STR] = { "StrOrNull", 0, true, check_nothing },
	[MIG_PARAM_TYPE_ENUM] = { "string", UINT64_MAX, false, check_enum },
};
_Static_assert(ARRAY_SIZE(mig_param_types) == MIG_PARAM_TYPE__COUNT,
	       "mig_param_types[] needs one entry per enum mig_param_type");

/* ---- the parameter rows ---- */

/* MultiFDCompression; index 0 ("none") is the default. */
static const char *const multifd_compression_names[] = {
	"none", "zlib", "zstd", NULL
};
/*
 * x-compress-engine: "auto" is page_deflate_pick()'s choice per level; the
 * others are page_deflate's engine names.
 */
static const char *const compress_engine_names[] = {
	"auto", "zlib", "libdeflate", "igzip", NULL
};

/* x-decompress-engine: decompress_pool's engine names. */
static const char *const decompress_engine_names[] = {
	"libdeflate", "zlib", NULL
};

/* QMP position, then the rest; rows QEMU shows in HMP and QMP. */
#define ROW_U8(n, pos, def, lo, hi, text) \
	{ .name = n, .qmp_pos = pos, .type = MIG_PARAM_TYPE_U8, \
	  .default_num = def, .min = lo, .max = hi, .hmp_unit = "", \
	  .hmp_syntax = MIG_HMP_UINT, .check = MIG_CHECK_RANGE, \
	  .check_text = text }
#define ROW_BOOL(n, pos, def) \
	{ .name = n, .qmp_pos = pos, .type = MIG_PARAM_TYPE_BOOL, \
	  .default_num = def, .min = 0, .max = 1, .hmp_unit = "", \
	  .hmp_syntax = MIG_HMP_BOOL, .check = MIG_CHECK_NONE }
#define ROW_STR(n, pos) \
	{ .name = n, .qmp_pos = pos, .type = MIG_PARAM_TYPE_STR, \
	  .default_str = "", .hmp_unit = "", .hmp_syntax = MIG_HMP_STR, \
	  .check = MIG_CHECK_NONE }
#define ROW_SIZE_RANGE(n, pos, def, lo, hi, unit, text) \
	{ .name = n, .qmp_pos = pos, .type = MIG_PARAM_TYPE_SIZE, \
	  .default_num = def, .min = lo, .max = hi, .hmp_unit = unit, \
	  .hmp_syntax = MIG_HMP_SIZE, .check = MIG_CHECK_RANGE, \
	  .check_text = text }
#define ROW_ENUM(n, pos, names, count) \
	{ .name = n, .qmp_pos = pos, .type = MIG_PARAM_TYPE_ENUM, \
	  .default_num = 0, .min = 0, .max = (count) - 1, .hmp_unit = "", \
	  .enum_names = names, .hmp_syntax = MIG_HMP_ENUM, \
	  .check = MIG_CHECK_NONE }

const struct mig_param_info mig_param_table[MIG_PARAM__COUNT] = {
	[MIG_PARAM_ANNOUNCE_INITIAL] = ROW_SIZE_RANGE("announce-initial", 10,
		50, 0, 100000, " ms", "a value between 0 and 100000"),
	[MIG_PARAM_ANNOUNCE_MAX] = ROW_SIZE_RANGE("announce-max", 4,
		550, 0, 100000, " ms", "a value between 0 and 100000"),
	[MIG_PARAM_ANNOUNCE_ROUNDS] = ROW_SIZE_RANGE("announce-rounds", 16,
		5, 0, 1000, "", "a value between 0 and 1000"),
	/* QEMU rejects 0 but its text says "between 0 and 10000". */
	[MIG_PARAM_ANNOUNCE_STEP] = ROW_SIZE_RANGE("announce-step", 17,
		100, 1, 10000, " ms", "a value between 0 and 10000"),
	[MIG_PARAM_COMPRESS_LEVEL] = {
		.name = "compress-level", .qmp_pos = 7,
		.type = MIG_PARAM_TYPE_U8,
		.default_num = MIG_DEFAULT_COMPRESS_LEVEL, .min = 0, .max = 9,
		.hmp_unit = "", .hmp_syntax = MIG_HMP_UINT,
		.check = MIG_CHECK_RANGE,
		.check_text = "a value between 0 and 9",
		.apply = MIG_APPLY_COMPRESS_POOL },
	[MIG_PARAM_COMPRESS_THREADS] = {
		.name = "compress-threads", .qmp_pos = 6,
		.type = MIG_PARAM_TYPE_U8,
		.default_num = MIG_DEFAULT_COMPRESS_THREADS, .min = 1,
		.max = 255, .hmp_unit = "", .hmp_syntax = MIG_HMP_UINT,
		.check = MIG_CHECK_RANGE,
		.check_text = "a value between 1 and 255",
		.apply = MIG_APPLY_COMPRESS_POOL },
	[MIG_PARAM_COMPRESS_WAIT_THREAD] = {
		.name = "compress-wait-thread", .qmp_pos = 12,
		.type = MIG_PARAM_TYPE_BOOL, .default_num = 1, .min = 0,
		.max = 1, .hmp_unit = "", .hmp_syntax = MIG_HMP_BOOL,
		.check = MIG_CHECK_NONE },
	/* Read by the destination when the migration stream arrives. */
	[MIG_PARAM_DECOMPRESS_THREADS] = ROW_U8("decompress-threads", 5,
		MIG_DEFAULT_DECOMPRESS_THREADS, 1, 255,
		"a value between 1 and 255"),
	[MIG_PARAM_THROTTLE_TRIGGER_THRESHOLD] = ROW_U8(
		"throttle-trigger-threshold", 23, 50, 1, 100,
		"an integer in the range of 1 to 100"),
	[MIG_PARAM_CPU_THROTTLE_INITIAL] = ROW_U8("cpu-throttle-initial", 3,
		20, 1, 99, "an integer in the range of 1 to 99"),
	[MIG_PARAM_CPU_THROTTLE_INCREMENT] = ROW_U8("cpu-throttle-increment",
		26, 10, 1, 99, "an integer in the range of 1 to 99"),
	[MIG_PARAM_CPU_THROTTLE_TAILSLOW] = ROW_BOOL("cpu-throttle-tailslow",
		1, 0),
	/* min is the current cpu-throttle-initial, checked on the merge. */
	[MIG_PARAM_MAX_CPU_THROTTLE] = {
		.name = "max-cpu-throttle", .qmp_pos = 20,
		.type = MIG_PARAM_TYPE_U8,
		.default_num = 99, .min = 0, .max = 99, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_UINT,
		.check = MIG_CHECK_GE_CPU_THROTTLE_INITIAL,
		.check_text =
			"an integer in the range of cpu_throttle_initial to 99" },
	[MIG_PARAM_TLS_CREDS] = ROW_STR("tls-creds", 18),
	[MIG_PARAM_TLS_HOSTNAME] = ROW_STR("tls-hostname", 22),
	/* 0 means no limit; QMP's -1 is stored as 2^64-1.  The migration
	 * thread reads it every iteration. */
	[MIG_PARAM_MAX_BANDWIDTH] = {
		.name = "max-bandwidth", .qmp_pos = 24,
		.type = MIG_PARAM_TYPE_SIZE,
		.default_num = MIG_DEFAULT_MAX_BANDWIDTH_BYTES,
		.min = 0, .max = UINT64_MAX, .hmp_unit = " bytes/second",
		.hmp_syntax = MIG_HMP_SIZE_MIB, .check = MIG_CHECK_NONE },
	/* The migration thread reads it at every rate window. */
	[MIG_PARAM_DOWNTIME_LIMIT] = {
		.name = "downtime-limit", .qmp_pos = 13,
		.type = MIG_PARAM_TYPE_U64,
		.default_num = MIG_DEFAULT_DOWNTIME_LIMIT_MS,
		.min = 0, .max = MIG_MAX_DOWNTIME_LIMIT_MS, .hmp_unit = " ms",
		.hmp_syntax = MIG_HMP_SIZE, .check = MIG_CHECK_RANGE,
		.check_text =
			"an integer in the range of 0 to (2000 * 1000) ms" },
	[MIG_PARAM_X_CHECKPOINT_DELAY] = {
		.name = "x-checkpoint-delay", .qmp_pos = 25,
		.type = MIG_PARAM_TYPE_U32,
		.default_num = 20000, .min = 0, .max = UINT32_MAX,
		.hmp_unit = " ms", .hmp_syntax = MIG_HMP_UINT,
		.check = MIG_CHECK_NONE },
	[MIG_PARAM_BLOCK_INCREMENTAL] = ROW_BOOL("block-incremental", 11, 0),
	[MIG_PARAM_MULTIFD_CHANNELS] = ROW_U8("multifd-channels", 8, 2, 1, 255,
		"a value between 1 and 255"),
	[MIG_PARAM_MULTIFD_COMPRESSION] = ROW_ENUM("multifd-compression", 15,
		multifd_compression_names,
		ARRAY_SIZE(multifd_compression_names) - 1),
	[MIG_PARAM_XBZRLE_CACHE_SIZE] = {
		.name = "xbzrle-cache-size", .qmp_pos = 2,
		.type = MIG_PARAM_TYPE_SIZE,
		.default_num = MIG_DEFAULT_XBZRLE_CACHE_SIZE_BYTES,
		.min = MIG_TARGET_PAGE_SIZE_BYTES, .max = UINT64_MAX,
		.hmp_unit = " bytes", .hmp_syntax = MIG_HMP_SIZE_INT64,
		.check = MIG_CHECK_POW2,
		.check_text =
			"a power of two no less than the target page size",
		.apply = MIG_APPLY_XBZRLE_CACHE },
	[MIG_PARAM_MAX_POSTCOPY_BANDWIDTH] = {
		.name = "max-postcopy-bandwidth", .qmp_pos = 21,
		.type = MIG_PARAM_TYPE_SIZE,
		.default_num = 0, .min = 0, .max = UINT64_MAX, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_SIZE, .check = MIG_CHECK_NONE },
	[MIG_PARAM_TLS_AUTHZ] = ROW_STR("tls-authz", 14),
	[MIG_PARAM_MULTIFD_ZLIB_LEVEL] = {
		.name = "multifd-zlib-level", .qmp_pos = 19,
		.shown = MIG_SHOWN_QMP, .type = MIG_PARAM_TYPE_U8,
		.default_num = 1, .min = 0, .max = 9, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_UINT, .check = MIG_CHECK_RANGE,
		.check_text = "a value between 0 and 9" },
	[MIG_PARAM_MULTIFD_ZSTD_LEVEL] = {
		.name = "multifd-zstd-level", .qmp_pos = 9,
		.shown = MIG_SHOWN_QMP, .type = MIG_PARAM_TYPE_U8,
		.default_num = 1, .min = 0, .max = 20, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_UINT, .check = MIG_CHECK_RANGE,
		.check_text = "a value between 0 and 20" },

	/*
	 * qmig's own.  Each changes what goes on the wire or how a
	 * destination reads it, so none of them hides in the environment.
	 */
	/* on: the bulk pass fills the XBZRLE cache (docs/xbzrle.md); off:
	 * QEMU 7.2's rule.  Read when a migration starts. */
	[MIG_PARAM_X_XBZRLE_BULK_FILL] = {
		.name = "x-xbzrle-bulk-fill", .qmp_pos = 27,
		.shown = MIG_SHOWN_WHEN_SET, .type = MIG_PARAM_TYPE_BOOL,
		.default_num = 1, .min = 0, .max = 1, .hmp_unit = "",
		.hmp_syntax = MIG_HMP_BOOL, .check = MIG_CHECK_NONE },
	/* The source's deflate library (docs/compression.md); zlib writes
	 * QEMU 7.2's payload bytes.  Also during a migration. */
	[MIG_PARAM_X_COMPRESS_ENGINE] = {
		.name = "x-compress-engine", .qmp_pos = 28,
		.shown = MIG_SHOWN_WHEN_SET, .type = MIG_PARAM_TYPE_ENUM,
		.default_num = 0, .min = 0,
		.max = ARRAY_SIZE(compress_engine_names) - 2, .hmp_unit = "",
		.enum_names = compress_engine_names,
		.hmp_syntax = MIG_HMP_ENUM, .check = MIG_CHECK_NONE,
		.apply = MIG_APPLY_COMPRESS_POOL },
	/* The destination's inflater (docs/compression.md), read when the
	 * stream arrives: libdeflate with zlib deciding every refusal, or
	 * zlib alone. */
	[MIG_PARAM_X_DECOMPRESS_ENGINE] = {
		.name = "x-decompress-engine", .qmp_pos = 29,
		.shown = MIG_SHOWN_WHEN_SET, .type = MIG_PARAM_TYPE_ENUM,
		.default_num = 0, .min = 0,
		.max = ARRAY_SIZE(decompress_engine_names) - 2,
		.hmp_unit = "", .enum_names = decompress_engine_names,
		.hmp_syntax = MIG_HMP_ENUM, .check = MIG_CHECK_NONE },
};

bool mig_param_is_default(enum mig_param param, uint64_t num,
			  const char *str)
{
	const struct mig_param_info *p = &mig_param_table[param];

	if (mig_param_types[p->type].is_str)
		return !strcmp(str ? str : "", p->default_str);
	return num == p->default_num;
}

bool mig_param_shown(enum mig_param param, bool hmp, uint64_t num,
		     const char *str)
{
	switch (mig_param_table[param].shown) {
	case MIG_SHOWN_HMP_QMP:
		return true;
	case MIG_SHOWN_QMP:
		return !hmp;
	case MIG_SHOWN_WHEN_SET:
		return !mig_param_is_default(param, num, str);
	}
	return false;
}

/* ---- lookups ---- */

int mig_cap_lookup(const char *name)
{
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		if (!strcmp(name, mig_cap_table[i].name))
			return i;
	return -1;
}

bool mig_name_matches(const char *name, const char *canonical,
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
		if (mig_name_matches(name, mig_param_table[i].name,
				     accept_underscores))
			return i;
	return -1;
}

int mig_param_enum_lookup(enum mig_param param, const char *value)
{
	const char *const *names = mig_param_table[param].enum_names;

	for (int i = 0; names && names[i]; i++)
		if (!strcmp(value, names[i]))
			return i;
	return -1;
}
