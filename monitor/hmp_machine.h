/*
 * The HMP commands about the machine rather than the migration: `info
 * version`, `info chardev`, `info history`, `info ramblock`,
 * `system_reset`, and the memory commands `xp`, `sum` and `memsave`.
 * qmig's machine is QEMU 7.2's `-M none` with one RAM block and no CPU;
 * each command does what such a QEMU does, with its texts (checked
 * against QEMU 7.2 in tests/process/test_qemu_fidelity.py).  Handlers of
 * rows in hmp_commands.c; the caller holds vm->lock.
 */
#ifndef QMIG_MONITOR_HMP_MACHINE_H
#define QMIG_MONITOR_HMP_MACHINE_H

#include "monitor/hmp.h"

void hmp_info_version(struct monitor *mon, const struct hmp_values *v);
void hmp_info_chardev(struct monitor *mon, const struct hmp_values *v);
void hmp_info_history(struct monitor *mon, const struct hmp_values *v);
void hmp_info_ramblock(struct monitor *mon, const struct hmp_values *v);
void hmp_system_reset(struct monitor *mon, const struct hmp_values *v);
/* xp: v->fmt, then the address in num[1] */
void hmp_xp(struct monitor *mon, const struct hmp_values *v);
/* sum: start num[0], size num[1] (32 bits each) */
void hmp_sum(struct monitor *mon, const struct hmp_values *v);
void hmp_memsave(struct monitor *mon, const struct hmp_values *v);

#endif
