/*
 * ram_load with multifd channels: the known-zero map is shared with the
 * channel threads.  A page a channel wrote before a sync point and a ZERO
 * record for it after that ends zero; a ZERO record for a page nothing
 * wrote is applied without touching it (mincore: not faulted in); and a
 * page a channel stored before the loader attached (so the map does not
 * know of it) is still zeroed.  With none and zstd, where pages are read
 * or inflated in place: a page keeps the copy of the newest packet
 * whichever channel stores last, a page twice in a packet keeps the later
 * copy, and a channel waiting inside a packet holds its pages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "migration/multifd_codec.h"
#include "migration/multifd_recv.h"
#include "migration/multifd_wire.h"
#include "migration/qemu_file.h"
#include "migration/ram_load.h"
#include "migration/ram_wire.h"
#include "ram/guest_ram.h"
#include "util/buffer_zero.h"
#include "util/thread.h"

#define RAM_BYTES (4 * GUEST_HUGE_PAGE_BYTES)
#define WRITTEN (3 * GUEST_PAGE_SIZE)
#define UNTOUCHED (2 * GUEST_HUGE_PAGE_BYTES + 7 * GUEST_PAGE_SIZE)

static void fail_cb(void *opaque, struct error *err)
{
	(void)opaque;
	fail_msg("channel failed: %s", err->msg);
}

static bool pending_cb(void *opaque)
{
	(void)opaque;
	return false;
}

struct channel {
	struct multifd_recv *mr;
	int fd;
	pthread_t tid;
};

static void *channel_thread(void *opaque)
{
	struct channel *c = opaque;
	multifd_recv_run_channel(c->mr, c->fd);
	return NULL;
}

static void send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* A packet: the page at `offset` filled with 0x5a (none for NULL; m
 * none), SYNC or not. */
static void send_packet(int fd, enum multifd_method m, uint64_t num,
			const uint64_t *offset, bool sync)
{
	struct multifd_packet p;
	memset(&p, 0, sizeof(p));
	p.flags = multifd_method_flag(m) |
		  (sync ? MULTIFD_FLAG_SYNC : 0);
	p.packet_num = num;
	if (offset) {
		p.pages = 1;
		p.next_packet_size = GUEST_PAGE_SIZE;
		p.offset[0] = *offset;
	}
	uint8_t hdr[MULTIFD_PACKET_BYTES];
	multifd_packet_encode(hdr, &p, GUEST_RAM_BLOCK_NAME);
	send_all(fd, hdr, sizeof(hdr));
	if (offset) {
		uint8_t page[GUEST_PAGE_SIZE];
		memset(page, 0x5a, sizeof(page));
		send_all(fd, page, sizeof(page));
	}
}

/* A packet of method m (none or zstd): page offsets[i] filled with
 * fills[i]; codec is the channel's (one stream a channel; NULL for none).
 * Its bytes, header and payload, go to *wire; their count is returned. */
static size_t pages_packet(enum multifd_method m, struct multifd_codec *codec,
			   uint64_t num, const uint64_t *offsets,
			   const uint8_t *fills, unsigned n, bool sync,
			   uint8_t *wire)
{
	struct error *err = NULL;
	static uint8_t pages[4][GUEST_PAGE_SIZE];
	const uint8_t *at[4];
	struct multifd_packet p;
	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i < n; i++) {
		memset(pages[i], fills[i], GUEST_PAGE_SIZE);
		at[i] = pages[i];
		p.offset[i] = offsets[i];
	}
	uint8_t *payload = wire + MULTIFD_PACKET_BYTES;
	long len = (long)n * GUEST_PAGE_SIZE;
	if (codec)
		len = multifd_codec_compress(codec, at, n, payload, &err);
	else
		for (unsigned i = 0; i < n; i++)
			memcpy(payload + (size_t)i * GUEST_PAGE_SIZE, at[i],
			       GUEST_PAGE_SIZE);
	assert_true(len > 0);
	p.flags = multifd_method_flag(m) | (sync ? MULTIFD_FLAG_SYNC : 0);
	p.packet_num = num;
	p.pages = n;
	p.next_packet_size = (uint32_t)len;
	multifd_packet_encode(wire, &p, GUEST_RAM_BLOCK_NAME);
	return MULTIFD_PACKET_BYTES + (size_t)len;
}

static void send_pages_packet(int fd, enum multifd_method m,
			      struct multifd_codec *codec, uint64_t num,
			      const uint64_t *offsets, const uint8_t *fills,
			      unsigned n, bool sync)
{
	static uint8_t wire[MULTIFD_PACKET_BYTES + MULTIFD_COMPRESSED_MAX];
	send_all(fd, wire, pages_packet(m, codec, num, offsets, fills, n, sync,
					wire));
}

static size_t put_be64(uint8_t *at, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		at[i] = (uint8_t)(v >> (56 - 8 * i));
	return 8;
}

