#include "migration/transport.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/xalloc.h"


/* QEMU 7.2's inet_parse() readings and words for HOST:PORT. */
static bool parse_host_port(const char *text, struct transport_addr *addr,
			    struct error **errp)
{
	const char *colon;
	if (text[0] == ':') {
		/* no host: every address */
		if (!text[1]) {
			error_setf(errp, "error parsing port in address '%s'",
				   text);
			return false;
		}
		addr->host = xstrdup("");
		addr->port = xstrdup(text + 1);
		return true;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' || !close[2]) {
			error_setf(errp, "error parsing IPv6 address '%s'",
				   text);
			return false;
		}
		addr->host = xstrndup(text + 1, (size_t)(close - text - 1));
		addr->port = xstrdup(close + 2);
		return true;
	}
	colon = strrchr(text, ':');
	if (!colon || !colon[1] || strchr(text, ':') != colon) {
		error_setf(errp, "error parsing address '%s'", text);
		return false;
	}
	addr->host = xstrndup(text, (size_t)(colon - text));
	addr->port = xstrdup(colon + 1);
	return true;
}

bool transport_scheme_known(const char *uri)
{
	return !strncmp(uri, "tcp:", 4) || !strncmp(uri, "unix:", 5) ||
	       !strncmp(uri, "exec:", 5) || !strncmp(uri, "fd:", 3);
}

bool transport_parse(const char *uri, struct transport_addr *addr,
		     struct error **errp)
{
	memset(addr, 0, sizeof(*addr));
	if (!strncmp(uri, "tcp:", 4)) {
		addr->kind = TRANSPORT_TCP;
		return parse_host_port(uri + 4, addr, errp);
	}
	if (!strncmp(uri, "unix:", 5)) {
		if (!uri[5]) {
			error_setf(errp, "invalid Unix socket address");
			return false;
		}
		addr->kind = TRANSPORT_UNIX;
		addr->path = xstrdup(uri + 5);
		return true;
	}
	if (!strncmp(uri, "exec:", 5)) {
		addr->kind = TRANSPORT_EXEC;
		addr->path = xstrdup(uri + 5);
		return true;
	}
	if (!strncmp(uri, "fd:", 3)) {
		addr->kind = TRANSPORT_FD;
		addr->path = xstrdup(uri + 3);
		return true;
	}
	error_setf(errp, "Parameter 'uri' expects a valid migration protocol");
	return false;
}

void transport_addr_release(struct transport_addr *addr)
{
	free(addr->host);
	free(addr->port);
	free(addr->path);
	memset(addr, 0, sizeof(*addr));
}

/*
 * fd:N with a digit first is a descriptor the process inherited, as in
 * QEMU's monitor_fd_param() (libvirt's `virsh restore` passes one on the
 * command line and sends migrate-incoming fd:N); -1 if it is not a
 * number or not open.
 */
static int inherited_fd(const char *name)
{
	if (!isdigit((unsigned char)name[0]))
		return -1;
	char *end;
	errno = 0;
	long n = strtol(name, &end, 10);
	if (errno || *end || n > INT_MAX || fcntl((int)n, F_GETFD) < 0)
		return -1;
	return (int)n;
}

bool transport_check_fd_name(const struct transport_addr *addr,
			     const struct transport_fd_names *names,
			     struct error **errp)
{
	if (addr->kind == TRANSPORT_FD && isdigit((unsigned char)addr->path[0])) {
		if (inherited_fd(addr->path) >= 0)
			return true;
		error_setf(errp, "Invalid file descriptor number '%s'",
			   addr->path);
		return false;
	}
	if (addr->kind != TRANSPORT_FD || !names || !names->has ||
	    names->has(names->opaque, addr->path))
		return true;
	error_setf(errp, "File descriptor named '%s' has not been found",
		   addr->path);
	return false;
}

char *transport_addr_describe(const struct transport_addr *addr)
{
	switch (addr->kind) {
	case TRANSPORT_TCP:
		if (strchr(addr->host, ':'))
			return xasprintf("tcp:[%s]:%s", addr->host, addr->port);
		return xasprintf("tcp:%s:%s", addr->host, addr->port);
	case TRANSPORT_UNIX:
		return xasprintf("unix:%s", addr->path);
	case TRANSPORT_EXEC:
		return xasprintf("exec:%s", addr->path);
	case TRANSPORT_FD:
		return xasprintf("fd:%s", addr->path);
	}
	return xstrdup("");
}

