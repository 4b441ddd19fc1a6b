/*
 * The migration stream's framing for QEMU's `-M none` machine: file header,
 * configuration section, START/PART/END/FULL sections with footers, the
 * `timer` and `globalstate` devices, EOF and the VMDESCRIPTION JSON
 * (shared/docs/qemu-7.2-stream.md §2-7, §12).  The `ram` section's data is
 * ram_save's / ram_load's job.
 */
#ifndef QMIG_MIGRATION_SAVEVM_H
#define QMIG_MIGRATION_SAVEVM_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/qemu_file.h"
#include "migration/ram_load.h"
#include "util/error.h"

#define QEMU_VM_FILE_MAGIC 0x5145564dU /* "QEVM" */
#define QEMU_VM_FILE_VERSION 3

enum savevm_section_type {
	QEMU_VM_EOF = 0x00,
	QEMU_VM_SECTION_START = 0x01,
	QEMU_VM_SECTION_PART = 0x02,
	QEMU_VM_SECTION_END = 0x03,
	QEMU_VM_SECTION_FULL = 0x04,
	QEMU_VM_SUBSECTION = 0x05,
	QEMU_VM_VMDESCRIPTION = 0x06,
	QEMU_VM_CONFIGURATION = 0x07,
	QEMU_VM_COMMAND = 0x08,
	QEMU_VM_SECTION_FOOTER = 0x7e,
};

/* Section ids QEMU 7.2 assigns for -M none (1 and 3 send nothing). */
#define SAVEVM_ID_TIMER 0
#define SAVEVM_ID_RAM 2
#define SAVEVM_ID_GLOBALSTATE 4

#define SAVEVM_MACHINE_NAME "none"
#define GLOBALSTATE_RUNSTATE_LEN 100

#define SAVEVM_UUID_BYTES 16
/* The configuration's subsections QEMU 7.2 knows. */
#define CONFIG_SUB_PAGE_BITS "configuration/target-page-bits"
#define CONFIG_SUB_CAPABILITIES "configuration/capabilities"
#define CONFIG_SUB_UUID "configuration/uuid"
/* More validated capabilities than QEMU 7.2 has in all is no stream of
 * its (it has one to validate). */
#define CONFIG_CAPS_MAX 64

/* Header and configuration section; uuid, unless NULL, goes in its
 * configuration/uuid subsection (validate-uuid with -uuid, as QEMU). */
void savevm_put_header(struct qemu_file *f, const uint8_t *uuid);
/* The return-path capability's two COMMAND sections after the
 * configuration: OPEN_RETURN_PATH, then PING ping_value. */
void savevm_put_open_return_path(struct qemu_file *f, uint32_t ping_value);
/* START or FULL section header: id, name, instance 0, version. */
void savevm_put_section_start(struct qemu_file *f, uint8_t type, uint32_t id,
			      const char *name, uint32_t version);
/* PART or END section header. */
void savevm_put_section_part(struct qemu_file *f, uint8_t type, uint32_t id);
void savevm_put_footer(struct qemu_file *f, uint32_t id);

/*
 * After the RAM END section: timer and globalstate (FULL), EOF and the
 * VMDESCRIPTION.  runstate is what the source ran as before the switch-over
 * ("running", "paused", "prelaunch"); the destination resumes only for
 * "running".  ticks and clock_ns are the stopped guest clock's values
 * (machine/guest_clock.h).
 */
void savevm_put_devices(struct qemu_file *f, const char *runstate,
			int64_t ticks, int64_t clock_ns);

/* Outcome of a successful load. */
struct savevm_load_result {
	bool has_globalstate;
	char runstate[GLOBALSTATE_RUNSTATE_LEN + 1]; /* from globalstate */
	bool has_vmdesc;        /* the vmdescription came whole */
	bool return_path_open;  /* the source opened the return path */
	bool has_timer;         /* the timer section came */
	int64_t cpu_ticks_offset, cpu_clock_offset; /* its values (v1: no
						      * clock, 0) */
};

/* What the destination brings to a load. */
struct savevm_load_opts {
	/* Non-fatal messages ("Expected vmdescription section..."), or
	 * NULL. */
	void (*warn)(void *opaque, const char *msg);
	void *warn_opaque;
	/* The socket the return path answers on (-1 when the transport has
	 * no way back, as exec:): PINGs get their PONG there. */
	int rp_fd;
	/* -uuid, checked against a configuration/uuid subsection; NULL
	 * without -uuid. */
	const uint8_t *local_uuid;
};

/*
 * Loads a whole stream into rl's RAM.  On failure returns a negative errno
 * and *errp holds QEMU's lines (cause, then context such as "error while
 * loading state section id 2(ram)"), without the final "load of migration
 * failed" line, which the caller adds from the code.  opts NULL: no
 * warnings, no return path, no -uuid.  `result` tells whether the source
 * opened the return path, also after a failure.
 */
int savevm_load(struct qemu_file *f, struct ram_load *rl,
		struct savevm_load_result *result,
		const struct savevm_load_opts *opts, struct error **errp);

/* Whether `name` is one of QEMU's RunState names. */
bool runstate_name_valid(const char *name);

#endif
