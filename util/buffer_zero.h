/* Fast test for an all-zero buffer (zero-page detection). */
#ifndef QMIG_UTIL_BUFFER_ZERO_H
#define QMIG_UTIL_BUFFER_ZERO_H

#include <stdbool.h>
#include <stddef.h>

/* len must be a multiple of 64 and buf 8-byte aligned (pages are). */
bool buffer_is_zero(const void *buf, size_t len);

#endif
