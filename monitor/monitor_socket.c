#include "monitor/monitor_socket.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/migration.h"
#include "monitor/chardev.h"
#include "monitor/line_reader.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "util/strbuf.h"
#include "util/sock_io.h"
#include "util/xalloc.h"

#define PROMPT "(qmig) "



struct session {
	struct vm *vm;
	int fd;
};

/* Sends text with "\n" turned into "\r\n", as QEMU's monitor writes. */
static bool send_text(int fd, const char *text, size_t len)
{
	struct strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			strbuf_addch(&sb, '\r');
		strbuf_addch(&sb, text[i]);
	}
	bool ok = sock_send_all(fd, sb.buf, sb.len);
	strbuf_release(&sb);
	return ok;
}

static void *session_thread(void *opaque)
{
	struct session *s = opaque;
	struct monitor mon;
	monitor_init(&mon, s->vm, MONITOR_MODE_SOCKET);
	char banner[128];
	snprintf(banner, sizeof(banner),
		 "qmig %s monitor - type 'help' for more information\n",
		 QMIG_VERSION);
	bool ok = send_text(s->fd, banner, strlen(banner)) &&
		  sock_send_all(s->fd, PROMPT, strlen(PROMPT));

	/* A line runs only once its '\n' has come, and only if it is whole
	 * (line_reader.h); what follows the last '\n' at EOF is dropped. */
	struct line_reader in;
	line_reader_init(&in, true);
	char buf[4096];
	while (ok && !mon.quit) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t off = 0;
		while (off < (size_t)n && ok && !mon.quit) {
			off += line_reader_feed(&in, buf + off, (size_t)n - off);
			if (!in.complete)
				break;
			mon.line_no++;
			if (line_reader_check(&in, &mon))
				hmp_run_line(&mon, in.line.buf);
			line_reader_next(&in);
			ok = send_text(s->fd, mon.out.buf, mon.out.len);
			strbuf_reset(&mon.out);
			if (mon.quit)
				break;
			ok = ok && sock_send_all(s->fd, PROMPT, strlen(PROMPT));
		}
	}
	bool quit = mon.quit;
	struct vm *vm = s->vm;
	line_reader_release(&in);
	monitor_release(&mon);
	close(s->fd);
	free(s);
	chardev_session_end(vm);
	if (quit) {
		/* QEMU exits at once on `quit`; so do we. */
		pthread_mutex_lock(&vm->lock);
		migration_reap_locked(vm);
		pthread_mutex_unlock(&vm->lock);
		fflush(stdout);
		exit(0);
	}
	return NULL;
}

/* One HMP session thread per connection. */
static bool start_session(void *ctx, int fd)
{
	struct session *s = xcalloc(1, sizeof(*s));
	s->vm = ctx;
	s->fd = fd;
	pthread_t t;
	if (pthread_create(&t, NULL, session_thread, s)) {
		close(fd);
		free(s);
		return false;
	}
	pthread_detach(t);
	return true;
}


bool monitor_socket_start(struct vm *vm, const struct chardev_spec *spec,
			  const char *label, struct error **errp)
{
	int fd = chardev_listen(spec, errp);
	if (fd < 0)
		return false;
	/* Listed before the first session can ask. */
	char *filename = chardev_filename(spec, fd);
	pthread_mutex_lock(&vm->lock);
	vm_add_chardev_locked(vm, label, filename);
	pthread_mutex_unlock(&vm->lock);
	int first = spec->wait ? chardev_wait_first_client(vm, spec, fd,
							   filename, errp)
			       : -2;
	free(filename);
	if (first == -1) {
		close(fd);
		return false;
	}
	if (!chardev_accept_start(vm, fd, first >= 0 ? first : -1,
				  start_session, vm, "monitor",
				  "Error: " MONITOR_REFUSAL_TEXT "\r\n", errp)) {
		if (first >= 0) {
			close(first);
			chardev_session_end(vm);
		}
		close(fd);
		return false;
	}
	return true;
}
