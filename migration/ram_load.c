#include "migration/ram_load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codec/decompress_pool.h"
#include "migration/multifd_recv.h"
#include "migration/ram_wire.h"
#include "codec/xbzrle.h"
#include "util/bitmap.h"
#include "util/buffer_zero.h"
#include "util/xalloc.h"

_Static_assert(GUEST_PAGE_SIZE == RAM_PAGE_SIZE,
	       "a wire page is a guest page: records index the block by it");

void ram_load_init(struct ram_load *rl, struct guest_ram *ram,
		   bool compress_enabled, unsigned decompress_threads)
{
	memset(rl, 0, sizeof(*rl));
	rl->ram = ram;
	rl->compress_enabled = compress_enabled;
	rl->decompress_threads = decompress_threads ? decompress_threads : 1;
	rl->scratch = xmalloc(RAM_COMPRESS_MAX_LEN);
	if (ram->pristine) {
		/* Filled before any other thread can see it. */
		uint64_t *known_zero = xcalloc(BITMAP_WORDS(ram->npages),
					       sizeof(uint64_t));
		bitmap_fill(known_zero, ram->npages);
		rl->known_zero = (_Atomic uint64_t *)known_zero;
		rl->known_zero_alloc = rl->known_zero;
		/* Transparent huge pages only while they come warm (issue
		 * 15): this VM's balloon gives freed memory back to the host,
		 * and a cold huge page costs 2 MiB of first touches where the
		 * stream may write a few pages of it.  Measured, 1 GiB at
		 * 125M (median of 3, destination CPU): the idle-guest image
		 * 1.11 s with huge pages always, 0.44 s with none (QEMU 7.2:
		 * 0.20-0.25); unthrottled `-workload idle` (5 runs) 1.47 s
		 * and 3.0 s total with, 0.48 s and 1.2 s without.  The source
		 * keeps them (guest_ram.c). */
		huge_probe_init(&rl->huge, ram);
		if (compress_enabled)
			huge_probe_off(&rl->huge);
		/* The loader writes it from now on: no longer pristine for
		 * a later load. */
		ram->pristine = false;
	}
}

void ram_load_release(struct ram_load *rl)
{
	decompress_pool_free(rl->pool);
	rl->pool = NULL;
	free(rl->scratch);
	rl->scratch = NULL;
	free((void *)rl->known_zero_alloc);
	rl->known_zero_alloc = NULL;
	rl->known_zero = NULL;
	huge_probe_release(&rl->huge);
}

void ram_load_set_multifd(struct ram_load *rl, struct multifd_recv *mr)
{
	rl->mr = mr;
	if (mr) {
		/* The channels clear the bits of the pages they store (a
		 * ZERO record and a packet for one page are ordered by the
		 * sync at every EOS: multifd_recv.h) and probe huge pages
		 * for their first stores. */
		if (!multifd_recv_attach(mr, rl->known_zero, &rl->huge))
			rl->known_zero = NULL;
	}
}

/* A failed read: the stream was cut (EIO) or the socket failed. */
static int stream_error(struct qemu_file *f, struct error **errp)
{
	int err = qemu_file_error(f);
	error_setf_code(errp, err, "%s", "");
	return -err;
}

static int load_block_list(struct ram_load *rl, struct qemu_file *f,
			   uint64_t total, struct error **errp)
{
	/* As QEMU: the total only says when the list ends; entries are
	 * subtracted from it (a wrong total reads past the list).  A list
	 * cut short is judged on what came, as QEMU judges it ("Unknown
	 * ramblock \"r\"", "Size mismatch: ram: 0x0"); the caller looks at
	 * the file after it. */
	while (total) {
		char name[WIRE_STRING8_BUF];
		qemu_get_string8(f, name);
		uint64_t len = qemu_get_be64(f);
		if (strcmp(name, GUEST_RAM_BLOCK_NAME)) {
			error_setf_code(errp, EINVAL,
					"Unknown ramblock \"%s\", cannot accept migration",
					name);
			return -EINVAL;
		}
		if (len != rl->ram->size_bytes) {
			error_setf_code(errp, EINVAL,
					"Size mismatch: %s: 0x%" PRIx64 " != 0x%" PRIx64 ": Invalid argument",
					name, len, rl->ram->size_bytes);
			return -EINVAL;
		}
		total -= len;
	}
	return 0;
}

