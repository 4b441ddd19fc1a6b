#include "migration/multifd_codec.h"

#include <stdlib.h>

#include "util/xalloc.h"

/* The direction is kept in whether a stable page buffer exists: only a
 * compressor has one (zlib copies each page into it; zstd copies into its
 * own window instead). */
static bool compressing(const struct multifd_codec *c)
{
	return c->stable != NULL;
}

static struct multifd_codec *codec_new(enum multifd_method method, int level,
				       unsigned id, bool compress,
				       struct error **errp)
{
	struct multifd_codec *c = xcalloc(1, sizeof(*c));
	c->method = method;
	c->id = id;
	if (compress)
		c->stable = xmalloc(RAM_PAGE_SIZE);
	bool ok = method == MULTIFD_ZLIB
			  ? multifd_zlib_init(c, level, compress, errp)
			  : multifd_zstd_init(c, level, compress, errp);
	if (!ok) {
		free(c->stable);
		free(c);
		return NULL;
	}
	return c;
}

struct multifd_codec *multifd_codec_new_compress(enum multifd_method method,
						 int level, unsigned id,
						 struct error **errp)
{
	return codec_new(method, level, id, true, errp);
}

struct multifd_codec *multifd_codec_new_decompress(enum multifd_method method,
						   unsigned id,
						   struct error **errp)
{
	return codec_new(method, 0, id, false, errp);
}

void multifd_codec_free(struct multifd_codec *c)
{
	if (!c)
		return;
	if (c->method == MULTIFD_ZLIB)
		multifd_zlib_end(c, compressing(c));
	else
		multifd_zstd_end(c, compressing(c));
	free(c->stable);
	free(c);
}

long multifd_codec_compress(struct multifd_codec *c,
			    const uint8_t *const *pages, unsigned n,
			    uint8_t *out, struct error **errp)
{
	return c->method == MULTIFD_ZLIB
		       ? multifd_zlib_compress(c, pages, n, out, errp)
		       : multifd_zstd_compress(c, pages, n, out, errp);
}

bool multifd_codec_decompress(struct multifd_codec *c, const uint8_t *in,
			      size_t len, uint8_t *const *pages, unsigned n,
			      struct error **errp)
{
	return c->method == MULTIFD_ZLIB
		       ? multifd_zlib_decompress(c, in, len, pages, n, errp)
		       : multifd_zstd_decompress(c, in, len, pages, n, errp);
}
