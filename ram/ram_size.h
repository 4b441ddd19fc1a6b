/*
 * The -m option as QEMU 7.2 reads it for -M none:
 * `-m [size=]SIZE[,slots=N][,maxmem=SIZE]`, options in any order, the
 * last of a repeated one winning.  SIZE is a qemu_strtosz() size in
 * bytes, but one that ends in a digit is MiB ("16" and "0.5M" are
 * accepted, "0.5" is not); the result is rounded up to 8 KiB, as QEMU
 * does ("4k" is 8192).  maxmem (bytes by default) and slots are checked
 * as QEMU checks them and otherwise unused: the machine has no memory
 * hotplug.  A size of 0 (QEMU: -M none without RAM) is refused.
 */
#ifndef QMIG_RAM_RAM_SIZE_H
#define QMIG_RAM_RAM_SIZE_H

#include <stdint.h>

#include "util/error.h"

/*
 * Parses arg (the text after -m) into *bytes.  On failure the message is
 * QEMU's: "-m ARG: " first where QEMU names the option, then the text,
 * with QEMU's hint lines after a '\n'.
 */
int ram_size_parse(const char *arg, uint64_t *bytes, struct error **errp);

#endif
