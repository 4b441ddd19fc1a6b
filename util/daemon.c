#include "util/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int daemon_start(struct error **errp)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		error_setf(errp, "cannot daemonize: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		error_setf(errp, "cannot daemonize: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		/* out of the caller's session and process group, as QEMU */
		setsid();
		return fds[1];
	}
	close(fds[1]);
	char status;
	ssize_t n;
	do {
		n = read(fds[0], &status, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1 && status == 0)
		_exit(0);
	/* The child failed and said why on our shared stderr; collect it so
	 * the caller's wait sees one process end. */
	int wstatus;
	waitpid(pid, &wstatus, 0);
	_exit(1);
}

void daemon_ready(int readyfd)
{
	if (chdir("/") < 0) {
		/* "/" always exists; stay where we are if not */
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	char ok = 0;
	ssize_t n;
	do {
		n = write(readyfd, &ok, 1);
	} while (n < 0 && errno == EINTR);
	close(readyfd);
}

bool pidfile_write(const char *path, struct error **errp)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		error_setf(errp, "cannot create PID file: Cannot open pid file: %s",
			   strerror(errno));
		return false;
	}
	if (lockf(fd, F_TLOCK, 0) < 0) {
		error_setf(errp, "cannot create PID file: Cannot lock pid file: %s",
			   strerror(errno));
		close(fd);
		return false;
	}
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)len) != len) {
		error_setf(errp, "cannot create PID file: Failed to write pid file: %s",
			   strerror(errno));
		close(fd);
		return false;
	}
	return true; /* fd stays open: the lock lasts as long as we do */
}
