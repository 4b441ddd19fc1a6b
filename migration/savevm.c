#include "migration/savevm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine_opts.h"
#include "migration/options_table.h"
#include "migration/ram_wire.h"
#include "migration/return_path.h"
#include "ram/guest_ram.h"
#include "util/xalloc.h"

/* What 7.2 sends after EOF for -M none: it describes the FULL sections
 * (byte-exact, 486 bytes; stream doc §7). */
_Static_assert(RAM_PAGE_SIZE == 4096, "the vmdesc below says page_size 4096");
static const char vmdescription_json[] =
	"{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", "
	"\"instance_id\": 0, \"vmsd_name\": \"timer\", \"version\": 2, "
	"\"fields\": [{\"name\": \"cpu_ticks_offset\", \"type\": \"int64\", "
	"\"size\": 8}, {\"name\": \"unused\", \"type\": \"unused_buffer\", "
	"\"size\": 8}, {\"name\": \"cpu_clock_offset\", \"type\": \"int64\", "
	"\"size\": 8}]}, {\"name\": \"globalstate\", \"instance_id\": 0, "
	"\"vmsd_name\": \"globalstate\", \"version\": 1, \"fields\": "
	"[{\"name\": \"size\", \"type\": \"uint32\", \"size\": 4}, "
	"{\"name\": \"runstate\", \"type\": \"buffer\", \"size\": 100}]}]}";

void savevm_put_header(struct qemu_file *f, const uint8_t *uuid)
{
	qemu_put_be32(f, QEMU_VM_FILE_MAGIC);
	qemu_put_be32(f, QEMU_VM_FILE_VERSION);
	qemu_put_u8(f, QEMU_VM_CONFIGURATION);
	qemu_put_be32(f, (uint32_t)strlen(SAVEVM_MACHINE_NAME));
	qemu_put_buffer(f, (const uint8_t *)SAVEVM_MACHINE_NAME,
			strlen(SAVEVM_MACHINE_NAME));
	if (uuid) {
		qemu_put_u8(f, QEMU_VM_SUBSECTION);
		qemu_put_string8(f, CONFIG_SUB_UUID);
		qemu_put_be32(f, 1); /* version */
		qemu_put_buffer(f, uuid, SAVEVM_UUID_BYTES);
	}
}

void savevm_put_open_return_path(struct qemu_file *f, uint32_t ping_value)
{
	qemu_put_u8(f, QEMU_VM_COMMAND);
	qemu_put_be16(f, RP_CMD_OPEN_RETURN_PATH);
	qemu_put_be16(f, 0);
	qemu_put_u8(f, QEMU_VM_COMMAND);
	qemu_put_be16(f, RP_CMD_PING);
	qemu_put_be16(f, 4);
	qemu_put_be32(f, ping_value);
}

void savevm_put_section_start(struct qemu_file *f, uint8_t type, uint32_t id,
			      const char *name, uint32_t version)
{
	qemu_put_u8(f, type);
	qemu_put_be32(f, id);
	qemu_put_string8(f, name);
	qemu_put_be32(f, 0); /* instance id */
	qemu_put_be32(f, version);
}

void savevm_put_section_part(struct qemu_file *f, uint8_t type, uint32_t id)
{
	qemu_put_u8(f, type);
	qemu_put_be32(f, id);
}

void savevm_put_footer(struct qemu_file *f, uint32_t id)
{
	qemu_put_u8(f, QEMU_VM_SECTION_FOOTER);
	qemu_put_be32(f, id);
}

