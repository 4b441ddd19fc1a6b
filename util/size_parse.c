#include "util/size_parse.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* unit^n for a suffix letter, 0 when c is not a suffix. */
static uint64_t suffix_mul(char c, uint64_t unit)
{
	static const char letters[] = "BKMGTPE";
	const char *p;
	uint64_t mul = 1;

	if (c == '\0')
		return 0;
	p = strchr(letters, toupper((unsigned char)c));
	if (!p)
		return 0;
	for (const char *q = letters; q < p; q++)
		mul *= unit;
	return mul;
}

/*
 * strtoull() as QEMU's qemu_strtou64() uses it: an out-of-range value is
 * -ERANGE with *end past the digits, no digits at all is -EINVAL with
 * *end == str.  "-1" is accepted here (as strtoull does); callers reject
 * the sign themselves.
 */
static int parse_u64(const char *str, const char **end, int base,
		     uint64_t *result)
{
	char *ep;
	unsigned long long v;

	errno = 0;
	v = strtoull(str, &ep, base);
	*end = ep;
	if (errno == ERANGE)
		return -ERANGE;
	if (ep == str)
		return -EINVAL;
	*result = v;
	return 0;
}

/*
 * The fraction starting at f (which points at '.'), as strtod() reads it
 * in the C locale whatever the process locale is.  Returns 0, or -EINVAL
 * when nothing finite could be read (then *end == f), or -ERANGE.
 */
static int parse_fraction(const char *f, const char **end, double *result)
{
	locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char *ep;
	double v;
	int saved;

	if (c_locale == (locale_t)0)
		return -EINVAL;
	errno = 0;
	v = strtod_l(f, &ep, c_locale);
	saved = errno;
	freelocale(c_locale);
	*end = ep;
	if (ep == f)
		return -EINVAL;
	if (!isfinite(v)) {
		*end = f;
		return -EINVAL;
	}
	if (saved == ERANGE)
		return -ERANGE;
	*result = v;
	return 0;
}

/* The part after "N." at *endptr: a 64-bit fixed-point fraction in
 * *valf, *endptr moved past it; -EINVAL (and *endptr = str) for an
 * exponent. */
static int parse_fraction_part(const char *str, const char **endptr,
			       uint64_t *valf)
{
	const char *f = *endptr;
	double fraction;

	if (parse_fraction(f, endptr, &fraction)) {
		/* "1." or "1.k": no fractional digits, skip the dot. */
		(*endptr)++;
	} else if (memchr(f, 'e', (size_t)(*endptr - f)) ||
		   memchr(f, 'E', (size_t)(*endptr - f))) {
		*endptr = str;
		return -EINVAL;
	} else if (fraction < 1.0) {
		/* A 64-bit fixed-point fraction, as QEMU keeps it. */
		*valf = (uint64_t)(fraction * 0x1p64);
	}
	/*
	 * ".999...9" with more digits than a double holds reads as 1.0;
	 * QEMU's conversion then yields 0 on x86-64, so does this.
	 */
	return 0;
}

/* val.valf x mul, the fraction's integer part added and halves rounded
 * upward; -ERANGE past 64 bits. */
static int scale(uint64_t *val, uint64_t valf, uint64_t mul)
{
	unsigned __int128 whole = (unsigned __int128)*val * mul;
	unsigned __int128 part = (unsigned __int128)valf * mul;

	whole += part >> 64;
	whole += (uint64_t)part >> 63;
	if (whole >> 64)
		return -ERANGE;
	*val = (uint64_t)whole;
	return 0;
}

/* The number at str without the suffix: decimal with an optional
 * fraction, or "0x" hex; *endptr after it (str on -EINVAL). */
static int parse_number(const char *str, const char **endptr, uint64_t *val,
			uint64_t *valf)
{
	int ret = parse_u64(str, endptr, 10, val);
	if (ret)
		return ret;
	if (memchr(str, '-', (size_t)(*endptr - str))) {
		*endptr = str;
		return -EINVAL;
	}
	if (*val == 0 && (**endptr == 'x' || **endptr == 'X')) {
		/* "0x...": read again as hex, which takes no fraction. */
		ret = parse_u64(str, endptr, 16, val);
		if (ret)
			return ret;
		if (**endptr == '.') {
			*endptr = str;
			return -EINVAL;
		}
		return 0;
	}
	if (**endptr == '.')
		return parse_fraction_part(str, endptr, valf);
	return 0;
}

int size_parse(const char *str, const char **end, char default_suffix,
	       uint64_t unit, uint64_t *result)
{
	const char *endptr;
	uint64_t val = 0, valf = 0;
	int ret = parse_number(str, &endptr, &val, &valf);
	if (!ret) {
		uint64_t mul = suffix_mul(*endptr, unit);
		if (mul)
			endptr++;
		else
			mul = suffix_mul(default_suffix, unit);
		if (mul != 1) {
			ret = scale(&val, valf, mul);
		} else if (valf != 0) {
			/* A fraction needs a scale larger than one byte. */
			endptr = str;
			ret = -EINVAL;
		}
	}
	if (end)
		*end = endptr;
	else if (*endptr)
		ret = -EINVAL;
	if (ret == 0)
		*result = val;
	return ret;
}

int size_parse_bytes(const char *str, const char **end, uint64_t *result)
{
	return size_parse(str, end, 'B', 1024, result);
}

int size_parse_mib(const char *str, const char **end, uint64_t *result)
{
	return size_parse(str, end, 'M', 1024, result);
}

int size_parse_metric(const char *str, const char **end, uint64_t *result)
{
	return size_parse(str, end, 'B', 1000, result);
}
