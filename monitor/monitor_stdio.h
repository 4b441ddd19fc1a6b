/*
 * HMP on standard input.  One input function (after SQLite's shell): on a
 * terminal, GNU readline with the "(qmig) " prompt, history kept in
 * ~/.qmig_history and completion from the command table; otherwise plain
 * line reading for scripts: no prompt, no echo, blank and '#' lines
 * skipped, errors on stderr as "qmig: line N: TEXT"; a line with a NUL
 * byte or over 64 KiB runs nothing (monitor/line_reader.h).
 */
#ifndef QMIG_MONITOR_MONITOR_STDIO_H
#define QMIG_MONITOR_MONITOR_STDIO_H

#include "machine/vm.h"

/* Runs until `quit` or end of input; returns the process exit status
 * (1 if a piped command failed, else 0).  label: its device's name in
 * `info chardev` (QEMU's compat_monitorN). */
int monitor_stdio_run(struct vm *vm, const char *label);

#endif