static bool fill_sockaddr_un(struct sockaddr_un *sun, const char *path,
			     struct error **errp)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		error_setf(errp, "UNIX socket path '%s' is too long", path);
		return false;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return true;
}

static void tune_socket(int fd)
{
	int one = 1;
	/* Records are flushed in big blocks; Nagle would only add latency
	 * at the section ends and the final flush. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * A migration stream is one long bulk transfer: with the default buffers a
 * fast receiver wakes up for every few segments and the two ends ping-pong
 * on loopback (measured: 2.3x slower for a 1 GiB guest).  What the sender
 * holds unsent or unacknowledged at the switch-over is waited for
 * (transport_socket_drained) and so counted in the downtime; what the
 * receiver has acknowledged but not yet read is invisible to the sender,
 * so it is the error of the reported downtime (issue 15: 4 MiB each way
 * put up to 190 ms of an idle guest's stream in flight at the stop).  512
 * KiB each way (the kernel doubles it) is a few ms of loading and still
 * far above loopback's bandwidth-delay product.  The kernel caps these at
 * net.core.[rw]mem_max.
 */
static void size_buffers(int fd, bool passive)
{
	int snd = 512 << 10, rcv = 512 << 10;
	if (passive)
		rcv = 512 << 10; /* a listener's are inherited on accept */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

/*
 * Resolves host:port (host NULL with passive: every local address) and
 * returns the first socket, its buffers sized as above, for which ready(fd, ai)
 * succeeds; -1 with *err set (errno, or 0 after a resolution failure,
 * reported here) when none does.
 */
static int tcp_socket_first(const char *host, const char *port, bool passive,
			    bool (*ready)(int fd, const struct addrinfo *ai),
			    int *err, struct error **errp)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = passive ? AI_PASSIVE : 0 };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	*err = 0;
	if (rc) {
		error_setf(errp, "address resolution failed for %s:%s: %s",
			   host ? host : "", port, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			*err = errno;
			continue;
		}
		size_buffers(fd, passive);
		if (ready(fd, ai))
			break;
		*err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && *err == 0)
		*err = EADDRNOTAVAIL; /* an empty list: not seen, but say so */
	return fd;
}

static bool try_connect(int fd, const struct addrinfo *ai)
{
	return connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
}

static int connect_tcp(const struct transport_addr *addr, struct error **errp)
{
	int err;
	int fd = tcp_socket_first(addr->host, addr->port, false, try_connect,
				  &err, errp);
	if (fd < 0) {
		if (err)
			error_setf(errp, "Failed to connect to '%s:%s': %s",
				   addr->host, addr->port, strerror(err));
		return -1;
	}
	tune_socket(fd);
	return fd;
}