static int load_xbzrle(struct ram_load *rl, struct qemu_file *f,
		       uint8_t *page, uint64_t offset, struct error **errp)
{
	/* (a header cut short reads 0: "wrong compression!", as QEMU) */
	uint8_t encoding = qemu_get_u8(f);
	uint16_t len = qemu_get_be16(f);
	const char *why = NULL;
	if (encoding != RAM_XBZRLE_ENCODING)
		why = "wrong compression!";
	else if (len > XBZRLE_PAGE_SIZE)
		why = "len overflow!";
	else if (!qemu_get_buffer(f, rl->scratch, len))
		return stream_error(f, errp);
	else if (xbzrle_decode(rl->scratch, len, page) != XBZRLE_DECODE_OK)
		why = "decode error!";
	if (why) {
		error_setf_code(errp, EINVAL, "Failed to load XBZRLE page - %s",
				why);
		error_append_line(*errp,
				  "Failed to decompress XBZRLE page at %" PRIx64,
				  offset);
		return -EINVAL;
	}
	rl->xbzrle_pages++;
	return 0;
}

/* Hands a compressed page to the decompress threads; a payload that does
 * not inflate is reported at the section's EOS (flush). */
static bool ensure_pool(struct ram_load *rl, struct error **errp)
{
	if (!rl->pool)
		rl->pool = decompress_pool_new_engine(rl->decompress_threads,
						      rl->ram->host,
						      rl->ram->size_bytes,
						      rl->decompress_engine,
						      errp);
	return rl->pool != NULL;
}

/*
 * A PAGE record.  Into a page never touched, with huge pages off, the
 * store is a 4 KiB page fault (~4 us, zeroing included): the loader's
 * biggest cost in an unthrottled load, where its other one is reading the
 * socket.  A pool worker takes those stores on another core, in order
 * with the page's other records (decompress_pool.h), while the loader
 * reads on.  A page already touched, or a huge page's first touch (timed
 * by the probe here), is stored directly.
 */
static int load_raw_page(struct ram_load *rl, struct qemu_file *f,
			 uint64_t addr, bool first_touch, struct error **errp)
{
	bool offload = first_touch && !rl->no_store_pool &&
		       !atomic_load(&rl->huge.on);
	if (!offload) {
		huge_probe_touch(&rl->huge, addr);
		if (!qemu_get_buffer(f, rl->ram->host + addr, RAM_PAGE_SIZE))
			return stream_error(f, errp);
		rl->normal_pages++;
		return 0;
	}
	if (!qemu_get_buffer(f, rl->scratch, RAM_PAGE_SIZE))
		return stream_error(f, errp);
	struct error *err = NULL;
	if (!ensure_pool(rl, &err)) {
		/* Not worth failing the load for: store it here. */
		error_free(err);
		rl->no_store_pool = true;
		memcpy(rl->ram->host + addr, rl->scratch, RAM_PAGE_SIZE);
	} else if (!decompress_pool_submit_page(rl->pool, addr, rl->scratch,
						errp)) {
		return -EINVAL;
	}
	rl->normal_pages++;
	return 0;
}

static int load_compressed(struct ram_load *rl, struct qemu_file *f,
			   uint64_t addr, struct error **errp)
{
	int32_t len = (int32_t)qemu_get_be32(f);
	if (qemu_file_error(f))
		return stream_error(f, errp);
	if (len < 0 || len > RAM_COMPRESS_MAX_LEN) {
		error_setf_code(errp, EINVAL,
				"Invalid compressed data length: %d", len);
		return -EINVAL;
	}
	if (!qemu_get_buffer(f, rl->scratch, (size_t)len))
		return stream_error(f, errp);
	if (!ensure_pool(rl, errp))
		return -ENOMEM;
	if (!decompress_pool_submit(rl->pool, addr, rl->scratch, (size_t)len,
				    errp))
		return -EINVAL;
	rl->compressed_pages++;
	return 0;
}

/* Every record has been applied (compressed ones included), and with
 * multifd every channel has reached this EOS (QEMU 7.2's
 * multifd_recv_sync_main). */
static int flush_pages(struct ram_load *rl, struct error **errp)
{
	if (rl->pool && !decompress_pool_flush(rl->pool, errp))
		return -EPERM;
	if (rl->mr && !multifd_recv_sync(rl->mr, errp))
		return -EIO;
	return 0;
}

/* The record's block: named, or the last named one (CONTINUE); then the
 * offset.  0, or -EINVAL with QEMU's lines. */
static int check_block(struct ram_load *rl, struct qemu_file *f,
		       uint64_t flags, uint64_t addr, struct error **errp)
{
	if (!(flags & RAM_FLAG_CONTINUE)) {
		/* a name cut short is looked up as it came, as QEMU */
		char name[WIRE_STRING8_BUF];
		qemu_get_string8(f, name);
		if (strcmp(name, GUEST_RAM_BLOCK_NAME)) {
			error_setf_code(errp, EINVAL, "Can't find block %s",
					name);
			error_append_line(*errp, "Illegal RAM offset %" PRIx64,
					  addr);
			return -EINVAL;
		}
		rl->block_known = true;
	} else if (!rl->block_known) {
		error_setf_code(errp, EINVAL, "Ack, bad migration stream!");
		error_append_line(*errp, "Illegal RAM offset %" PRIx64, addr);
		return -EINVAL;
	}
	if (addr >= rl->ram->size_bytes) {
		error_setf_code(errp, EINVAL, "Illegal RAM offset %" PRIx64,
				addr);
		return -EINVAL;
	}
	return 0;
}

