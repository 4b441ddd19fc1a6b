/*
 * zero_copy: MSG_ZEROCOPY sends on a TCP socket arrive whole, a flush
 * waits for every acknowledgement and tells that loopback copied after all
 * (then resets), and a unix socket refuses SO_ZEROCOPY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/sock_io.h"
#include "util/zero_copy.h"

#define PAGES 64
#define PAGE 4096

static void tcp_pair(int *tx, int *rx)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	*tx = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*tx, (struct sockaddr *)&a, sizeof(a)), 0);
	*rx = accept(l, NULL, NULL);
	assert_true(*rx >= 0);
	close(l);
}

static void test_sends_arrive_and_flush(void **state)
{
	(void)state;
	int tx, rx;
	tcp_pair(&tx, &rx);
	struct zero_copy zc;
	assert_true(zero_copy_enable(&zc, tx));
	static uint8_t pages[PAGES][PAGE], got[PAGES * PAGE];
	struct iovec iov[PAGES];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < PAGES; i++) {
			memset(pages[i], round * PAGES + i, PAGE);
			iov[i] = (struct iovec){ pages[i], PAGE };
		}
		assert_true(zero_copy_sendv(&zc, iov, PAGES));
		assert_true(zc.sent > 0);
		/* read before the flush: the pages are acknowledged once
		 * they are delivered */
		assert_true(fd_read_exact(rx, got, sizeof(got)));
		for (int i = 0; i < PAGES; i++)
			assert_memory_equal(got + i * PAGE, pages[i], PAGE);
		/* loopback delivers by copying */
		assert_int_equal(zero_copy_flush(&zc, NULL, NULL), 1);
		assert_int_equal(zc.done, zc.sent);
		/* nothing new in flight: nothing copied since */
		assert_int_equal(zero_copy_flush(&zc, NULL, NULL), 0);
	}
	close(tx);
	close(rx);
}

static void test_unix_socket_refused(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct zero_copy zc;
	assert_false(zero_copy_enable(&zc, sv[0]));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sends_arrive_and_flush),
		cmocka_unit_test(test_unix_socket_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
