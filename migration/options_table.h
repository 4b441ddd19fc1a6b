/*
 * The capability and parameter rows (migration/options_table.c): the
 * enums, what a row says, the per-type operations, QEMU 7.2's defaults
 * and the name lookups.  Constant data, any thread; the values live in
 * the store (migration/options.h), which builds on this.
 */
#ifndef QMIG_MIGRATION_OPTIONS_TABLE_H
#define QMIG_MIGRATION_OPTIONS_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* In QEMU 7.2's order, which `info migrate_capabilities` prints. */
enum mig_cap {
	MIG_CAP_XBZRLE,
	MIG_CAP_RDMA_PIN_ALL,
	MIG_CAP_AUTO_CONVERGE,
	MIG_CAP_ZERO_BLOCKS,
	MIG_CAP_COMPRESS,
	MIG_CAP_EVENTS,
	MIG_CAP_POSTCOPY_RAM,
	MIG_CAP_X_COLO,
	MIG_CAP_RELEASE_RAM,
	MIG_CAP_BLOCK,
	MIG_CAP_RETURN_PATH,
	MIG_CAP_PAUSE_BEFORE_SWITCHOVER,
	MIG_CAP_MULTIFD,
	MIG_CAP_DIRTY_BITMAPS,
	MIG_CAP_POSTCOPY_BLOCKTIME,
	MIG_CAP_LATE_BLOCK_ACTIVATE,
	MIG_CAP_X_IGNORE_SHARED,
	MIG_CAP_VALIDATE_UUID,
	MIG_CAP_BACKGROUND_SNAPSHOT,
	MIG_CAP_ZERO_COPY_SEND,
	MIG_CAP_POSTCOPY_PREEMPT,
	MIG_CAP__COUNT
};

struct mig_cap_info {
	const char *name;    /* QEMU's hyphenated name */
	/*
	 * NULL when qmig implements the capability (it may be turned on):
	 * xbzrle, compress, events, return-path, pause-before-switchover,
	 * late-block-activate.  Otherwise the error text a user gets for
	 * turning it on, always "Capability '<name>' is not supported by
	 * qmig"; turning it off is always accepted.
	 */
	const char *unsupported;
};
extern const struct mig_cap_info mig_cap_table[MIG_CAP__COUNT];

/*
 * In QEMU 7.2's order (`info migrate_parameters`, the QMP schema), then
 * qmig's own.  Which ones each monitor shows is the row's `shown` column.
 */
enum mig_param {
	MIG_PARAM_ANNOUNCE_INITIAL,
	MIG_PARAM_ANNOUNCE_MAX,
	MIG_PARAM_ANNOUNCE_ROUNDS,
	MIG_PARAM_ANNOUNCE_STEP,
	MIG_PARAM_COMPRESS_LEVEL,
	MIG_PARAM_COMPRESS_THREADS,
	MIG_PARAM_COMPRESS_WAIT_THREAD,
	MIG_PARAM_DECOMPRESS_THREADS,
	MIG_PARAM_THROTTLE_TRIGGER_THRESHOLD,
	MIG_PARAM_CPU_THROTTLE_INITIAL,
	MIG_PARAM_CPU_THROTTLE_INCREMENT,
	MIG_PARAM_CPU_THROTTLE_TAILSLOW,
	MIG_PARAM_MAX_CPU_THROTTLE,
	MIG_PARAM_TLS_CREDS,
	MIG_PARAM_TLS_HOSTNAME,
	MIG_PARAM_MAX_BANDWIDTH,
	MIG_PARAM_DOWNTIME_LIMIT,
	MIG_PARAM_X_CHECKPOINT_DELAY,
	MIG_PARAM_BLOCK_INCREMENTAL,
	MIG_PARAM_MULTIFD_CHANNELS,
	MIG_PARAM_MULTIFD_COMPRESSION,
	MIG_PARAM_XBZRLE_CACHE_SIZE,
	MIG_PARAM_MAX_POSTCOPY_BANDWIDTH,
	MIG_PARAM_TLS_AUTHZ,
	MIG_PARAM_MULTIFD_ZLIB_LEVEL,
	MIG_PARAM_MULTIFD_ZSTD_LEVEL,
	/* qmig's own (not in QEMU 7.2): docs/monitor.md, docs/qmp.md */
	MIG_PARAM_X_XBZRLE_BULK_FILL,
	MIG_PARAM_X_COMPRESS_ENGINE,
	MIG_PARAM_X_DECOMPRESS_ENGINE,
	MIG_PARAM__COUNT
};

