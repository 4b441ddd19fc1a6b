/*
 * QEMU 7.2's capability and parameter checks (contract in options_check.h).
 *
 * QEMU checks its parameters in an order of its own, which is neither the
 * display order nor the QMP order; param_check_order[] below is that order
 * and the only place it is written.  A row whose check is not NONE must
 * be listed there (test_options sets every such row out of range and
 * expects the row's error).
 */
#include "migration/options_check.h"

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static bool tls_creds_set(char *const *str)
{
	return str[MIG_PARAM_TLS_CREDS] && *str[MIG_PARAM_TLS_CREDS];
}

/* What zero-copy-send refuses of the parameters (compression, TLS). */
static bool zero_copy_params_refused(const uint64_t *num, char *const *str)
{
	return num[MIG_PARAM_MULTIFD_COMPRESSION] || tls_creds_set(str);
}

static bool zero_copy_error(struct error **errp)
{
	error_setf(errp, "Zero copy only available for non-compressed "
		   "non-TLS multifd migration");
	return false;
}

/*
 * migrate_caps_check() on the resulting set, in its order, keeping the
 * checks that depend only on capabilities and parameters (host-dependent
 * ones become "not supported" below).
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
	     caps[MIG_CAP_XBZRLE] || zero_copy_params_refused(num, str)))
		return zero_copy_error(errp);
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

bool mig_caps_check(const bool *caps, const uint64_t *num, char *const *str,
		    struct error **errp)
{
	/* QEMU's own messages first, where QEMU would give them. */
	if (!caps_cross_check(caps, num, str, errp))
		return false;
	for (int i = 0; i < MIG_CAP__COUNT; i++) {
		if (caps[i] && mig_cap_table[i].unsupported) {
			error_setf(errp, "%s", mig_cap_table[i].unsupported);
			return false;
		}
	}
	return true;
}

/* ---- parameters ---- */

/* Whether v passes the row's check (num: the whole merged set). */
typedef bool check_fn(const struct mig_param_info *p, uint64_t v,
		      const uint64_t *num);

static bool check_none(const struct mig_param_info *p, uint64_t v,
		       const uint64_t *num)
{
	return true;
}

static bool check_range(const struct mig_param_info *p, uint64_t v,
			const uint64_t *num)
{
	return v >= p->min && v <= p->max;
}

static bool check_pow2(const struct mig_param_info *p, uint64_t v,
		       const uint64_t *num)
{
	return v >= p->min && !(v & (v - 1));
}

static bool check_ge_cpu_throttle_initial(const struct mig_param_info *p,
					  uint64_t v, const uint64_t *num)
{
	return v >= num[MIG_PARAM_CPU_THROTTLE_INITIAL] && v <= p->max;
}

static check_fn *const checks[] = {
	[MIG_CHECK_NONE] = check_none,
	[MIG_CHECK_RANGE] = check_range,
	[MIG_CHECK_POW2] = check_pow2,
	[MIG_CHECK_GE_CPU_THROTTLE_INITIAL] = check_ge_cpu_throttle_initial,
};

/* The underscore spelling QEMU's range errors use, into buf. */
static const char *underscore_name(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < size; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[i] = '\0';
	return buf;
}

bool mig_params_check(const uint64_t *num, char *const *str,
		      const bool *caps, struct error **errp)
{
	char uname[64];

	/* What QMP's input visitor rejects before QEMU's checks run. */
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		if (!mig_param_type_of(i)->check(&mig_param_table[i], num[i],
						 errp))
			return false;

	for (size_t k = 0; k < ARRAY_SIZE(param_check_order); k++) {
		enum mig_param i = param_check_order[k];
		const struct mig_param_info *p = &mig_param_table[i];

		if (checks[p->check](p, num[i], num))
			continue;
		error_setf(errp, "Parameter '%s' expects %s",
			   underscore_name(p->name, uname, sizeof(uname)),
			   p->check_text);
		return false;
	}

	if (caps[MIG_CAP_ZERO_COPY_SEND] && zero_copy_params_refused(num, str))
		return zero_copy_error(errp);
	return true;
}
