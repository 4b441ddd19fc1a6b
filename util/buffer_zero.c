#include "util/buffer_zero.h"

#include <stdint.h>

bool buffer_is_zero(const void *buf, size_t len)
{
	const uint64_t *p = buf;
	/* Non-zero pages usually differ in the first bytes: test those
	 * alone first, then OR whole cache lines (vectorised by the
	 * compiler) with one branch per line. */
	if (p[0] | p[1])
		return false;
	for (size_t i = 0; i < len / 8; i += 8) {
		uint64_t acc = p[i] | p[i + 1] | p[i + 2] | p[i + 3] |
			       p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7];
		if (acc)
			return false;
	}
	return true;
}
