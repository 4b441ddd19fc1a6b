/*
 * HMP input cut into lines, for the front ends that read bytes: socket
 * sessions (monitor_socket.c), a script on stdin (monitor_stdio.c) and the
 * HMP fuzzer.  Two rules keep part of a line from running as if it were
 * the whole line:
 *   - a line that holds a NUL byte runs nothing (C strings would end at
 *     the NUL and run the prefix: `stop\0 garbage` would stop the guest);
 *   - a line longer than LINE_READER_MAX_BYTES runs nothing (its head
 *     could be a complete command whose tail was never read).
 * Only the first LINE_READER_MAX_BYTES bytes of a line are kept; the rest,
 * up to its newline, is counted and dropped, so that a peer cannot make a
 * session hold more than that, whatever it sends.
 *
 * Not thread-safe: one reader per session, used by one thread.
 */
#ifndef QMIG_MONITOR_LINE_READER_H
#define QMIG_MONITOR_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/monitor.h"
#include "util/strbuf.h"

/* No HMP command needs more; QEMU's readline keeps 4095 bytes of a line
 * and silently drops the rest. */
#define LINE_READER_MAX_BYTES (64 * 1024)

/* How much of a rejected line its error quotes. */
#define LINE_READER_QUOTE_BYTES 48

struct line_reader {
	struct strbuf line;   /* the current line's first bytes, without
			       * '\n' (and without '\r' with drop_cr) */
	size_t dropped_bytes; /* bytes of the current line past the cap */
	size_t nul_offset;    /* offset of its first NUL; SIZE_MAX: none */
	bool drop_cr;         /* drop every '\r' (sockets: "\r\n" ends) */
	bool complete;        /* the line has ended: check it, then next */
};

/* drop_cr: every '\r' is dropped, as the socket sessions always did;
 * otherwise the bytes are kept as read (a script strips its own). */
void line_reader_init(struct line_reader *lr, bool drop_cr);
void line_reader_release(struct line_reader *lr);

/*
 * Takes the bytes of data up to and including the first '\n' and returns
 * how many it took (all of them if there is no '\n').  lr->complete then
 * says whether the line ended; after a complete line, call
 * line_reader_next() before feeding more.
 */
size_t line_reader_feed(struct line_reader *lr, const char *data, size_t len);

/* End of input: true if a line without its '\n' was pending (it is now
 * complete), false if there was nothing. */
bool line_reader_finish(struct line_reader *lr);

/*
 * For a complete line: true if it may run (lr->line.buf is then the whole
 * line as a C string).  Otherwise reports why on mon, as a parser error
 * that quotes at most LINE_READER_QUOTE_BYTES of the line, and returns
 * false: nothing of the line may run.
 */
bool line_reader_check(const struct line_reader *lr, struct monitor *mon);

/* Forgets the complete line; the next byte fed starts a new one. */
void line_reader_next(struct line_reader *lr);

#endif