static int connect_unix(const struct transport_addr *addr, struct error **errp)
{
	struct sockaddr_un sun;
	if (!fill_sockaddr_un(&sun, addr->path, errp))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		error_setf(errp, "Failed to connect to '%s': %s", addr->path,
			   strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Runs `sh -c cmd` with one end of a pipe as its stdin or stdout. */
static int spawn_exec(const char *cmd, bool we_write, pid_t *child,
		      struct error **errp)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		error_setf(errp, "cannot create pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		error_setf(errp, "cannot fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* Child: its stdin is the read end when we write. */
		if (we_write)
			dup2(p[0], STDIN_FILENO);
		else
			dup2(p[1], STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		/* qmig blocks the signals its host_signals thread takes; the
		 * command must get them as any process does. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	*child = pid;
	if (we_write) {
		close(p[0]);
		return p[1];
	}
	close(p[1]);
	return p[0];
}

/* fd:NAME: the descriptor from fds, made blocking (the stream code
 * expects blocking I/O), or -1. */
static int take_named_fd(const struct transport_fd_names *fds,
			 const char *name)
{
	int fd = isdigit((unsigned char)name[0]) ? inherited_fd(name) :
		 fds && fds->take ? fds->take(fds->opaque, name) : -1;
	if (fd >= 0) {
		int flags = fcntl(fd, F_GETFL);
		if (flags >= 0 && (flags & O_NONBLOCK))
			fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	return fd;
}

int transport_connect(const struct transport_addr *addr,
		      const struct transport_fd_names *fds, pid_t *child,
		      struct error **errp)
{
	*child = -1;
	switch (addr->kind) {
	case TRANSPORT_TCP:
		return connect_tcp(addr, errp);
	case TRANSPORT_UNIX:
		return connect_unix(addr, errp);
	case TRANSPORT_EXEC:
		return spawn_exec(addr->path, true, child, errp);
	case TRANSPORT_FD: {
		int fd = take_named_fd(fds, addr->path);
		if (fd >= 0)
			return fd;
		break;
	}
	}
	error_setf(errp, "File descriptor named '%s' has not been found",
		   addr->path);
	return -1;
}

/* A multifd source connects its channels right after the main stream:
 * room for all of them (multifd-channels is at most 255) in the queue. */
#define TRANSPORT_LISTEN_BACKLOG 256

static bool try_bind_listen(int fd, const struct addrinfo *ai)
{
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	       listen(fd, TRANSPORT_LISTEN_BACKLOG) == 0;
}

static int listen_tcp(struct transport_addr *addr, struct error **errp)
{
	const char *host = addr->host[0] ? addr->host : NULL;
	int err;
	int fd = tcp_socket_first(host, addr->port, true, try_bind_listen,
				  &err, errp);
	if (fd < 0) {
		if (err)
			error_setf(errp,
				   "Failed to find an available port: %s",
				   strerror(err)); /* QEMU 7.2's words */
		return -1;
	}
	/* Report the real port when 0 asked the kernel to pick one. */
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[16];
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port,
			sizeof(port), NI_NUMERICSERV) == 0) {
		free(addr->port);
		addr->port = xstrdup(port);
	}
	return fd;
}

static int listen_unix(const struct transport_addr *addr, struct error **errp)
{
	struct sockaddr_un sun;
	if (!fill_sockaddr_un(&sun, addr->path, errp))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error_setf(errp, "Failed to create socket: %s", strerror(errno));
		return -1;
	}
	unlink(addr->path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		error_setf(errp, "Failed to bind socket to %s: %s", addr->path,
			   strerror(errno));
		close(fd);
		return -1;
	}
	/* Only the owner may connect, whatever the umask; set before listen,
	 * so that no connection is queued while the mode is wider. */
	if (chmod(addr->path, 0600) < 0) {
		error_setf(errp, "cannot set the mode of '%s': %s", addr->path,
			   strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, TRANSPORT_LISTEN_BACKLOG) < 0) {
		error_setf(errp, "Failed to bind socket to %s: %s", addr->path,
			   strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int transport_listen(struct transport_addr *addr,
		     const struct transport_fd_names *fds, bool *is_stream,
		     pid_t *child, struct error **errp)
{
	*is_stream = false;
	*child = -1;
	switch (addr->kind) {
	case TRANSPORT_TCP:
		return listen_tcp(addr, errp);
	case TRANSPORT_UNIX:
		return listen_unix(addr, errp);
	case TRANSPORT_EXEC:
		*is_stream = true;
		return spawn_exec(addr->path, false, child, errp);
	case TRANSPORT_FD: {
		int fd = take_named_fd(fds, addr->path);
		if (fd >= 0) {
			*is_stream = true;
			return fd;
		}
		break;
	}
	}
	error_setf(errp, "File descriptor named '%s' has not been found",
		   addr->path);
	return -1;
}

int transport_accept(int listen_fd, struct error **errp)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			tune_socket(fd);
			return fd;
		}
		if (errno == EINTR)
			continue;
		error_setf(errp, "Failed to accept connection: %s",
			   strerror(errno));
		return -1;
	}
}

int transport_reap(pid_t child)
{
	if (child <= 0)
		return 0;
	int status;
	for (;;) {
		if (waitpid(child, &status, 0) == child)
			return status;
		if (errno != EINTR)
			return -1;
	}
}

/* Linux has a poll event for "no reader left" on a pipe's write end, but
 * none for "pipe empty": the count of unread bytes is looked at again
 * after waits that double from the first to the last (a command that
 * reads on takes the rest of a pipe in moments; cancel is seen soon). */
#define DRAIN_WAIT_FIRST_MS 1
#define DRAIN_WAIT_LAST_MS 64

bool transport_exec_drained(int fd, const atomic_bool *stop)
{
	bool reader_gone = false;
	int wait_ms = DRAIN_WAIT_FIRST_MS;
	for (;;) {
		int unread;
		if (ioctl(fd, FIONREAD, &unread) < 0)
			return true; /* cannot tell: the exit status decides */
		if (unread == 0)
			return true;
		/* Counted after the reader went: nobody takes these now. */
		if (reader_gone || atomic_load(stop))
			return false;
		struct pollfd p = { .fd = fd, .events = 0 };
		if (poll(&p, 1, wait_ms) > 0 && (p.revents & POLLERR))
			reader_gone = true; /* count once more: it may have read
					     * the rest just before leaving */
		if (wait_ms < DRAIN_WAIT_LAST_MS)
			wait_ms *= 2;
	}
}

/* The drain is polled: 100 us at first (a loopback peer takes the rest
 * in well under a millisecond), doubling up to 2 ms. */
#define DRAIN_POLL_FIRST_NS 100000LL
#define DRAIN_POLL_LAST_NS 2000000LL
#define DRAIN_STALL_NS 1000000000LL
#define DRAIN_CLOSE_WAIT_MS 1000
#define DRAIN_CLOSE_POLL_MS 50

bool transport_socket_drained(int fd, const atomic_bool *stop)
{
	int64_t wait_ns = DRAIN_POLL_FIRST_NS;
	int last_queued = -1;
	int64_t last_progress_ns = clock_now_ns();
	for (;;) {
		int queued;
		if (ioctl(fd, SIOCOUTQ, &queued) < 0)
			return true; /* not a socket that can tell */
		if (queued == 0)
			break;
		if (atomic_load(stop))
			return false;
		/* A destination that stopped reading (one waiting for
		 * channels this source never opens, say) would hold the
		 * source here for ever: without progress for a while, the
		 * bytes count as sent, as they did before this wait. */
		int64_t now = clock_now_ns();
		if (last_queued < 0 || queued < last_queued)
			last_progress_ns = now;
		else if (now - last_progress_ns > DRAIN_STALL_NS)
			break;
		last_queued = queued;
		clock_sleep_ns(wait_ns);
		if (wait_ns < DRAIN_POLL_LAST_NS)
			wait_ns *= 2;
	}
	/* Acknowledged is in the destination's kernel, not yet loaded: a
	 * destination closes the stream once it has loaded it all (qmig's
	 * and QEMU's do), and nothing else comes back on a stream without
	 * return path.  One that keeps it open is not waited for long. */
	for (int waited_ms = 0; waited_ms < DRAIN_CLOSE_WAIT_MS;
	     waited_ms += DRAIN_CLOSE_POLL_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
		if (poll(&p, 1, DRAIN_CLOSE_POLL_MS) != 0)
			break;
		if (atomic_load(stop))
			return false;
	}
	return true;
}

void transport_reset_on_close(int fd)
{
	struct linger now = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
}

bool transport_socket_was_reset(int fd)
{
	int code = 0;
	socklen_t len = sizeof(code);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &len) < 0)
		return false;
	return code == ECONNRESET;
}

bool transport_exec_status_ok(const char *cmd, int wait_status,
			      struct error **errp)
{
	if (wait_status < 0) {
		error_setf(errp, "Command '%s' could not be waited for", cmd);
		return false;
	}
	if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)
		return true;
	if (WIFSIGNALED(wait_status)) {
		int sig = WTERMSIG(wait_status);
		const char *what = sigdescr_np(sig);
		error_setf(errp, "Command '%s' was killed by signal %d (%s)",
			   cmd, sig, what ? what : "unknown");
	} else {
		error_setf(errp, "Command '%s' exited with status %d", cmd,
			   WEXITSTATUS(wait_status));
	}
	return false;
}