/* A ZERO record naming the block. */
static size_t put_zero(uint8_t *at, uint64_t offset)
{
	size_t n = put_be64(at, offset | RAM_FLAG_ZERO);
	at[n++] = (uint8_t)strlen(GUEST_RAM_BLOCK_NAME);
	memcpy(at + n, GUEST_RAM_BLOCK_NAME, strlen(GUEST_RAM_BLOCK_NAME));
	n += strlen(GUEST_RAM_BLOCK_NAME);
	at[n++] = 0;
	return n;
}

static bool resident(const uint8_t *host, uint64_t offset)
{
	unsigned char vec = 0;
	assert_int_equal(mincore((void *)(host + offset), GUEST_PAGE_SIZE,
				 &vec),
			 0);
	return vec & 1;
}

static void open_channel(struct channel *c, uint8_t id, int *peer)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->fd = sv[0];
	*peer = sv[1];
	uint8_t init[MULTIFD_INIT_BYTES];
	multifd_init_encode(init, id);
	send_all(*peer, init, sizeof(init));
	assert_true(thread_start(&c->tid, channel_thread, c, "chan", NULL));
}

static void start_channel(struct channel *c, struct guest_ram *ram, int *peer)
{
	c->mr = multifd_recv_new(1, MULTIFD_NONE, ram, fail_cb, pending_cb,
				 NULL);
	open_channel(c, 0, peer);
}

static void end_channel(struct channel *c, int peer)
{
	close(peer); /* EOF at a packet boundary: the channel ends */
	pthread_join(c->tid, NULL);
	multifd_recv_free(c->mr);
}

/* The channel's packet of WRITTEN, then the SYNC of two sections. */
static void send_written_then_syncs(int peer)
{
	uint64_t at = WRITTEN;
	send_packet(peer, MULTIFD_NONE, 1, &at, false);
	send_packet(peer, MULTIFD_NONE, 2, NULL, true);
	send_packet(peer, MULTIFD_NONE, 3, NULL, true);
}

/* The main stream's records up to their EOS, loaded as one section. */
static void load_records(struct ram_load *rl, const uint8_t *rec, size_t n)
{
	struct error *err = NULL;
	struct qemu_file *f = qemu_file_new_mem(rec, n);
	assert_int_equal(ram_load_section(rl, f, &err), 0);
	assert_null(err);
	qemu_file_close(f);
}

/* Section 1: the channel writes WRITTEN, both sides meet at the EOS.
 * Section 2: ZERO records for WRITTEN and UNTOUCHED. */
static void test_zero_after_packet(void **state)
{
	(void)state;
	struct guest_ram ram;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, NULL), 0);
	struct channel c;
	int peer;
	start_channel(&c, &ram, &peer);
	struct ram_load rl;
	ram_load_init(&rl, &ram, false, 1);
	ram_load_set_multifd(&rl, c.mr);
	send_written_then_syncs(peer);

	uint8_t eos[8];
	load_records(&rl, eos, put_be64(eos, RAM_FLAG_EOS));
	assert_int_equal(ram.host[WRITTEN], 0x5a);

	uint8_t rec[128];
	size_t n = put_zero(rec, WRITTEN);
	n += put_zero(rec + n, UNTOUCHED);
	n += put_be64(rec + n, RAM_FLAG_EOS);
	load_records(&rl, rec, n);
	assert_true(buffer_is_zero(ram.host + WRITTEN, GUEST_PAGE_SIZE));
	assert_false(resident(ram.host, UNTOUCHED));
	assert_int_equal(rl.zero_pages, 2);

	end_channel(&c, peer);
	ram_load_release(&rl);
	guest_ram_release(&ram);
}

/* The channel stores WRITTEN before the loader attaches: the map cannot
 * be trusted and is not used. */
static void test_page_before_attach(void **state)
{
	(void)state;
	struct guest_ram ram;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, NULL), 0);
	struct channel c;
	int peer;
	start_channel(&c, &ram, &peer);
	send_written_then_syncs(peer);
	/* the channel has stored the page once it waits at the SYNC */
	struct error *err = NULL;
	assert_true(multifd_recv_sync(c.mr, &err));
	assert_int_equal(ram.host[WRITTEN], 0x5a);

	struct ram_load rl;
	ram_load_init(&rl, &ram, false, 1);
	ram_load_set_multifd(&rl, c.mr);
	assert_null(rl.known_zero);
	uint8_t rec[64];
	size_t n = put_zero(rec, WRITTEN);
	n += put_be64(rec + n, RAM_FLAG_EOS);
	load_records(&rl, rec, n);
	assert_true(buffer_is_zero(ram.host + WRITTEN, GUEST_PAGE_SIZE));

	end_channel(&c, peer);
	ram_load_release(&rl);
	guest_ram_release(&ram);
}

/* Two channels of method m (none: read in place; zstd: inflated in
 * place): a page keeps the copy of the newest packet whichever channel
 * stores last, and a page twice in a packet keeps the later copy. */