/*
 * A parameter's QMP type.  What a type does (bounds, HMP display, JSON)
 * is one entry per type in each of mig_param_types[] (options_table.c),
 * options_hmp.c's formatters and qmp_options.c's converters; each table
 * has a _Static_assert that it covers every type.
 */
enum mig_param_type {
	MIG_PARAM_TYPE_U8,     /* QMP uint8 */
	MIG_PARAM_TYPE_U32,    /* QMP uint32 */
	MIG_PARAM_TYPE_U64,    /* QMP uint64 */
	MIG_PARAM_TYPE_SIZE,   /* QMP size */
	MIG_PARAM_TYPE_BOOL,   /* QMP bool; HMP on/off */
	MIG_PARAM_TYPE_STR,    /* QMP StrOrNull, may be empty */
	MIG_PARAM_TYPE_ENUM,   /* one of the row's enum_names[] */
	MIG_PARAM_TYPE__COUNT
};

/*
 * How `migrate_set_parameter` reads a value (QEMU 7.2's HMP visitors),
 * which is not always the QMP type's reading: downtime-limit is a uint64
 * that HMP reads as a size.  One parser per syntax in options_hmp.c.
 */
enum mig_param_hmp_syntax {
	MIG_HMP_UINT,        /* integer: decimal, 0x hex, 0 octal; the QMP
			      * type bounds it ("expects uint8_t") */
	MIG_HMP_SIZE,        /* size, default unit bytes (k M G ... suffixes) */
	MIG_HMP_SIZE_INT64,  /* the same, above INT64_MAX "Invalid size" */
	MIG_HMP_SIZE_MIB,    /* size, default unit MiB, "Invalid size" errors */
	MIG_HMP_BOOL,        /* on/yes/true/y, off/no/false/n */
	MIG_HMP_STR,         /* taken as is */
	MIG_HMP_ENUM,        /* one of enum_names[] */
	MIG_HMP__COUNT
};

/* What QEMU 7.2's migrate_params_check() checks beyond the type. */
enum mig_param_check {
	MIG_CHECK_NONE,      /* any value of the type */
	MIG_CHECK_RANGE,     /* min <= value <= max */
	MIG_CHECK_POW2,      /* power of two, >= min (the target page size) */
	MIG_CHECK_GE_CPU_THROTTLE_INITIAL, /* cpu-throttle-initial..max */
};

/* Where the monitors show a parameter. */
enum mig_param_shown {
	/* `info migrate_parameters` and query-migrate-parameters */
	MIG_SHOWN_HMP_QMP,
	/* query-migrate-parameters only (as QEMU 7.2: multifd-z*-level) */
	MIG_SHOWN_QMP,
	/*
	 * qmig's own parameters: both, after QEMU's, but only while the
	 * value is not the default, so that a qmig left at its defaults
	 * answers both queries byte for byte as QEMU 7.2 (libvirt and the
	 * QEMU fixtures compare the member set).
	 */
	MIG_SHOWN_WHEN_SET,
};

/*
 * What a change does to an outgoing migration that is running (bits of
 * a row's `apply` column): the work beyond reading the new value, which
 * the RAM saver does between sections for the parameters changed since it
 * last looked (ram_save_apply_options()).  0 for the rest: the migration
 * thread reads max-bandwidth and downtime-limit where it uses them, the
 * RAM saver's copy of compress-wait-thread follows every commit, and the
 * others count only when a migration starts.
 */
enum mig_param_apply {
	MIG_APPLY_XBZRLE_CACHE = 1u << 0,  /* the cache is resized */
	MIG_APPLY_COMPRESS_POOL = 1u << 1, /* the pool is rebuilt */
};

