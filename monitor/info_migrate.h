/* `info migrate` as QEMU 7.2 prints it (monitor-reference.md §6). */
#ifndef QMIG_MONITOR_INFO_MIGRATE_H
#define QMIG_MONITOR_INFO_MIGRATE_H

#include "machine/vm.h"
#include "util/strbuf.h"

/* Appends the text ('\n' lines); caller holds vm->lock. */
void info_migrate_format_locked(struct vm *vm, struct strbuf *out);

#endif
