/*
 * The QMP-related command-line options, as QEMU 7.2 (and libvirt) spell
 * them:
 *   -qmp unix:PATH,server=on,wait=off | tcp:HOST:PORT,server=on,wait=off
 *   -chardev socket,id=ID,path=PATH,server=on,wait=off
 *   -chardev socket,id=ID,host=HOST,port=PORT,server=on,wait=off
 *   -chardev socket,id=ID,fd=N,server=on,wait=off   (N already listening)
 *   -mon chardev=ID,mode=control|readline[,id=NAME][,pretty=on|off]
 * mode=control serves QMP on the chardev, mode=readline HMP (not for
 * fd=N).  A chardev no -mon uses is an error, as QEMU reports unused
 * monitors nowhere but qmig has no other use for them.
 */
#ifndef QMIG_MONITOR_QMP_CMDLINE_H
#define QMIG_MONITOR_QMP_CMDLINE_H

#include <stdbool.h>

#include "monitor/qmp.h"
#include "util/error.h"

struct qmp_cmdline {
	const char *const *qmp;      /* -qmp values */
	const int *qmp_no;           /* ... and the N of their compat_monitorN */
	int nqmp;
	const char *const *chardev;  /* -chardev values */
	int nchardev;
	const char *const *mon;      /* -mon values */
	int nmon;
};

/* Parses the options and starts the monitors they name. */
bool qmp_cmdline_start(struct qmp_server *srv, const struct qmp_cmdline *cl,
		       struct error **errp);

#endif
