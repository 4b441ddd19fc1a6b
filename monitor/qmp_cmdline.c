#include "monitor/qmp_cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/chardev.h"
#include "monitor/monitor_socket.h"
#include "monitor/qmp_socket.h"
#include "util/xalloc.h"

#define MAX_CHARDEVS 16

struct chardev_opt {
	char *id;
	struct chardev_spec spec; /* path or host/port */
	int fd;                   /* fd=N, else -1 */
	bool used;
};

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

static bool parse_chardev(const char *text, struct chardev_opt *c,
			  struct error **errp)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	char *copy = xstrdup(text);
	char *save = NULL;
	bool ok = true;
	bool server = false, wait = true;
	char *tok = strtok_r(copy, ",", &save);
	if (!tok || strcmp(tok, "socket")) {
		error_setf(errp, "unsupported chardev '%s': qmig has only 'socket'",
			   text);
		ok = false;
	}
	while (ok && (tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : "on";
		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "id")) {
			free(c->id);
			c->id = xstrdup(val);
		} else if (!strcmp(tok, "path")) {
			c->spec.is_unix = true;
			free(c->spec.path);
			c->spec.path = xstrdup(val);
		} else if (!strcmp(tok, "host")) {
			free(c->spec.host);
			c->spec.host = xstrdup(val);
		} else if (!strcmp(tok, "port")) {
			free(c->spec.port);
			c->spec.port = xstrdup(val);
		} else if (!strcmp(tok, "fd")) {
			char *end;
			long fd = strtol(val, &end, 10);
			if (*end || fd < 0 || fd > 65535) {
				error_setf(errp, "invalid chardev fd '%s'", val);
				ok = false;
			}
			c->fd = (int)fd;
		} else if (!strcmp(tok, "server")) {
			ok = parse_bool(val, &server);
		} else if (!strcmp(tok, "wait")) {
			ok = parse_bool(val, &wait);
		} else if (!strcmp(tok, "nowait")) {
			wait = false;
		} else {
			error_setf(errp, "unsupported chardev option '%s'", tok);
			ok = false;
		}
		if (!ok && eq)
			*eq = '=';
	}
	if (ok && !c->id) {
		error_setf(errp, "chardev: \"id\" is missing in '%s'", text);
		ok = false;
	}
	if (ok && c->fd < 0 && !c->spec.path &&
	    !(c->spec.host && c->spec.port)) {
		error_setf(errp, "chardev '%s' needs path=, host= and port=, or fd=",
			   c->id);
		ok = false;
	}
	if (ok && (!server || wait)) {
		error_setf(errp, "chardev '%s' must be a server without wait: add ',server=on,wait=off'",
			   c->id);
		ok = false;
	}
	c->spec.server = true;
	c->spec.wait = false;
	free(copy);
	return ok;
}

static void release_chardev(struct chardev_opt *c)
{
	free(c->id);
	chardev_spec_release(&c->spec);
}

static bool start_mon(struct qmp_server *srv, const char *text,
		      struct chardev_opt *devs, int ndevs,
		      struct error **errp)
{
	char *copy = xstrdup(text);
	char *save = NULL;
	const char *chardev = NULL;
	bool control = false;
	bool ok = true;
	for (char *tok = strtok_r(copy, ",", &save); ok && tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "chardev")) {
			chardev = val;
		} else if (!strcmp(tok, "mode")) {
			if (!strcmp(val, "control")) {
				control = true;
			} else if (!strcmp(val, "readline")) {
				control = false;
			} else {
				error_setf(errp, "unsupported monitor mode '%s'",
					   val);
				ok = false;
			}
		} else if (!strcmp(tok, "id") || !strcmp(tok, "pretty")) {
			/* accepted; qmp output is never pretty-printed */
		} else {
			error_setf(errp, "unsupported -mon option '%s'", tok);
			ok = false;
		}
	}
	struct chardev_opt *dev = NULL;
	for (int i = 0; ok && chardev && i < ndevs; i++)
		if (!strcmp(devs[i].id, chardev))
			dev = &devs[i];
	if (ok && !dev) {
		error_setf(errp, "chardev \"%s\" not found",
			   chardev ? chardev : "");
		ok = false;
	}
	if (ok && dev->used) {
		error_setf(errp, "chardev \"%s\" is already in use", dev->id);
		ok = false;
	}
	if (ok) {
		dev->used = true;
		if (control && dev->fd >= 0) {
			char *name = xasprintf("fd:%d,server=on", dev->fd);
			ok = qmp_socket_start_fd(srv, dev->fd, dev->id, name,
						 errp);
			free(name);
		} else if (control) {
			ok = qmp_socket_start(srv, &dev->spec, dev->id, errp);
		} else if (dev->fd >= 0) {
			error_setf(errp, "chardev \"%s\": fd= is only supported with mode=control",
				   dev->id);
			ok = false;
		} else {
			ok = monitor_socket_start(srv->vm, &dev->spec,
						  dev->id, errp);
		}
	}
	free(copy);
	return ok;
}

bool qmp_cmdline_start(struct qmp_server *srv, const struct qmp_cmdline *cl,
		       struct error **errp)
{
	bool ok = true;
	for (int i = 0; ok && i < cl->nqmp; i++) {
		struct chardev_spec spec;
		if (!chardev_spec_parse(cl->qmp[i], &spec, errp))
			return false;
		spec.option = "-qmp";
		char label[32];
		snprintf(label, sizeof(label), "compat_monitor%d",
			 cl->qmp_no[i]);
		ok = qmp_socket_start(srv, &spec, label, errp);
		chardev_spec_release(&spec);
	}
	if (!ok)
		return false;
	if (cl->nchardev > MAX_CHARDEVS) {
		error_setf(errp, "too many -chardev options (at most %d)",
			   MAX_CHARDEVS);
		return false;
	}
	struct chardev_opt devs[MAX_CHARDEVS];
	int ndevs = 0;
	for (int i = 0; ok && i < cl->nchardev; i++) {
		ok = parse_chardev(cl->chardev[i], &devs[ndevs], errp);
		ndevs++;
	}
	for (int i = 0; ok && i < cl->nmon; i++)
		ok = start_mon(srv, cl->mon[i], devs, ndevs, errp);
	for (int i = 0; ok && i < ndevs; i++) {
		if (!devs[i].used) {
			error_setf(errp, "chardev \"%s\" is not used by any -mon",
				   devs[i].id);
			ok = false;
		}
	}
	for (int i = 0; i < ndevs; i++)
		release_chardev(&devs[i]);
	return ok;
}