static void newest_packet_wins(enum multifd_method m)
{
	struct guest_ram ram;
	assert_int_equal(guest_ram_init(&ram, RAM_BYTES, NULL), 0);
	struct channel c[2];
	int peer[2];
	c[0].mr = c[1].mr = multifd_recv_new(2, m, &ram, fail_cb, pending_cb,
					     NULL);
	open_channel(&c[0], 0, &peer[0]);
	open_channel(&c[1], 1, &peer[1]);
	struct ram_load rl;
	ram_load_init(&rl, &ram, false, 1);
	ram_load_set_multifd(&rl, c[0].mr);
	const uint64_t x = WRITTEN, y = UNTOUCHED;
	struct error *err = NULL;
	struct multifd_codec *z0 = NULL, *z1 = NULL;
	if (m != MULTIFD_NONE) {
		z0 = multifd_codec_new_compress(m, 1, 0, &err);
		z1 = multifd_codec_new_compress(m, 1, 1, &err);
		assert_non_null(z0);
		assert_non_null(z1);
	}

	/* packet 5 first (y twice in it), stored before packet 4 comes */
	send_pages_packet(peer[1], m, z1, 5, (uint64_t[]){ x, y, y },
			  (uint8_t[]){ 0x55, 0x11, 0x22 }, 3, true);
	send_packet(peer[0], m, 1, NULL, true);
	assert_true(multifd_recv_sync(c[0].mr, &err));
	assert_int_equal(ram.host[x], 0x55);
	assert_int_equal(ram.host[y + GUEST_PAGE_SIZE - 1], 0x22);

	send_pages_packet(peer[0], m, z0, 4, (uint64_t[]){ x },
			  (uint8_t[]){ 0x44 }, 1, true);
	send_packet(peer[1], m, 6, NULL, true);
	assert_true(multifd_recv_sync(c[0].mr, &err));
	assert_int_equal(ram.host[x + GUEST_PAGE_SIZE - 1], 0x55);

	/* a newer packet on the other channel overwrites */
	send_pages_packet(peer[0], m, z0, 7, (uint64_t[]){ x },
			  (uint8_t[]){ 0x77 }, 1, true);
	send_packet(peer[1], m, 8, NULL, true);
	assert_true(multifd_recv_sync(c[0].mr, &err));
	assert_int_equal(ram.host[x], 0x77);

	/* a packet number with the top bit set is not a busy mark: the
	 * next copy of the page is not waited for (for ever) */
	send_pages_packet(peer[1], m, z1, 1ULL << 63 | 9, (uint64_t[]){ x, x },
			  (uint8_t[]){ 0x98, 0x99 }, 2, true);
	send_packet(peer[0], m, 10, NULL, true);
	assert_true(multifd_recv_sync(c[0].mr, &err));
	assert_int_equal(ram.host[x], 0x99);
	send_pages_packet(peer[0], m, z0, 11, (uint64_t[]){ x },
			  (uint8_t[]){ 0xaa }, 1, true);
	send_packet(peer[1], m, 12, NULL, true);
	assert_true(multifd_recv_sync(c[0].mr, &err));
	assert_int_equal(ram.host[x], 0xaa);

	/* A channel that waits inside a packet holds its pages (none reads
	 * them in place): an older copy on the other channel waits for it,
	 * then loses to it. */
	static uint8_t wire[MULTIFD_PACKET_BYTES + MULTIFD_COMPRESSED_MAX];
	size_t len = pages_packet(m, z1, 14, (uint64_t[]){ x }, (uint8_t[]){ 0xee },
				  1, true, wire);
	send_all(peer[1], wire, len - 100);
	send_pages_packet(peer[0], m, z0, 13, (uint64_t[]){ x },
			  (uint8_t[]){ 0xdd }, 1, true);
	send_all(peer[1], wire + len - 100, 100);
	assert_true(multifd_recv_sync(c[0].mr, &err));
	assert_int_equal(ram.host[x], 0xee);
	assert_int_equal(ram.host[x + GUEST_PAGE_SIZE - 1], 0xee);

	close(peer[0]);
	close(peer[1]);
	pthread_join(c[0].tid, NULL);
	pthread_join(c[1].tid, NULL);
	multifd_recv_free(c[0].mr);
	multifd_codec_free(z0);
	multifd_codec_free(z1);
	ram_load_release(&rl);
	guest_ram_release(&ram);
}

static void test_none_newest_packet_wins(void **state)
{
	(void)state;
	newest_packet_wins(MULTIFD_NONE);
}

static void test_zstd_newest_packet_wins(void **state)
{
	(void)state;
	newest_packet_wins(MULTIFD_ZSTD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_after_packet),
		cmocka_unit_test(test_page_before_attach),
		cmocka_unit_test(test_none_newest_packet_wins),
		cmocka_unit_test(test_zstd_newest_packet_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
