#include "monitor/line_reader.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define NO_NUL SIZE_MAX

void line_reader_init(struct line_reader *lr, bool drop_cr)
{
	memset(lr, 0, sizeof(*lr));
	strbuf_init(&lr->line);
	lr->nul_offset = NO_NUL;
	lr->drop_cr = drop_cr;
}

void line_reader_release(struct line_reader *lr)
{
	strbuf_release(&lr->line);
}

size_t line_reader_feed(struct line_reader *lr, const char *data, size_t len)
{
	assert(!lr->complete);
	const char *nl = memchr(data, '\n', len);
	size_t body = nl ? (size_t)(nl - data) : len;
	for (size_t i = 0; i < body; i++) {
		char c = data[i];
		if (c == '\r' && lr->drop_cr)
			continue;
		if (c == '\0' && lr->nul_offset == NO_NUL)
			lr->nul_offset = lr->line.len + lr->dropped_bytes;
		if (lr->line.len < LINE_READER_MAX_BYTES)
			strbuf_addch(&lr->line, c);
		else
			lr->dropped_bytes++;
	}
	if (!nl)
		return len;
	lr->complete = true;
	return body + 1;
}

bool line_reader_finish(struct line_reader *lr)
{
	if (lr->complete)
		return true;
	if (!lr->line.len && !lr->dropped_bytes)
		return false;
	lr->complete = true;
	return true;
}

/* The line's head in single quotes, control bytes as \xNN so that the
 * error stays one readable line; "..." after the quote if cut. */
static void quote_head(struct strbuf *sb, const struct line_reader *lr)
{
	size_t n = lr->line.len;
	bool cut = n > LINE_READER_QUOTE_BYTES || lr->dropped_bytes;
	if (n > LINE_READER_QUOTE_BYTES)
		n = LINE_READER_QUOTE_BYTES;
	strbuf_addch(sb, '\'');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)lr->line.buf[i];
		if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '\'');
	if (cut)
		strbuf_addstr(sb, "...");
}

bool line_reader_check(const struct line_reader *lr, struct monitor *mon)
{
	assert(lr->complete);
	if (!lr->dropped_bytes && lr->nul_offset == NO_NUL)
		return true;
	struct strbuf quote;
	strbuf_init(&quote);
	quote_head(&quote, lr);
	if (lr->dropped_bytes)
		monitor_usage_error(mon, NULL,
				    "line too long (%zu bytes, at most %d), nothing run: %s",
				    lr->line.len + lr->dropped_bytes,
				    LINE_READER_MAX_BYTES, quote.buf);
	else
		monitor_usage_error(mon, NULL,
				    "NUL byte in line (at offset %zu), nothing run: %s",
				    lr->nul_offset, quote.buf);
	strbuf_release(&quote);
	return false;
}

void line_reader_next(struct line_reader *lr)
{
	strbuf_reset(&lr->line);
	lr->dropped_bytes = 0;
	lr->nul_offset = NO_NUL;
	lr->complete = false;
}
