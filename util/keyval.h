/*
 * QEMU's option strings ("-machine qmig,usb=off,accel=tcg"): items split
 * at commas, each "key=value" or a bare "key"; the first item may be the
 * option's implied value ("qmig": key NULL).  QEMU's ",," escape is not
 * supported (no libvirt argument qmig takes uses it).
 */
#ifndef QMIG_UTIL_KEYVAL_H
#define QMIG_UTIL_KEYVAL_H

#include <stdbool.h>

#include "util/error.h"

struct keyval {
	char *buf;     /* a copy of the text, cut in place */
	char *cursor;  /* the next item, or NULL */
	bool first;
};

void keyval_init(struct keyval *kv, const char *text);
/* The next item: *key NULL for an implied first value, *val NULL for a
 * bare key.  Both point into kv's copy.  false at the end. */
bool keyval_next(struct keyval *kv, char **key, char **val);
void keyval_release(struct keyval *kv);

/* on/yes/true (or no value) and off/no/false, QEMU's bool; else
 * "Parameter 'KEY' expects 'on' or 'off'". */
bool keyval_onoff(const char *key, const char *v, bool *out,
		  struct error **errp);

#endif
