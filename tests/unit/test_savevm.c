/*
 * savevm: the stream framing both ways.  Writing: header, configuration,
 * section headers, footers and the device sections byte for byte as
 * shared/docs/qemu-7.2-stream.md §2-7, §12 and §13.4 show them.  Loading:
 * the smallest stream QEMU 7.2 accepts, a whole one, the return path's
 * PING/PONG, every refusal with QEMU 7.2's lines (the names are the cases
 * of shared/docs/qemu-7.2-dest-checks.json, where a real QEMU 7.2 said
 * them), and a stream cut anywhere before EOF failing cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/qemu_file.h"
#include "migration/ram_load.h"
#include "migration/ram_wire.h"
#include "migration/return_path.h"
#include "migration/savevm.h"
#include "tests/unit/lib/mem_file.h"
#include "tests/unit/lib/test_ram.h"
#include "util/xalloc.h"

#define RAM_BYTES (16ULL << 20) /* the doc's examples are 16 MiB guests */

static uint8_t *written(struct qemu_file *f, size_t *len)
{
	uint8_t *bytes = mem_file_contents(f, len);
	assert_int_equal(qemu_file_close(f), 0);
	return bytes;
}

/* §13.4's smallest accepted stream, without its page records. */
static const uint8_t doc_header_config[] = {
	0x51, 0x45, 0x56, 0x4d, 0x00, 0x00, 0x00, 0x03, /* "QEVM" v3 */
	0x07, 0x00, 0x00, 0x00, 0x04, 'n', 'o', 'n', 'e',
};
static const uint8_t doc_ram_start[] = {
	0x01, 0x00, 0x00, 0x00, 0x02, 0x03, 'r', 'a', 'm',
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
};
static const uint8_t doc_ram_block_list[] = {
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x04, /* 16 MiB | MEM_SIZE */
	0x03, 'r', 'a', 'm',
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, /* EOS */
};
static const uint8_t doc_footer[] = { 0x7e, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t doc_part[] = { 0x02, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t doc_end[] = { 0x03, 0x00, 0x00, 0x00, 0x02 };

static void put_bytes(struct qemu_file *f, const uint8_t *b, size_t n)
{
	qemu_put_buffer(f, b, n);
}

static void test_framing_bytes(void **state)
{
	struct qemu_file *f = mem_file_writer();
	savevm_put_header(f, NULL);
	savevm_put_section_start(f, QEMU_VM_SECTION_START, SAVEVM_ID_RAM,
				 "ram", RAM_SECTION_VERSION);
	savevm_put_footer(f, SAVEVM_ID_RAM);
	savevm_put_section_part(f, QEMU_VM_SECTION_PART, SAVEVM_ID_RAM);
	savevm_put_section_part(f, QEMU_VM_SECTION_END, SAVEVM_ID_RAM);
	size_t len;
	uint8_t *b = written(f, &len);

	struct qemu_file *want = mem_file_writer();
	put_bytes(want, doc_header_config, sizeof(doc_header_config));
	put_bytes(want, doc_ram_start, sizeof(doc_ram_start));
	put_bytes(want, doc_footer, sizeof(doc_footer));
	put_bytes(want, doc_part, sizeof(doc_part));
	put_bytes(want, doc_end, sizeof(doc_end));
	size_t want_len;
	uint8_t *w = written(want, &want_len);
	assert_int_equal(len, want_len);
	assert_memory_equal(b, w, len);
	free(b);
	free(w);
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* §12 and §7: timer (43 bytes + footer), globalstate (129 + footer), EOF,
 * the 486-byte VMDESCRIPTION describing both. */
static void test_device_sections_bytes(void **state)
{
	struct qemu_file *f = mem_file_writer();
	savevm_put_devices(f, "running", 0x000000068d314527LL,
			   0x0000000286087da2LL);
	size_t len;
	uint8_t *b = written(f, &len);
	assert_int_equal(len, 43 + 5 + 129 + 5 + 1 + 1 + 4 + 486);

	static const uint8_t timer_head[] = {
		0x04, 0, 0, 0, 0, 0x05, 't', 'i', 'm', 'e', 'r',
		0, 0, 0, 0, 0, 0, 0, 2,
	};
	assert_memory_equal(b, timer_head, sizeof(timer_head));
	assert_true(be64_at(b + 19) == 0x000000068d314527ULL);
	assert_true(be64_at(b + 27) == 0);
	assert_true(be64_at(b + 35) == 0x0000000286087da2ULL);
	static const uint8_t timer_footer[] = { 0x7e, 0, 0, 0, 0 };
	assert_memory_equal(b + 43, timer_footer, 5);

	const uint8_t *g = b + 48;
	static const uint8_t gs_head[] = {
		0x04, 0, 0, 0, 4, 0x0b, 'g', 'l', 'o', 'b', 'a', 'l', 's',
		't', 'a', 't', 'e', 0, 0, 0, 0, 0, 0, 0, 1,
	};
	assert_memory_equal(g, gs_head, sizeof(gs_head));
	assert_int_equal(be32_at(g + 25), 8); /* strlen("running") + 1 */
	uint8_t runstate[100] = "running";
	assert_memory_equal(g + 29, runstate, sizeof(runstate));
	static const uint8_t gs_footer[] = { 0x7e, 0, 0, 0, 4 };
	assert_memory_equal(g + 129, gs_footer, 5);

	const uint8_t *e = g + 134;
	assert_int_equal(e[0], QEMU_VM_EOF);
	assert_int_equal(e[1], QEMU_VM_VMDESCRIPTION);
	assert_int_equal(be32_at(e + 2), 486);
	json_error_t jerr;
	json_t *desc = json_loadb((const char *)e + 6, 486, 0, &jerr);
	assert_non_null(desc);
	assert_int_equal(json_integer_value(json_object_get(desc, "page_size")),
			 4096);
	json_t *devices = json_object_get(desc, "devices");
	assert_int_equal(json_array_size(devices), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(devices, 0), "name")),
			    "timer");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(devices, 1), "name")),
			    "globalstate");
	json_decref(desc);
	free(b);
}

