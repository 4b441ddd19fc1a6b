/*
 * The loopback TCP ceiling a migration is measured against: plain
 * senders/receivers moving the same number of bytes through CONNS loopback
 * TCP connections at once (one process each side of each connection),
 * with large write()s and read()s, no framing.
 *
 *   tcp_blast [BYTES [CONNS]]    (default 1 GiB over 1 connection)
 * prints "tcp_blast: N bytes in S s = X MB/s" (all connections together).
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
#define MAX_CONNS 64

static void send_part(const struct sockaddr_in *sa, unsigned long long total)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
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

/* Reads one connection to its end; the count goes back through a pipe. */
static void receive_part(int fd, int out)
{
	char *buf = malloc(CHUNK);
	unsigned long long got = 0;
	ssize_t r;
	while ((r = read(fd, buf, CHUNK)) > 0)
		got += (unsigned long long)r;
	if (write(out, &got, sizeof(got)) != sizeof(got))
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	unsigned long long total = argc > 1 ? strtoull(argv[1], NULL, 0)
					    : 1ULL << 30;
	int conns = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;
	if (conns < 1 || conns > MAX_CONNS) {
		fprintf(stderr, "tcp_blast: CONNS must be 1..%d\n", MAX_CONNS);
		return 2;
	}
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int counts[2];
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, MAX_CONNS) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) || pipe(counts)) {
		perror("tcp_blast: listen");
		return 1;
	}
	for (int i = 0; i < conns; i++) {
		unsigned long long part = total / (unsigned long long)conns +
			(i == 0 ? total % (unsigned long long)conns : 0);
		if (fork() == 0)
			send_part(&sa, part);
	}
	int fds[MAX_CONNS];
	for (int i = 0; i < conns; i++)
		fds[i] = accept(ls, NULL, NULL);
	int64_t t0 = clock_now_ns();
	for (int i = 0; i < conns; i++)
		if (fork() == 0)
			receive_part(fds[i], counts[1]);
	for (int i = 0; i < conns; i++)
		close(fds[i]);
	while (wait(NULL) > 0)
		;
	double s = (double)(clock_now_ns() - t0) / 1e9;
	unsigned long long got = 0, one;
	for (int i = 0; i < conns; i++)
		if (read(counts[0], &one, sizeof(one)) == sizeof(one))
			got += one;
	printf("tcp_blast: %llu bytes in %.3f s = %.1f MB/s\n", got, s,
	       (double)got / s / 1e6);
	return got == total ? 0 : 1;
}