void savevm_put_devices(struct qemu_file *f, const char *runstate,
			int64_t ticks, int64_t clock_ns)
{
	savevm_put_section_start(f, QEMU_VM_SECTION_FULL, SAVEVM_ID_TIMER,
				 "timer", 2);
	qemu_put_be64(f, (uint64_t)ticks);  /* cpu_ticks_offset */
	qemu_put_be64(f, 0); /* unused field of version 1 */
	qemu_put_be64(f, (uint64_t)clock_ns); /* cpu_clock_offset */
	savevm_put_footer(f, SAVEVM_ID_TIMER);

	uint8_t state[GLOBALSTATE_RUNSTATE_LEN] = { 0 };
	size_t len = strlen(runstate);
	if (len >= sizeof(state))
		len = sizeof(state) - 1;
	memcpy(state, runstate, len);
	savevm_put_section_start(f, QEMU_VM_SECTION_FULL,
				 SAVEVM_ID_GLOBALSTATE, "globalstate", 1);
	qemu_put_be32(f, (uint32_t)len + 1);
	qemu_put_buffer(f, state, sizeof(state));
	savevm_put_footer(f, SAVEVM_ID_GLOBALSTATE);

	qemu_put_u8(f, QEMU_VM_EOF);
	qemu_put_u8(f, QEMU_VM_VMDESCRIPTION);
	qemu_put_be32(f, (uint32_t)strlen(vmdescription_json));
	qemu_put_buffer(f, (const uint8_t *)vmdescription_json,
			strlen(vmdescription_json));
}