/* What a load said: its return, error and warnings. */
struct load_outcome {
	int ret;
	struct error *err;
	struct savevm_load_result result;
	char warning[128]; /* the last one */
	unsigned warnings;
};

static void on_warning(void *opaque, const char *msg)
{
	struct load_outcome *o = opaque;
	snprintf(o->warning, sizeof(o->warning), "%s", msg);
	o->warnings++;
}

/* Loads bytes into ram (guarded: a write outside it crashes), as a
 * destination with -uuid local_uuid (NULL: without). */
static void load_as(struct guarded_ram *g, const uint8_t *bytes, size_t len,
		    int rp_fd, const uint8_t *local_uuid,
		    struct load_outcome *o)
{
	memset(o, 0, sizeof(*o));
	struct qemu_file *f = qemu_file_new_mem(bytes, len);
	struct ram_load rl;
	ram_load_init(&rl, &g->ram, false, 1);
	const struct savevm_load_opts opts = {
		.warn = on_warning, .warn_opaque = o, .rp_fd = rp_fd,
		.local_uuid = local_uuid,
	};
	o->ret = savevm_load(f, &rl, &o->result, &opts, &o->err);
	ram_load_release(&rl);
	qemu_file_close(f);
	/* The contract: a failure has its error, a success none. */
	if (o->ret < 0) {
		assert_non_null(o->err);
		assert_int_equal(o->err->code, -o->ret);
	} else {
		assert_int_equal(o->ret, 0);
		assert_null(o->err);
	}
}

static void load_into(struct guarded_ram *g, const uint8_t *bytes,
		      size_t len, int rp_fd, struct load_outcome *o)
{
	load_as(g, bytes, len, rp_fd, NULL, o);
}

