/*
 * The machine's QEMU 7.2 command-line options that libvirt 9.0 puts on a
 * domain's command line (shared/docs/libvirt-emulator.md §2): -machine,
 * -accel, -smp, -uuid, -name, -object, -overcommit, -rtc, -boot,
 * -audiodev, -msg, -no-shutdown, -no-acpi, -no-user-config.  Each is
 * either real behaviour (-uuid, -name, -no-shutdown, -no-acpi, -msg,
 * -overcommit mem-lock, the RAM backend's size) or accepted because it
 * names something a RAM-only machine has nothing of (no RTC device, no
 * boot device, no audio, no vCPU to accelerate).  What qmig cannot be
 * (a second vCPU, a device, KVM alone) is refused with QEMU's words.
 *
 * Pure parsing: nothing here touches a VM, so the unit tests drive it.
 */
#ifndef QMIG_MACHINE_MACHINE_OPTS_H
#define QMIG_MACHINE_MACHINE_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* The machine's name in query-machines (libvirt drops "none" from every
 * list); the stream still says "none", so -machine takes both. */
#define MACHINE_NAME "qmig"

#define MACHINE_MAX_BACKENDS 4

struct machine_opts {
	const char *type;          /* "qmig" or "none" as given */
	char *name;                /* -name guest=, or NULL */
	char *process_name;        /* -name process= */
	bool has_uuid;
	uint8_t uuid[16];
	bool no_shutdown;          /* -no-shutdown: stay in "shutdown" */
	bool no_acpi;              /* -no-acpi: the power button does nothing */
	bool msg_timestamp;        /* -msg timestamp=on */
	bool mem_lock;             /* -overcommit mem-lock=on */
	char *memory_backend;      /* -machine memory-backend=ID */
	struct {
		char *id;
		uint64_t size;
	} backends[MACHINE_MAX_BACKENDS]; /* -object memory-backend-ram */
	int nbackends;
};

void machine_opts_init(struct machine_opts *mo);
void machine_opts_release(struct machine_opts *mo);

/*
 * opt is the option without its leading dashes' second one ("-uuid").
 * Returns 1 if it is one of this file's options (arg consumed when
 * machine_opts_takes_arg(opt)), 0 if not, -1 with *errp if its value is
 * refused; the message is QEMU's, without the "-opt arg: " prefix QEMU
 * puts before some of them (machine_opts_error_prefix() says which).
 */
int machine_opts_parse(struct machine_opts *mo, const char *opt,
		       const char *arg, struct error **errp);
bool machine_opts_takes_arg(const char *opt);
/* Whether QEMU prefixes this option's errors with "-opt arg: ". */
bool machine_opts_error_prefix(const char *opt);

/*
 * After the whole command line: checks that -machine memory-backend=
 * names a memory-backend-ram object and that its size agrees with -m
 * (ram_given) or sets *ram_bytes from it.
 */
bool machine_opts_finish(struct machine_opts *mo, bool ram_given,
			 uint64_t *ram_bytes, struct error **errp);

/* -object ARG (migration/machine_object.c). */
bool machine_object_parse(struct machine_opts *mo, const char *arg,
			  struct error **errp);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case, as QEMU prints. */
void machine_uuid_format(const uint8_t uuid[16], char out[37]);
bool machine_uuid_parse(const char *text, uint8_t uuid[16]);

#endif