/* A ZERO record: the fill byte, written only where it changes something
 * (keeps untouched destination RAM unallocated). */
static int load_zero(struct ram_load *rl, struct qemu_file *f, uint8_t *page,
		     uint64_t page_index, bool known_zero, struct error **errp)
{
	uint8_t fill = qemu_get_u8(f);
	if (qemu_file_error(f))
		return stream_error(f, errp);
	if (fill || (!known_zero && !buffer_is_zero(page, RAM_PAGE_SIZE)))
		memset(page, fill, RAM_PAGE_SIZE);
	if (rl->known_zero && known_zero != !fill) {
		if (fill)
			atomic_bitmap_clear_bit_relaxed(rl->known_zero,
							page_index);
		else
			atomic_bitmap_set_bit_relaxed(rl->known_zero,
						      page_index);
	}
	rl->zero_pages++;
	return 0;
}

/* One page record of a known kind whose header was read. */
static int load_page_record(struct ram_load *rl, struct qemu_file *f,
			    uint64_t kind, uint64_t addr, struct error **errp)
{
	uint8_t *page = rl->ram->host + addr;
	uint64_t page_index = addr / RAM_PAGE_SIZE;
	bool known_zero = rl->known_zero &&
			  atomic_bitmap_test_bit(rl->known_zero, page_index);
	if (known_zero && kind != RAM_FLAG_ZERO)
		atomic_bitmap_clear_bit_relaxed(rl->known_zero, page_index);
	/* A compressed record of this page still in flight must land
	 * before this one (QEMU 7.2 does not wait: §10.3). */
	if (rl->pool && kind != RAM_FLAG_COMPRESS_PAGE)
		decompress_pool_wait_page(rl->pool, addr);

	switch (kind) {
	case RAM_FLAG_ZERO:
		return load_zero(rl, f, page, page_index, known_zero, errp);
	case RAM_FLAG_PAGE:
		return load_raw_page(rl, f, addr, known_zero, errp);
	case RAM_FLAG_XBZRLE:
		return load_xbzrle(rl, f, page, addr, errp);
	default: /* RAM_FLAG_COMPRESS_PAGE */
		if (!rl->compress_enabled) {
			error_setf_code(errp, EINVAL,
					"Received an unexpected compressed page");
			return -EINVAL;
		}
		return load_compressed(rl, f, addr, errp);
	}
}

int ram_load_section(struct ram_load *rl, struct qemu_file *f,
		     struct error **errp)
{
	/*
	 * As QEMU 7.2's ram_load: a record is read and judged on what came
	 * (a header cut short reads 0: "Unknown combination of migration
	 * flags: 0x0"), and the file is looked at once the record is done.
	 */
	for (;;) {
		uint64_t header = qemu_get_be64(f);
		uint64_t flags = header & RAM_FLAG_MASK;
		uint64_t addr = header & ~RAM_FLAG_MASK;

		if (flags & RAM_FLAG_MEM_SIZE) {
			int ret = load_block_list(rl, f, addr, errp);
			if (ret)
				return ret;
			if (qemu_file_error(f))
				return stream_error(f, errp);
			flags &= ~RAM_FLAG_MEM_SIZE;
			if (!flags)
				continue;
		}
		if (flags == RAM_FLAG_EOS)
			return flush_pages(rl, errp);
		if (flags & RAM_FLAG_HOOK) {
			/* RDMA hooks: without RDMA, QEMU fails with no cause. */
			error_setf_code(errp, EINVAL, "%s", "");
			return -EINVAL;
		}

		uint64_t kind = flags & ~(uint64_t)RAM_FLAG_CONTINUE;
		if (kind != RAM_FLAG_ZERO && kind != RAM_FLAG_PAGE &&
		    kind != RAM_FLAG_XBZRLE && kind != RAM_FLAG_COMPRESS_PAGE) {
			error_setf_code(errp, EINVAL,
					"Unknown combination of migration flags: 0x%" PRIx64,
					flags);
			return -EINVAL;
		}
		int ret = check_block(rl, f, flags, addr, errp);
		if (!ret)
			ret = load_page_record(rl, f, kind, addr, errp);
		if (ret)
			return ret;
		if (qemu_file_error(f))
			return stream_error(f, errp);
	}
}