static void test_minimal_stream_loads(void **state)
{
	/* §13.4, with one PAGE record naming the block (page 1). */
	uint8_t page[GUEST_PAGE_SIZE];
	uint64_t seed = 1;
	page_fill(page, PAGE_KIND_TEXT, &seed);
	struct qemu_file *f = mem_file_writer();
	put_bytes(f, doc_header_config, sizeof(doc_header_config));
	put_bytes(f, doc_ram_start, sizeof(doc_ram_start));
	put_bytes(f, doc_ram_block_list, sizeof(doc_ram_block_list));
	put_bytes(f, doc_footer, sizeof(doc_footer));
	put_bytes(f, doc_part, sizeof(doc_part));
	qemu_put_be64(f, 0x1000 | RAM_FLAG_PAGE);
	qemu_put_string8(f, "ram");
	qemu_put_buffer(f, page, sizeof(page));
	qemu_put_be64(f, RAM_FLAG_EOS);
	put_bytes(f, doc_footer, sizeof(doc_footer));
	put_bytes(f, doc_end, sizeof(doc_end));
	qemu_put_be64(f, RAM_FLAG_EOS);
	put_bytes(f, doc_footer, sizeof(doc_footer));
	qemu_put_u8(f, QEMU_VM_EOF);
	size_t len;
	uint8_t *bytes = written(f, &len);

	struct guarded_ram g;
	guarded_ram_init(&g, RAM_BYTES);
	struct load_outcome o;
	load_into(&g, bytes, len, -1, &o);
	assert_int_equal(o.ret, 0);
	/* edit/no-vmdesc: QEMU 7.2 says this and loads. */
	assert_int_equal(o.warnings, 1);
	assert_string_equal(o.warning,
			    "Expected vmdescription section, but got 0");
	assert_false(o.result.has_globalstate);
	assert_false(o.result.has_vmdesc);
	assert_memory_equal(g.ram.host + 0x1000, page, sizeof(page));
	uint8_t zero[GUEST_PAGE_SIZE] = { 0 };
	assert_memory_equal(g.ram.host, zero, sizeof(zero));
	guarded_ram_release(&g);
	free(bytes);
}

/*
 * The parts of a whole stream a case may change; zero members mean the
 * good value.  The stream: header, configuration, START ram (block list),
 * PART ram, END ram, FULL timer, FULL globalstate, EOF, VMDESCRIPTION.
 */
struct variant {
	const char *name;       /* the dest-checks case it mirrors */
	uint32_t magic, version;
	bool no_config;
	const char *machine;
	uint32_t ram_version;
	bool no_footers;
	uint32_t part_id;
	const char *timer_name;
	uint32_t timer_instance, timer_version;
	uint32_t timer_footer_id; /* 0: the right id (which is 0) */
	const char *runstate;
	uint8_t stray_type;     /* a section type byte after the config */
	/* writes configuration subsections after the machine name */
	void (*put_config_subs)(struct qemu_file *f);
	bool stop_before_eof;
	/* expected */
	const char *msg;
	int code;
};

/* Where each section (or the EOF byte) of a built stream starts. */
struct marks {
	size_t at[16];
	unsigned n;
};

static void mark(struct marks *m, const struct qemu_file *f)
{
	if (m && m->n < 16)
		m->at[m->n++] = f->total_bytes;
}

static void put_footer(struct qemu_file *f, const struct variant *v,
		       uint32_t id)
{
	if (!v->no_footers)
		savevm_put_footer(f, id);
}

static void put_ram_sections(struct qemu_file *f, const struct variant *v,
			     struct marks *m)
{
	mark(m, f);
	savevm_put_section_start(f, QEMU_VM_SECTION_START, SAVEVM_ID_RAM,
				 "ram", v->ram_version ? v->ram_version
						       : RAM_SECTION_VERSION);
	qemu_put_be64(f, RAM_BYTES | RAM_FLAG_MEM_SIZE);
	qemu_put_string8(f, "ram");
	qemu_put_be64(f, RAM_BYTES);
	qemu_put_be64(f, RAM_FLAG_EOS);
	put_footer(f, v, SAVEVM_ID_RAM);
	mark(m, f);
	savevm_put_section_part(f, QEMU_VM_SECTION_PART,
				v->part_id ? v->part_id : SAVEVM_ID_RAM);
	qemu_put_be64(f, RAM_FLAG_EOS);
	put_footer(f, v, SAVEVM_ID_RAM);
	mark(m, f);
	savevm_put_section_part(f, QEMU_VM_SECTION_END, SAVEVM_ID_RAM);
	qemu_put_be64(f, RAM_FLAG_EOS);
	put_footer(f, v, SAVEVM_ID_RAM);
}

