/*
 * The loopback TCP ceiling a migration is measured against: a plain
 * sender/receiver pair moving the same number of bytes through one
 * loopback TCP connection with large write()s and read()s, no framing.
 *
 *   tcp_blast [BYTES]      (default 1 GiB)
 * prints "tcp_blast: N bytes in S s = X MB/s".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"

#define CHUNK (256 * 1024)

int main(int argc, char **argv)
{
	unsigned long long total = argc > 1 ? strtoull(argv[1], NULL, 0)
					    : 1ULL << 30;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 1) < 0 || getsockname(ls, (struct sockaddr *)&sa, &len)) {
		perror("tcp_blast: listen");
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(1);
		char *buf = calloc(1, CHUNK);
		for (unsigned long long sent = 0; sent < total;) {
			size_t n = total - sent < CHUNK ? total - sent : CHUNK;
			ssize_t w = write(fd, buf, n);
			if (w <= 0)
				_exit(1);
			sent += (unsigned long long)w;
		}
		close(fd);
		_exit(0);
	}
	int fd = accept(ls, NULL, NULL);
	char *buf = malloc(CHUNK);
	int64_t t0 = clock_now_ns();
	unsigned long long got = 0;
	ssize_t r;
	while ((r = read(fd, buf, CHUNK)) > 0)
		got += (unsigned long long)r;
	double s = (double)(clock_now_ns() - t0) / 1e9;
	waitpid(pid, NULL, 0);
	printf("tcp_blast: %llu bytes in %.3f s = %.1f MB/s\n", got, s,
	       (double)got / s / 1e6);
	free(buf);
	return got == total ? 0 : 1;
}
