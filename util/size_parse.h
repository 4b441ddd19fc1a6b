/*
 * Size strings such as "64k", "1.5M" or "0x1000", with QEMU 7.2's
 * qemu_strtosz() grammar and results (util/cutils.c), which HMP uses for
 * every size-typed value.
 *
 * Grammar (after optional leading white space and an optional '+'):
 *   size    := decimal [ '.' digits ] [ suffix ]
 *            | '0x' hexdigits [ suffix ]
 *   suffix  := one of b k m g t p e, either case: 1, unit^1 .. unit^6
 * Without a suffix the caller's default suffix applies (bytes for
 * size_parse_bytes(), MiB for size_parse_mib()).  A fraction needs a
 * scale larger than one byte ("1.5" in bytes is invalid, "1.5k" is 1536);
 * the result is rounded to the nearest byte, halves upward.  Rejected:
 * a minus sign anywhere in the number, exponents ("1.5e3"), hex
 * fractions ("0x1.8"), octal is read as decimal ("010" is 10).
 * A suffix on a hex number is accepted (QEMU warns that it is deprecated;
 * this parser prints nothing).
 *
 * Returns 0 and sets *result, or -EINVAL (not a size, or trailing text
 * when end is NULL) or -ERANGE (does not fit in 64 bits); *result is then
 * unchanged.  With end non-NULL, *end is set past the parsed text (on
 * -EINVAL, to str, as QEMU does).  No state: any thread may call these.
 */
#ifndef QMIG_UTIL_SIZE_PARSE_H
#define QMIG_UTIL_SIZE_PARSE_H

#include <stdint.h>

/*
 * The general form: default_suffix is one of "bBkKmMgGtTpPeE", unit 1000
 * or 1024 (the multiplier between successive suffixes).
 */
int size_parse(const char *str, const char **end, char default_suffix,
	       uint64_t unit, uint64_t *result);

/* qemu_strtosz(): default unit bytes, 1024-based suffixes. */
int size_parse_bytes(const char *str, const char **end, uint64_t *result);

/* qemu_strtosz_MiB(): default unit MiB ("32" is 33554432), 1024-based. */
int size_parse_mib(const char *str, const char **end, uint64_t *result);

/* qemu_strtosz_metric(): default unit bytes, 1000-based suffixes. */
int size_parse_metric(const char *str, const char **end, uint64_t *result);

#endif