static void put_device_sections(struct qemu_file *f, const struct variant *v,
				struct marks *m)
{
	mark(m, f);
	qemu_put_u8(f, QEMU_VM_SECTION_FULL);
	qemu_put_be32(f, SAVEVM_ID_TIMER);
	qemu_put_string8(f, v->timer_name ? v->timer_name : "timer");
	qemu_put_be32(f, v->timer_instance);
	qemu_put_be32(f, v->timer_version ? v->timer_version : 2);
	for (int i = 0; i < 3; i++)
		qemu_put_be64(f, 0);
	if (!v->no_footers) {
		qemu_put_u8(f, QEMU_VM_SECTION_FOOTER);
		qemu_put_be32(f, v->timer_footer_id);
	}
	const char *runstate = v->runstate ? v->runstate : "running";
	uint8_t buf[GLOBALSTATE_RUNSTATE_LEN] = { 0 };
	memcpy(buf, runstate, strlen(runstate));
	mark(m, f);
	savevm_put_section_start(f, QEMU_VM_SECTION_FULL,
				 SAVEVM_ID_GLOBALSTATE, "globalstate", 1);
	qemu_put_be32(f, (uint32_t)strlen(runstate) + 1);
	qemu_put_buffer(f, buf, sizeof(buf));
	put_footer(f, v, SAVEVM_ID_GLOBALSTATE);
	mark(m, f);
}

static uint8_t *build(const struct variant *v, size_t *len, struct marks *m)
{
	struct qemu_file *f = mem_file_writer();
	qemu_put_be32(f, v->magic ? v->magic : QEMU_VM_FILE_MAGIC);
	qemu_put_be32(f, v->version ? v->version : QEMU_VM_FILE_VERSION);
	if (!v->no_config) {
		const char *machine = v->machine ? v->machine : "none";
		qemu_put_u8(f, QEMU_VM_CONFIGURATION);
		qemu_put_be32(f, (uint32_t)strlen(machine));
		qemu_put_buffer(f, (const uint8_t *)machine, strlen(machine));
		if (v->put_config_subs)
			v->put_config_subs(f);
	}
	if (v->stray_type)
		qemu_put_u8(f, v->stray_type);
	put_ram_sections(f, v, m);
	put_device_sections(f, v, m);
	if (!v->stop_before_eof) {
		/* EOF and the vmdesc, as the product writes them. */
		struct qemu_file *d = mem_file_writer();
		savevm_put_devices(d, "running", 0, 0);
		size_t dlen;
		uint8_t *dev = written(d, &dlen);
		qemu_put_buffer(f, dev + 43 + 5 + 129 + 5, dlen - 182);
		free(dev);
	}
	return written(f, len);
}

#define MAKE_SURE \
	". Make sure that your current VM setup matches your saved VM " \
	"setup, including any hotplugged devices"