bool runstate_name_valid(const char *name)
{
	static const char *const names[] = {
		"debug", "inmigrate", "internal-error", "io-error", "paused",
		"postmigrate", "prelaunch", "finish-migrate", "restore-vm",
		"running", "save-vm", "shutdown", "suspended", "watchdog",
		"guest-panicked", "colo",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* ---- loading ---- */

enum handler { H_RAM, H_TIMER, H_GLOBALSTATE };

struct handler_info {
	const char *name;
	uint32_t min_version, version;
};

static const struct handler_info handlers[] = {
	[H_RAM] = { "ram", RAM_SECTION_VERSION, RAM_SECTION_VERSION },
	[H_TIMER] = { "timer", 1, 2 },
	[H_GLOBALSTATE] = { "globalstate", 1, 1 },
};

#define MAX_SECTIONS 16 /* distinct section ids a stream may open */

struct load_ctx {
	struct qemu_file *f;
	struct ram_load *rl;
	struct savevm_load_result *result;
	struct {
		uint32_t id;
		enum handler h;
		uint32_t version;
	} sections[MAX_SECTIONS];
	unsigned nsections;
	int rp_fd;
	const struct savevm_load_opts *opts;
	bool postcopy_advised; /* a POSTCOPY_ADVISE came (postcopy's state 1) */
	bool in_package;       /* loading a PACKAGED state */
};

static int cut_short(struct qemu_file *f, struct error **errp)
{
	int err = qemu_file_error(f) ? qemu_file_error(f) : EIO;
	error_setf_code(errp, err, "%s", "");
	return -err;
}

/*
 * After each field of a device section (vmstate) QEMU looks at the file
 * and names the field that was cut: "Failed to load timer:unused".
 */
static int field_cut(struct load_ctx *c, const char *vmsd, const char *field,
		     struct error **errp)
{
	int err = qemu_file_error(c->f);
	if (!err)
		return 0;
	error_setf_code(errp, err, "Failed to load %s:%s", vmsd, field);
	return -err;
}

static int load_timer(struct load_ctx *c, uint32_t version,
		      struct error **errp)
{
	/* Values are taken as they come, as QEMU takes them; v1 has no
	 * cpu_clock_offset. */
	int ret;
	int64_t ticks = (int64_t)qemu_get_be64(c->f);
	if ((ret = field_cut(c, "timer", "cpu_ticks_offset", errp)))
		return ret;
	qemu_skip(c->f, 8);
	if ((ret = field_cut(c, "timer", "unused", errp)))
		return ret;
	int64_t clock_ns = 0;
	if (version >= 2) {
		clock_ns = (int64_t)qemu_get_be64(c->f);
		if ((ret = field_cut(c, "timer", "cpu_clock_offset", errp)))
			return ret;
	}
	c->result->has_timer = true;
	c->result->cpu_ticks_offset = ticks;
	c->result->cpu_clock_offset = clock_ns;
	return 0;
}

static int load_globalstate(struct load_ctx *c, struct error **errp)
{
	uint8_t buf[GLOBALSTATE_RUNSTATE_LEN];
	int ret;
	qemu_get_be32(c->f); /* size: not checked, as in QEMU */
	if ((ret = field_cut(c, "globalstate", "size", errp)))
		return ret;
	qemu_get_buffer(c->f, buf, sizeof(buf));
	if ((ret = field_cut(c, "globalstate", "runstate", errp)))
		return ret;
	char *name = c->result->runstate;
	memcpy(name, buf, sizeof(buf));
	name[GLOBALSTATE_RUNSTATE_LEN] = '\0';
	if (!runstate_name_valid(name)) {
		error_setf_code(errp, EINVAL, "invalid parameter value: %s",
				name);
		return -EINVAL;
	}
	c->result->has_globalstate = true;
	return 0;
}

/*
 * QEMU 7.2's check_section_footer(): a cut before the footer's byte is
 * named; the id is read without a look at the file, so one cut short is
 * a mismatch with what came ("read 0x0"), and a match lets the next read
 * find the cut.  Every failure here is EINVAL.
 */
static int check_footer(struct load_ctx *c, uint32_t id, const char *name,
			struct error **errp)
{
	uint8_t type = qemu_get_u8(c->f);
	if (qemu_file_error(c->f)) {
		error_setf_code(errp, EINVAL,
				"check_section_footer: Read section footer failed: %d",
				-qemu_file_error(c->f));
		return -EINVAL;
	}
	if (type != QEMU_VM_SECTION_FOOTER) {
		error_setf_code(errp, EINVAL, "Missing section footer for %s",
				name);
		return -EINVAL;
	}
	uint32_t read_id = qemu_get_be32(c->f);
	if (read_id != id) {
		error_setf_code(errp, EINVAL,
				"Mismatched section id in footer for %s - read 0x%x expected 0x%x",
				name, read_id, id);
		return -EINVAL;
	}
	return 0;
}

static int load_body(struct load_ctx *c, enum handler h, uint32_t version,
		     struct error **errp)
{
	switch (h) {
	case H_RAM:
		return ram_load_section(c->rl, c->f, errp);
	case H_TIMER:
		return load_timer(c, version, errp);
	case H_GLOBALSTATE:
		return load_globalstate(c, errp);
	}
	return -EINVAL;
}

static int load_section_start(struct load_ctx *c, uint8_t type,
			      struct error **errp)
{
	/* QEMU's checks and words for each piece that can be cut. */
	uint32_t id = qemu_get_be32(c->f);
	char name[WIRE_STRING8_BUF];
	if (!qemu_get_string8(c->f, name) || !name[0]) {
		error_setf_code(errp, EINVAL,
				"Unable to read ID string for section %u", id);
		return -EINVAL;
	}
	uint32_t instance = qemu_get_be32(c->f);
	uint32_t version = qemu_get_be32(c->f);
	if (qemu_file_error(c->f)) {
		int err = qemu_file_error(c->f);
		error_setf_code(errp, err,
				"qemu_loadvm_section_start_full: Failed to read instance/version ID: %d",
				-err);
		return -err;
	}

	int h = -1;
	for (size_t i = 0; i < sizeof(handlers) / sizeof(*handlers); i++)
		if (!strcmp(name, handlers[i].name) && instance == 0)
			h = (int)i;
	if (h < 0) {
		error_setf_code(errp, EINVAL,
				"Unknown savevm section or instance '%s' %u. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
				name, instance);
		return -EINVAL;
	}
	const struct handler_info *hi = &handlers[h];
	if (version > hi->version) {
		error_setf_code(errp, EINVAL,
				"savevm: unsupported version %u for '%s' v%u",
				version, name, hi->version);
		return -EINVAL;
	}
	int ret = 0;
	if (version < hi->min_version) {
		error_setf_code(errp, EINVAL, "%s", "");
		ret = -EINVAL;
	}
	if (!ret && type == QEMU_VM_SECTION_START) {
		if (c->nsections == MAX_SECTIONS) {
			error_setf_code(errp, EINVAL,
					"too many sections in the stream");
			return -EINVAL;
		}
		c->sections[c->nsections].id = id;
		c->sections[c->nsections].h = (enum handler)h;
		c->sections[c->nsections].version = version;
		c->nsections++;
	}
	if (!ret)
		ret = load_body(c, (enum handler)h, version, errp);
	if (ret) {
		error_append_line(*errp,
				  "error while loading state for instance 0x%x of device '%s'",
				  instance, name);
		return ret;
	}
	return check_footer(c, id, name, errp);
}

static int load_section_part(struct load_ctx *c, struct error **errp)
{
	uint32_t id = qemu_get_be32(c->f);
	if (qemu_file_error(c->f)) {
		int err = qemu_file_error(c->f);
		error_setf_code(errp, err,
				"qemu_loadvm_section_part_end: Failed to read section ID: %d",
				-err);
		return -err;
	}
	for (unsigned i = 0; i < c->nsections; i++) {
		if (c->sections[i].id != id)
			continue;
		const char *name = handlers[c->sections[i].h].name;
		int ret = load_body(c, c->sections[i].h, c->sections[i].version,
				    errp);
		if (ret) {
			error_append_line(*errp,
					  "error while loading state section id %u(%s)",
					  id, name);
			return ret;
		}
		return check_footer(c, id, name, errp);
	}
	error_setf_code(errp, EINVAL, "Unknown savevm section %u", id);
	return -EINVAL;
}

static void warn(const struct load_ctx *c, const char *msg)
{
	if (c->opts->warn)
		c->opts->warn(c->opts->warn_opaque, msg);
}

/* configuration/capabilities: the source's validated capabilities, each
 * a string8.  QEMU 7.2 validates only x-ignore-shared, which qmig never
 * turns on: a source that has it on is refused as QEMU refuses it. */
static int load_config_capabilities(struct load_ctx *c, struct error **errp)
{
	uint32_t count = qemu_get_be32(c->f);
	int ret = field_cut(c, CONFIG_SUB_CAPABILITIES, "caps_count", errp);
	if (ret)
		return ret;
	if (count > CONFIG_CAPS_MAX) {
		error_setf_code(errp, EINVAL,
				"Received %u capabilities (at most %u)", count,
				CONFIG_CAPS_MAX);
		return -EINVAL;
	}
	bool ignore_shared = false;
	for (uint32_t i = 0; i < count; i++) {
		char name[WIRE_STRING8_BUF];
		qemu_get_string8(c->f, name);
		if ((ret = field_cut(c, CONFIG_SUB_CAPABILITIES, "capabilities",
				     errp)))
			return ret;
		int cap = mig_cap_lookup(name);
		if (cap < 0) {
			error_setf_code(errp, EINVAL,
					"Received unknown capability %s", name);
			return -EINVAL;
		}
		ignore_shared |= cap == MIG_CAP_X_IGNORE_SHARED;
	}
	if (ignore_shared) {
		error_setf_code(errp, EINVAL,
				"Capability x-ignore-shared is off, but received capability is on");
		return -EINVAL;
	}
	return 0;
}

/* configuration/uuid: with -uuid the source's must be ours; without,
 * QEMU warns and goes on. */
static int load_config_uuid(struct load_ctx *c, struct error **errp)
{
	uint8_t uuid[SAVEVM_UUID_BYTES];
	qemu_get_buffer(c->f, uuid, sizeof(uuid));
	int ret = field_cut(c, CONFIG_SUB_UUID, "uuid.data", errp);
	if (ret)
		return ret;
	char src[37], dst[37], msg[128];
	machine_uuid_format(uuid, src);
	if (!c->opts->local_uuid) {
		snprintf(msg, sizeof(msg),
			 "warning: UUID is received %s, but local uuid isn't set",
			 src);
		warn(c, msg);
		return 0;
	}
	if (memcmp(uuid, c->opts->local_uuid, sizeof(uuid))) {
		machine_uuid_format(c->opts->local_uuid, dst);
		error_setf_code(errp, EINVAL,
				"UUID received is %s and local is %s", src, dst);
		return -EINVAL;
	}
	return 0;
}

/* configuration/target-page-bits: 12 here, as on every x86 QEMU. */
static int load_config_page_bits(struct load_ctx *c, struct error **errp)
{
	uint32_t bits = qemu_get_be32(c->f);
	int ret = field_cut(c, CONFIG_SUB_PAGE_BITS, "target_page_bits", errp);
	if (ret)
		return ret;
	if (bits != RAM_PAGE_BITS) {
		error_setf_code(errp, EINVAL,
				"Received TARGET_PAGE_BITS is %d but local is %d",
				(int)bits, RAM_PAGE_BITS);
		return -EINVAL;
	}
	return 0;
}

/* Every configuration subsection is at version 1 (QEMU's texts, the
 * second with its two spaces). */
static int subsection_version(struct load_ctx *c, const char *name,
			      struct error **errp)
{
	uint8_t version = (uint8_t)qemu_get_be32(c->f);
	int ret = field_cut(c, name, "version_id", errp);
	if (ret)
		return ret;
	if (version > 1)
		error_setf_code(errp, EINVAL,
				"%s: incoming version_id %u is too new for local version_id 1",
				name, version);
	else if (version < 1)
		error_setf_code(errp, EINVAL,
				"%s: incoming version_id %u is too old for local minimum version_id  1",
				name, version);
	return version == 1 ? 0 : -EINVAL;
}

/*
 * The configuration's subsections, as QEMU's vmstate loader takes them: a
 * SUBSECTION byte whose name does not start with "configuration" ends
 * them (the byte is then the next section's type); one that does but is
 * unknown fails the load (-ENOENT, no message).  The version is read as
 * a be32 and kept in a byte, as QEMU does.
 */
static int load_config_subsections(struct load_ctx *c, struct error **errp)
{
	static const struct {
		const char *name;
		int (*load)(struct load_ctx *c, struct error **errp);
	} subs[] = {
		{ CONFIG_SUB_PAGE_BITS, load_config_page_bits },
		{ CONFIG_SUB_CAPABILITIES, load_config_capabilities },
		{ CONFIG_SUB_UUID, load_config_uuid },
	};
	uint8_t head[2 + WIRE_STRING8_MAX];
	while (qemu_peek_buffer(c->f, head, 2) == 2 &&
	       head[0] == QEMU_VM_SUBSECTION) {
		uint8_t len = head[1];
		if (len < strlen("configuration") + 1 ||
		    qemu_peek_buffer(c->f, head, 2u + len) != 2u + len ||
		    strncmp((const char *)head + 2, "configuration",
			    strlen("configuration")))
			return 0;
		size_t i = 0;
		while (i < sizeof(subs) / sizeof(*subs) &&
		       (strlen(subs[i].name) != len ||
			memcmp(head + 2, subs[i].name, len)))
			i++;
		if (i == sizeof(subs) / sizeof(*subs)) {
			error_setf_code(errp, ENOENT, "%s", "");
			return -ENOENT;
		}
		qemu_skip(c->f, 2u + len);
		int ret = subsection_version(c, subs[i].name, errp);
		if (!ret)
			ret = subs[i].load(c, errp);
		if (ret)
			return ret;
	}
	return 0;
}

static int load_configuration(struct load_ctx *c, struct error **errp)
{
	/* A cut before the type byte reads 0: "missing", as QEMU. */
	if (qemu_get_u8(c->f) != QEMU_VM_CONFIGURATION) {
		error_setf_code(errp, EINVAL, "Configuration section missing");
		return -EINVAL;
	}
	uint32_t len = qemu_get_be32(c->f);
	int ret = field_cut(c, "configuration", "len", errp);
	if (ret)
		return ret;
	if (len > WIRE_STRING8_MAX) {
		error_setf_code(errp, EINVAL,
				"Machine type name too long (%u bytes)", len);
		return -EINVAL;
	}
	char name[WIRE_STRING8_BUF];
	qemu_get_buffer(c->f, (uint8_t *)name, len);
	if ((ret = field_cut(c, "configuration", "name", errp)))
		return ret;
	name[len] = '\0';
	/* QEMU's post_load runs after the subsections: theirs fail first. */
	if ((ret = load_config_subsections(c, errp)))
		return ret;
	/* QEMU compares only the received length ("non" matches "none"). */
	if (strncmp(name, SAVEVM_MACHINE_NAME, len) || strlen(name) != len) {
		error_setf_code(errp, EINVAL,
				"Machine type received is '%s' and local is '%s'",
				name, SAVEVM_MACHINE_NAME);
		return -EINVAL;
	}
	return 0;
}

/* QEMU 7.2's COMMAND numbers, names and lengths (-1: the command checks
 * its own). */
enum mig_cmd {
	MIG_CMD_OPEN_RETURN_PATH = RP_CMD_OPEN_RETURN_PATH,
	MIG_CMD_PING = RP_CMD_PING,
	MIG_CMD_POSTCOPY_ADVISE = 3,
	MIG_CMD_POSTCOPY_LISTEN,
	MIG_CMD_POSTCOPY_RUN,
	MIG_CMD_POSTCOPY_RAM_DISCARD,
	MIG_CMD_PACKAGED,
	MIG_CMD_ENABLE_COLO,
	MIG_CMD_POSTCOPY_RESUME,
	MIG_CMD_RECV_BITMAP,
	MIG_CMD_MAX
};

static const struct {
	const char *name;
	int len;
} mig_cmds[MIG_CMD_MAX] = {
	[MIG_CMD_OPEN_RETURN_PATH] = { "OPEN_RETURN_PATH", 0 },
	[MIG_CMD_PING] = { "PING", 4 },
	[MIG_CMD_POSTCOPY_ADVISE] = { "POSTCOPY_ADVISE", -1 },
	[MIG_CMD_POSTCOPY_LISTEN] = { "POSTCOPY_LISTEN", 0 },
	[MIG_CMD_POSTCOPY_RUN] = { "POSTCOPY_RUN", 0 },
	[MIG_CMD_POSTCOPY_RAM_DISCARD] = { "POSTCOPY_RAM_DISCARD", -1 },
	[MIG_CMD_PACKAGED] = { "PACKAGED", 4 },
	[MIG_CMD_ENABLE_COLO] = { "ENABLE_COLO", 0 },
	[MIG_CMD_POSTCOPY_RESUME] = { "POSTCOPY_RESUME", 0 },
	[MIG_CMD_RECV_BITMAP] = { "RECV_BITMAP", -1 },
};

/* QEMU 7.2's largest PACKAGED state. */
#define PACKAGED_MAX_BYTES (1u << 24)

static int load_sections(struct load_ctx *c, struct error **errp);

static int load_return_path_command(struct load_ctx *c, uint16_t cmd,
				    uint16_t len, struct error **errp)
{
	uint8_t payload[4] = { 0 };
	if (!qemu_get_buffer(c->f, payload, len))
		return cut_short(c->f, errp);
	if (cmd == MIG_CMD_OPEN_RETURN_PATH) {
		if (c->rp_fd < 0) {
			error_setf_code(errp, EINVAL,
					"the source opened a return path, but this transport has no way back");
			return -EINVAL;
		}
		c->result->return_path_open = true;
	} else if (c->result->return_path_open) {
		uint32_t v = (uint32_t)payload[0] << 24 |
			     (uint32_t)payload[1] << 16 |
			     (uint32_t)payload[2] << 8 | payload[3];
		rp_send(c->rp_fd, RP_MSG_PONG, v);
	}
	return 0;
}

/*
 * POSTCOPY_ADVISE with postcopy-ram off here (qmig migrates precopy
 * only): QEMU 7.2 takes the empty advise a source sends for its other
 * postcopy users and refuses RAM's 16 bytes.  Either way the destination
 * is then in postcopy's ADVISE state, where a second advise is refused.
 */
static int load_postcopy_advise(struct load_ctx *c, uint16_t len,
				struct error **errp)
{
	if (c->postcopy_advised) {
		error_setf_code(errp, EPERM,
				"CMD_POSTCOPY_ADVISE in wrong postcopy state (1)");
		return -EPERM;
	}
	c->postcopy_advised = true;
	if (len == 0)
		return 0;
	if (len == 16)
		error_setf_code(errp, EINVAL,
				"RAM postcopy is disabled but have 16 byte advise");
	else
		error_setf_code(errp, EINVAL,
				"CMD_POSTCOPY_ADVISE invalid length (%u)", len);
	return -EINVAL;
}

/* LISTEN, RUN and RAM_DISCARD belong to a postcopy: before an advise
 * (state 0) QEMU's words; after the empty one, RAM postcopy would start
 * here, which qmig cannot do. */
static int load_postcopy_step(struct load_ctx *c, uint16_t cmd,
			      struct error **errp)
{
	if (c->postcopy_advised && cmd != MIG_CMD_POSTCOPY_RUN) {
		error_setf_code(errp, ENOTSUP,
				"postcopy is not supported by qmig");
		return -ENOTSUP;
	}
	const char *what = cmd == MIG_CMD_POSTCOPY_LISTEN ? "CMD_POSTCOPY_LISTEN"
			   : cmd == MIG_CMD_POSTCOPY_RUN  ? "CMD_POSTCOPY_RUN"
							  : "CMD_POSTCOPY_RAM_DISCARD";
	error_setf_code(errp, EPERM, "%s in wrong postcopy state (%d)", what,
			c->postcopy_advised ? 1 : 0);
	return -EPERM;
}

/* PACKAGED: a stream of sections and commands inside this one, loaded
 * as the outer one is until its EOF. */
static int load_packaged(struct load_ctx *c, struct error **errp)
{
	uint32_t len = qemu_get_be32(c->f);
	if (qemu_file_error(c->f))
		return cut_short(c->f, errp);
	/* QEMU 7.2 recurses as deep as packages nest, each level a copy of
	 * the rest: one level is all a source sends. */
	if (c->in_package) {
		error_setf_code(errp, EINVAL,
				"a PACKAGED state inside another is refused by qmig");
		return -EINVAL;
	}
	if (len > PACKAGED_MAX_BYTES) {
		error_setf_code(errp, EPERM,
				"Unreasonably large packaged state: %u", len);
		return -EPERM;
	}
	uint8_t *buf = xmalloc(len ? len : 1);
	uint64_t before = c->f->total_bytes;
	if (!qemu_get_buffer(c->f, buf, len)) {
		free(buf);
		error_setf_code(errp, EAGAIN,
				"CMD_PACKAGED: Buffer receive fail ret=%d length=%u",
				(int)(c->f->total_bytes - before), len);
		return -EAGAIN;
	}
	struct qemu_file *outer = c->f;
	c->f = qemu_file_new_mem(buf, len);
	c->in_package = true;
	int ret = load_sections(c, errp);
	c->in_package = false;
	qemu_file_close(c->f);
	c->f = outer;
	free(buf);
	return ret;
}

/* RECV_BITMAP asks for the received bitmap of a postcopy being
 * recovered: outside one QEMU says so and goes on. */
static int load_recv_bitmap(struct load_ctx *c, uint16_t len,
			    struct error **errp)
{
	char name[WIRE_STRING8_BUF];
	qemu_get_string8(c->f, name);
	if (!name[0]) {
		error_setf_code(errp, EINVAL,
				"loadvm_handle_recv_bitmap: failed to read block name");
		return -EINVAL;
	}
	if (qemu_file_error(c->f))
		return cut_short(c->f, errp);
	if (len != strlen(name) + 1) {
		error_setf_code(errp, EINVAL,
				"loadvm_handle_recv_bitmap: invalid payload length (%u)",
				len);
		return -EINVAL;
	}
	if (strcmp(name, GUEST_RAM_BLOCK_NAME)) {
		error_setf_code(errp, EINVAL,
				"loadvm_handle_recv_bitmap: block '%s' not found",
				name);
		return -EINVAL;
	}
	warn(c, "migrate_send_rp_recv_bitmap: MSG_RP_RECV_BITMAP only used for recovery");
	return 0;
}

static int load_command(struct load_ctx *c, struct error **errp)
{
	uint16_t cmd = qemu_get_be16(c->f);
	uint16_t len = qemu_get_be16(c->f);
	if (qemu_file_error(c->f))
		return cut_short(c->f, errp);
	if (cmd == 0 || cmd >= MIG_CMD_MAX) {
		error_setf_code(errp, EINVAL, "MIG_CMD 0x%x unknown (len 0x%x)",
				cmd, len);
		return -EINVAL;
	}
	if (mig_cmds[cmd].len >= 0 && mig_cmds[cmd].len != len) {
		error_setf_code(errp, ERANGE,
				"%s received with bad length - expecting %d, got %u",
				mig_cmds[cmd].name, mig_cmds[cmd].len, len);
		return -ERANGE;
	}
	switch ((enum mig_cmd)cmd) {
	case MIG_CMD_OPEN_RETURN_PATH:
	case MIG_CMD_PING:
		return load_return_path_command(c, cmd, len, errp);
	case MIG_CMD_POSTCOPY_ADVISE:
		return load_postcopy_advise(c, len, errp);
	case MIG_CMD_POSTCOPY_LISTEN:
	case MIG_CMD_POSTCOPY_RUN:
	case MIG_CMD_POSTCOPY_RAM_DISCARD:
		return load_postcopy_step(c, cmd, errp);
	case MIG_CMD_PACKAGED:
		return load_packaged(c, errp);
	case MIG_CMD_POSTCOPY_RESUME:
		warn(c, "loadvm_postcopy_handle_resume: illegal resume received");
		return 0;
	case MIG_CMD_RECV_BITMAP:
		return load_recv_bitmap(c, len, errp);
	case MIG_CMD_ENABLE_COLO:
	case MIG_CMD_MAX:
		break;
	}
	/* QEMU 7.2 turns its incoming side into a COLO secondary here. */
	error_setf_code(errp, ENOTSUP, "COLO is not supported by qmig");
	return -ENOTSUP;
}

int savevm_load(struct qemu_file *f, struct ram_load *rl,
		struct savevm_load_result *result,
		const struct savevm_load_opts *opts, struct error **errp)
{
	static const struct savevm_load_opts defaults = { .rp_fd = -1 };
	if (!opts)
		opts = &defaults;
	struct load_ctx c = { .f = f, .rl = rl, .result = result,
			      .rp_fd = opts->rp_fd, .opts = opts };
	memset(result, 0, sizeof(*result));

	/* No look at the file here, as in QEMU: a stream cut (or empty)
	 * before the end of the header is a wrong header. */
	uint32_t magic = qemu_get_be32(f);
	uint32_t version = qemu_get_be32(f);
	if (magic != QEMU_VM_FILE_MAGIC) {
		error_setf_code(errp, EINVAL, "Not a migration stream");
		return -EINVAL;
	}
	if (version == 2) {
		error_setf_code(errp, ENOTSUP,
				"SaveVM v2 format is obsolete and don't work anymore");
		return -ENOTSUP;
	}
	if (version != QEMU_VM_FILE_VERSION) {
		error_setf_code(errp, ENOTSUP,
				"Unsupported migration stream version");
		return -ENOTSUP;
	}
	int ret = load_configuration(&c, errp);
	if (!ret)
		ret = load_sections(&c, errp);
	if (ret)
		return ret;
	/* The outcome is decided here, as QEMU 7.2 decides it before the
	 * vmdescription: that JSON is read only so that the source is not
	 * cut off while it sends it, and one cut short, even by a byte, is no
	 * error. */
	uint8_t next = qemu_file_at_eof(f) ? 0 : qemu_get_u8(f);
	if (next == QEMU_VM_VMDESCRIPTION) {
		uint32_t len = qemu_get_be32(f);
		result->has_vmdesc = qemu_skip(f, len);
	} else {
		char msg[80];
		snprintf(msg, sizeof(msg),
			 "Expected vmdescription section, but got %d", next);
		warn(&c, msg);
	}
	return 0;
}

/* Sections and commands until an EOF byte (0) or an error (its
 * negative errno). */
static int load_sections(struct load_ctx *c, struct error **errp)
{
	for (;;) {
		uint8_t type = qemu_get_u8(c->f);
		if (qemu_file_error(c->f))
			return cut_short(c->f, errp);
		int ret;
		switch (type) {
		case QEMU_VM_SECTION_START:
		case QEMU_VM_SECTION_FULL:
			ret = load_section_start(c, type, errp);
			break;
		case QEMU_VM_SECTION_PART:
		case QEMU_VM_SECTION_END:
			ret = load_section_part(c, errp);
			break;
		case QEMU_VM_COMMAND:
			ret = load_command(c, errp);
			break;
		case QEMU_VM_EOF:
			return 0;
		default:
			error_setf_code(errp, EINVAL,
					"Unknown savevm section type %d", type);
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
}
