#include "util/keyval.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void keyval_init(struct keyval *kv, const char *text)
{
	kv->buf = xstrdup(text);
	kv->cursor = kv->buf;
	kv->first = true;
}

bool keyval_next(struct keyval *kv, char **key, char **val)
{
	if (!kv->cursor)
		return false;
	char *item = kv->cursor;
	char *comma = strchr(item, ',');
	kv->cursor = comma ? comma + 1 : NULL;
	if (comma)
		*comma = '\0';
	char *eq = strchr(item, '=');
	bool first = kv->first;
	kv->first = false;
	if (!eq && first) {
		*key = NULL;
		*val = item;
	} else if (!eq) {
		*key = item;
		*val = NULL;
	} else {
		*eq = '\0';
		*key = item;
		*val = eq + 1;
	}
	return true;
}

bool keyval_onoff(const char *key, const char *v, bool *out,
		  struct error **errp)
{
	if (!v || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	error_setf(errp, "Parameter '%s' expects 'on' or 'off'", key);
	return false;
}

void keyval_release(struct keyval *kv)
{
	free(kv->buf);
	kv->buf = kv->cursor = NULL;
}