static const struct variant refusals[] = {
	{ .name = "edit/bad-magic", .magic = 0x5145564e,
	  .msg = "Not a migration stream", .code = EINVAL },
	{ .name = "edit/stream-version-2", .version = 2,
	  .msg = "SaveVM v2 format is obsolete and don't work anymore",
	  .code = ENOTSUP },
	{ .name = "stream version 4", .version = 4,
	  .msg = "Unsupported migration stream version", .code = ENOTSUP },
	{ .name = "edit/no-configuration", .no_config = true,
	  .msg = "Configuration section missing", .code = EINVAL },
	{ .name = "edit/machine-pc", .machine = "pc",
	  .msg = "Machine type received is 'pc' and local is 'none'",
	  .code = EINVAL },
	{ .name = "edit/ram-version-5", .ram_version = 5,
	  .msg = "savevm: unsupported version 5 for 'ram' v4", .code = EINVAL },
	{ .name = "edit/ram-version-3", .ram_version = 3,
	  .msg = "error while loading state for instance 0x0 of device 'ram'",
	  .code = EINVAL },
	{ .name = "edit/no-footers", .no_footers = true,
	  .msg = "Missing section footer for ram", .code = EINVAL },
	{ .name = "PART of a section never started", .part_id = 9,
	  .msg = "Unknown savevm section 9", .code = EINVAL },
	{ .name = "edit/unknown-section-timex", .timer_name = "timex",
	  .msg = "Unknown savevm section or instance 'timex' 0" MAKE_SURE,
	  .code = EINVAL },
	{ .name = "edit/timer-instance-1", .timer_instance = 1,
	  .msg = "Unknown savevm section or instance 'timer' 1" MAKE_SURE,
	  .code = EINVAL },
	{ .name = "edit/timer-version-1", .timer_version = 1,
	  .msg = "Missing section footer for timer", .code = EINVAL },
	{ .name = "edit/timer-version-3", .timer_version = 3,
	  .msg = "savevm: unsupported version 3 for 'timer' v2",
	  .code = EINVAL },
	{ .name = "footer with another id (stream doc §13.3)", .timer_footer_id = 9,
	  .msg = "Mismatched section id in footer for timer - read 0x9 expected 0x0",
	  .code = EINVAL },
	{ .name = "edit/globalstate-bogus", .runstate = "bogus",
	  .msg = "invalid parameter value: bogus\n"
		 "error while loading state for instance 0x0 of device 'globalstate'",
	  .code = EINVAL },
	{ .name = "unknown section type", .stray_type = 0x09,
	  .msg = "Unknown savevm section type 9", .code = EINVAL },
	/* QEMU 7.2 prints no cause, only "load of migration failed:
	 * Input/output error". */
	{ .name = "edit/no-eof-no-vmdesc", .stop_before_eof = true, .msg = "",
	  .code = EIO },
};

static void test_refusals(void **state)
{
	struct guarded_ram g;
	guarded_ram_init(&g, RAM_BYTES);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
		const struct variant *v = &refusals[i];
		size_t len;
		uint8_t *bytes = build(v, &len, NULL);
		struct load_outcome o;
		load_into(&g, bytes, len, -1, &o);
		if (o.ret != -v->code || strcmp(o.err->msg, v->msg))
			fail_msg("%s: got %d \"%s\"", v->name, o.ret,
				 o.err ? o.err->msg : "");
		error_free(o.err);
		free(bytes);
	}
	guarded_ram_release(&g);
}

/* The good variant loads; so does QEMU's "non" (it compares only the
 * received length of the machine name). */
static void test_whole_stream_loads(void **state)
{
	struct guarded_ram g;
	guarded_ram_init(&g, RAM_BYTES);
	const struct variant good[] = {
		{ .name = "good", .runstate = "paused" },
		{ .name = "machine 'non'", .machine = "non", .runstate = "paused" },
	};
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		uint8_t *bytes = build(&good[i], &len, NULL);
		struct load_outcome o;
		load_into(&g, bytes, len, -1, &o);
		if (o.ret)
			fail_msg("%s: %s", good[i].name, o.err->msg);
		assert_int_equal(o.warnings, 0);
		assert_true(o.result.has_globalstate);
		assert_string_equal(o.result.runstate, "paused");
		assert_true(o.result.has_vmdesc);
		assert_false(o.result.return_path_open);
		free(bytes);
	}
	guarded_ram_release(&g);
}

/* ---- the configuration's subsections ---- */

static const uint8_t uuid_a[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33,
				    0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55,
				    0x55, 0x55 };
static const uint8_t uuid_b[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33,
				    0x33, 0x44, 0x44, 0x66, 0x66, 0x66, 0x66,
				    0x66, 0x66 };

static void put_sub(struct qemu_file *f, const char *name, uint32_t version)
{
	qemu_put_u8(f, QEMU_VM_SUBSECTION);
	qemu_put_string8(f, name);
	qemu_put_be32(f, version);
}

static void put_uuid_a(struct qemu_file *f)
{
	put_sub(f, CONFIG_SUB_UUID, 1);
	qemu_put_buffer(f, uuid_a, 16);
}

static void put_uuid_v2(struct qemu_file *f)
{
	put_sub(f, CONFIG_SUB_UUID, 2);
	qemu_put_buffer(f, uuid_a, 16);
}

static void put_caps(struct qemu_file *f, const char *const *names,
		     uint32_t count)
{
	put_sub(f, CONFIG_SUB_CAPABILITIES, 1);
	qemu_put_be32(f, count);
	for (uint32_t i = 0; names && names[i]; i++)
		qemu_put_string8(f, names[i]);
}