struct mig_param_info {
	const char *name;           /* QEMU's hyphenated name */
	enum mig_param_type type;
	uint64_t default_num;       /* numbers, bools (0/1), enum index */
	const char *default_str;    /* MIG_PARAM_TYPE_STR only */
	/*
	 * Inclusive range checked on set when check is MIG_CHECK_RANGE;
	 * for MIG_CHECK_POW2 min is the smallest size; for
	 * MIG_CHECK_GE_CPU_THROTTLE_INITIAL the lower bound is the merged
	 * cpu-throttle-initial.  Otherwise the values the type allows.
	 */
	uint64_t min, max;
	const char *hmp_unit;       /* suffix `info migrate_parameters` prints */
	const char *const *enum_names; /* MIG_PARAM_TYPE_ENUM only */
	enum mig_param_hmp_syntax hmp_syntax;
	enum mig_param_check check;
	/*
	 * QEMU's text after "Parameter 'compress_level' expects " when the
	 * check fails (QEMU names the parameter with underscores there).
	 */
	const char *check_text;
	/*
	 * 1-based place of the member in query-migrate-parameters: QEMU
	 * 7.2's (hash) order, then qmig's own.  Every row has one and
	 * no two rows share one (test_options checks the permutation).
	 */
	unsigned qmp_pos;
	enum mig_param_shown shown;
	unsigned apply;             /* enum mig_param_apply bits */
};
extern const struct mig_param_info mig_param_table[MIG_PARAM__COUNT];

/* What a parameter type is, whichever monitor asks. */
struct mig_param_type_ops {
	const char *qmp_name;  /* in QEMU's type errors: "expects uint8_t" */
	uint64_t max;          /* the largest value the type holds */
	bool is_str;           /* held in str[], not num[] */
	/*
	 * The type's bounds on a value about to be committed (what QMP's
	 * input visitor refuses before QEMU's own checks run), with QEMU's
	 * text: "Parameter 'compress-level' expects uint8_t".
	 */
	bool (*check)(const struct mig_param_info *p, uint64_t num,
		      struct error **errp);
};
extern const struct mig_param_type_ops mig_param_types[MIG_PARAM_TYPE__COUNT];

static inline const struct mig_param_type_ops *
mig_param_type_of(enum mig_param param)
{
	return &mig_param_types[mig_param_table[param].type];
}

/* Whether (num, str) is the row's default (str for string types). */
bool mig_param_is_default(enum mig_param param, uint64_t num,
			  const char *str);
/*
 * Whether `info migrate_parameters` (hmp) or query-migrate-parameters
 * (!hmp) shows the parameter while it holds (num, str): the row's
 * `shown` column.
 */
bool mig_param_shown(enum mig_param param, bool hmp, uint64_t num,
		     const char *str);

/* Defaults, named once (QEMU 7.2 values). */
#define MIG_DEFAULT_MAX_BANDWIDTH_BYTES (128ULL << 20)  /* 134217728 B/s */
#define MIG_DEFAULT_DOWNTIME_LIMIT_MS 300ULL
#define MIG_MAX_DOWNTIME_LIMIT_MS 2000000ULL
#define MIG_DEFAULT_XBZRLE_CACHE_SIZE_BYTES (64ULL << 20)
#define MIG_DEFAULT_COMPRESS_LEVEL 1
#define MIG_DEFAULT_COMPRESS_THREADS 8
#define MIG_DEFAULT_DECOMPRESS_THREADS 2

/* -1 when unknown.  Capability names are exact (case, hyphens). */
int mig_cap_lookup(const char *name);
/*
 * -1 when unknown.  With accept_underscores, `compress_level` finds
 * compress-level (qmig's HMP accepts the seeds' spellings; QMP does not).
 */
int mig_param_lookup(const char *name, bool accept_underscores);
/* name equals canonical, where '_' in name may stand for '-'. */
bool mig_name_matches(const char *name, const char *canonical,
		      bool accept_underscores);
/* The index of value in the row's enum_names[], or -1. */
int mig_param_enum_lookup(enum mig_param param, const char *value);

#endif