static void put_caps_ignore_shared(struct qemu_file *f)
{
	put_caps(f, (const char *const[]){ "x-ignore-shared", NULL }, 1);
}

static void put_caps_bogus(struct qemu_file *f)
{
	put_caps(f, (const char *const[]){ "bogus", NULL }, 1);
}

static void put_caps_xbzrle(struct qemu_file *f)
{
	put_caps(f, (const char *const[]){ "xbzrle", NULL }, 1);
}

static void put_caps_too_many(struct qemu_file *f)
{
	put_caps(f, NULL, 1000);
}

static void put_page_bits_12_then_uuid(struct qemu_file *f)
{
	put_sub(f, CONFIG_SUB_PAGE_BITS, 1);
	qemu_put_be32(f, 12);
	put_uuid_a(f);
}

static void put_page_bits_13(struct qemu_file *f)
{
	put_sub(f, CONFIG_SUB_PAGE_BITS, 1);
	qemu_put_be32(f, 13);
}

static void put_unknown_sub(struct qemu_file *f)
{
	put_sub(f, "configuration/bogus", 1);
}

static void put_foreign_sub(struct qemu_file *f)
{
	put_sub(f, "timer/x", 1);
}

/* A QEMU 7.2 source writes subsections into the configuration (uuid with
 * validate-uuid and -uuid, capabilities with x-ignore-shared); the
 * destination takes them as QEMU's does, with its texts (the uuid ones
 * checked against a live QEMU 7.2 pair). */
static void test_configuration_subsections(void **state)
{
	(void)state;
	const struct {
		struct variant v;
		const uint8_t *local_uuid;
	} cases[] = {
		{ { .name = "uuid, the same", .put_config_subs = put_uuid_a },
		  uuid_a },
		{ { .name = "uuid, another", .put_config_subs = put_uuid_a,
		    .msg = "UUID received is 11111111-2222-3333-4444-555555555555"
			   " and local is 11111111-2222-3333-4444-666666666666",
		    .code = EINVAL },
		  uuid_b },
		{ { .name = "uuid, none here", .put_config_subs = put_uuid_a,
		    .msg = "warning: UUID is received "
			   "11111111-2222-3333-4444-555555555555, but local uuid"
			   " isn't set" },
		  NULL },
		{ { .name = "uuid v2", .put_config_subs = put_uuid_v2,
		    .msg = "configuration/uuid: incoming version_id 2 is too new"
			   " for local version_id 1",
		    .code = EINVAL },
		  uuid_a },
		{ { .name = "uuid before the machine check", .machine = "pc",
		    .put_config_subs = put_uuid_a,
		    .msg = "UUID received is 11111111-2222-3333-4444-555555555555"
			   " and local is 11111111-2222-3333-4444-666666666666",
		    .code = EINVAL },
		  uuid_b },
		{ { .name = "x-ignore-shared on",
		    .put_config_subs = put_caps_ignore_shared,
		    .msg = "Capability x-ignore-shared is off, but received"
			   " capability is on",
		    .code = EINVAL },
		  NULL },
		{ { .name = "unknown capability", .put_config_subs = put_caps_bogus,
		    .msg = "Received unknown capability bogus", .code = EINVAL },
		  NULL },
		{ { .name = "a capability not validated",
		    .put_config_subs = put_caps_xbzrle },
		  NULL },
		{ { .name = "a count no QEMU sends",
		    .put_config_subs = put_caps_too_many,
		    .msg = "Received 1000 capabilities (at most 64)",
		    .code = EINVAL },
		  NULL },
		{ { .name = "page bits 12, then uuid",
		    .put_config_subs = put_page_bits_12_then_uuid },
		  uuid_a },
		{ { .name = "page bits 13", .put_config_subs = put_page_bits_13,
		    .msg = "Received TARGET_PAGE_BITS is 13 but local is 12",
		    .code = EINVAL },
		  NULL },
		{ { .name = "unknown subsection", .put_config_subs = put_unknown_sub,
		    .msg = "", .code = ENOENT },
		  NULL },
		{ { .name = "not the configuration's",
		    .put_config_subs = put_foreign_sub,
		    .msg = "Unknown savevm section type 5", .code = EINVAL },
		  NULL },
	};
	struct guarded_ram g;
	guarded_ram_init(&g, RAM_BYTES);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct variant *v = &cases[i].v;
		size_t len;
		uint8_t *bytes = build(v, &len, NULL);
		struct load_outcome o;
		load_as(&g, bytes, len, -1, cases[i].local_uuid, &o);
		const char *said = o.err ? o.err->msg : o.warning;
		if (o.ret != -v->code || strcmp(said, v->msg ? v->msg : ""))
			fail_msg("%s: got %d \"%s\"", v->name, o.ret, said);
		error_free(o.err);
		free(bytes);
	}
	guarded_ram_release(&g);
}

/* The source's side: validate-uuid with -uuid writes the subsection
 * QEMU 7.2 writes, and a destination with that -uuid loads it. */
static void test_header_with_uuid_bytes(void **state)
{
	(void)state;
	struct qemu_file *f = mem_file_writer();
	savevm_put_header(f, uuid_a);
	size_t len;
	uint8_t *bytes = written(f, &len);
	static const uint8_t expected_head[] = {
		0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3, QEMU_VM_CONFIGURATION,
		0, 0, 0, 4, 'n', 'o', 'n', 'e', QEMU_VM_SUBSECTION, 18,
	};
	assert_int_equal(len, sizeof(expected_head) + 18 + 4 + 16);
	assert_memory_equal(bytes, expected_head, sizeof(expected_head));
	assert_memory_equal(bytes + sizeof(expected_head),
			    "configuration/uuid", 18);
	static const uint8_t version1[] = { 0, 0, 0, 1 };
	assert_memory_equal(bytes + sizeof(expected_head) + 18, version1, 4);
	assert_memory_equal(bytes + len - 16, uuid_a, 16);
	free(bytes);
}

static uint8_t *stream_with_commands(uint16_t extra_cmd, size_t *len)
{
	struct qemu_file *f = mem_file_writer();
	savevm_put_header(f, NULL);
	if (extra_cmd) {
		qemu_put_u8(f, QEMU_VM_COMMAND);
		qemu_put_be16(f, extra_cmd);
		qemu_put_be16(f, 0);
	} else {
		savevm_put_open_return_path(f, 7);
	}
	qemu_put_u8(f, QEMU_VM_EOF);
	return written(f, len);
}

/* The header, then `after`: the load fails with ret and msg. */
static void expect_after_header(struct guarded_ram *g, const uint8_t *after,
				size_t after_len, int ret, const char *msg)
{
	struct qemu_file *w = mem_file_writer();
	savevm_put_header(w, NULL);
	qemu_put_buffer(w, after, after_len);
	size_t len;
	uint8_t *bytes = written(w, &len);
	struct load_outcome o;
	load_into(g, bytes, len, -1, &o);
	assert_int_equal(o.ret, ret);
	assert_string_equal(o.err->msg, msg);
	error_free(o.err);
	free(bytes);
}

/* OPEN_RETURN_PATH then PING 7: the destination answers PONG 7 on the
 * return path (stream doc §6: be16 type 2, be16 len 4, be32 value). */
static void test_return_path_ping(void **state)
{
	struct guarded_ram g;
	guarded_ram_init(&g, RAM_BYTES);
	size_t len;
	uint8_t *bytes = stream_with_commands(0, &len);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct load_outcome o;
	load_into(&g, bytes, len, sv[0], &o);
	assert_int_equal(o.ret, 0);
	assert_true(o.result.return_path_open);
	uint8_t pong[8];
	assert_int_equal(read(sv[1], pong, sizeof(pong)), 8);
	static const uint8_t want[] = { 0, 2, 0, 4, 0, 0, 0, 7 };
	assert_memory_equal(pong, want, 8);

	/* exec: has no way back: opening one is an error. */
	load_into(&g, bytes, len, -1, &o);
	assert_int_equal(o.ret, -EINVAL);
	assert_string_equal(o.err->msg,
			    "the source opened a return path, but this transport has no way back");
	error_free(o.err);
	free(bytes);

	/* QEMU 7.2's words for the other commands (all of them compared
	 * with a live QEMU in test_qemu_fidelity's test_commands_as_qemu). */
	static const struct {
		uint16_t cmd;
		int ret;
		const char *msg;
	} others[] = {
		{ 5, -EPERM, "CMD_POSTCOPY_RUN in wrong postcopy state (0)" },
		{ 11, -EINVAL, "MIG_CMD 0xb unknown (len 0x0)" },
		{ 2, -ERANGE, "PING received with bad length - expecting 4, got 0" },
		{ 8, -ENOTSUP, "COLO is not supported by qmig" },
	};
	/* qmig's cap on a PACKAGED state (QEMU 7.2 allocates what the
	 * peer says, up to 4 GiB). */
	static const uint8_t too_big[] = { QEMU_VM_COMMAND, 0, 7, 0, 4,
					   1, 0, 0, 1 };
	expect_after_header(&g, too_big, sizeof(too_big), -EPERM,
			    "Unreasonably large packaged state: 16777217");
	/* nor one inside another */
	static const uint8_t nested[] = { QEMU_VM_COMMAND, 0, 7, 0, 4, 0, 0, 0, 11,
					  QEMU_VM_COMMAND, 0, 7, 0, 4, 0, 0, 0, 1,
					  QEMU_VM_EOF, QEMU_VM_EOF, QEMU_VM_EOF };
	expect_after_header(&g, nested, sizeof(nested), -EINVAL,
			    "a PACKAGED state inside another is refused by qmig");
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
		bytes = stream_with_commands(others[i].cmd, &len);
		load_into(&g, bytes, len, sv[0], &o);
		assert_int_equal(o.ret, others[i].ret);
		assert_string_equal(o.err->msg, others[i].msg);
		error_free(o.err);
		free(bytes);
	}
	close(sv[0]);
	close(sv[1]);
	guarded_ram_release(&g);
}

/*
 * A stream cut anywhere before its EOF byte fails, with its error, and
 * writes nothing outside the guest's RAM.  Where the cut falls between
 * sections QEMU 7.2 prints no cause, only "load of migration failed:
 * Input/output error" (cuts at 17 and 67 of a qmig stream, checked with
 * QEMU 7.2.22); qmig does the same.  (At other places QEMU 7.2 reads
 * zeros past the end and words what they look like; qmig says EIO.)
 */
static void test_cut_anywhere_fails(void **state)
{
	const struct variant whole = { .name = "whole" };
	struct marks m = { .n = 0 };
	size_t len;
	uint8_t *bytes = build(&whole, &len, &m);
	size_t eof_at = m.at[m.n - 1];
	assert_int_equal(bytes[eof_at], QEMU_VM_EOF);
	struct guarded_ram g;
	guarded_ram_init(&g, RAM_BYTES);
	unsigned next_mark = 0, between_seen = 0;
	for (size_t cut = 0; cut <= eof_at; cut++) {
		struct load_outcome o;
		load_into(&g, bytes, cut, -1, &o);
		if (o.ret >= 0)
			fail_msg("a stream cut at %zu of %zu loaded", cut, len);
		bool between = next_mark < m.n && cut == m.at[next_mark];
		if (between) {
			next_mark++;
			between_seen++;
			if (o.ret != -EIO || o.err->msg[0])
				fail_msg("cut at %zu: %d \"%s\"", cut, o.ret,
					 o.err->msg);
		}
		error_free(o.err);
	}
	assert_int_equal(between_seen, m.n); /* every mark was a cut */
	/* EOF there, the vmdescription not: QEMU 7.2 warns and loads. */
	struct load_outcome o;
	load_into(&g, bytes, eof_at + 1, -1, &o);
	assert_int_equal(o.ret, 0);
	assert_string_equal(o.warning,
			    "Expected vmdescription section, but got 0");
	guarded_ram_release(&g);
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_bytes),
		cmocka_unit_test(test_device_sections_bytes),
		cmocka_unit_test(test_minimal_stream_loads),
		cmocka_unit_test(test_whole_stream_loads),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_configuration_subsections),
		cmocka_unit_test(test_header_with_uuid_bytes),
		cmocka_unit_test(test_return_path_ping),
		cmocka_unit_test(test_cut_anywhere_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
