/*
 * The migration capability and parameter store (contract in options.h).
 *
 * DESIGN: one struct mig_options per process side, shared by the monitor
 * thread(s) and the migration thread.  o->lock guards caps[], num[],
 * str[], generation and changed[]; every public function takes it for its
 * whole duration and never calls out while holding it (the checks it
 * calls are pure), so it nests under no other lock and no other lock
 * nests under it.  Updates are validated on a private merged copy built
 * under the lock and committed before the lock is dropped, so readers
 * never see half an update.
 *
 * What each parameter is lives in options_table.c, QEMU's checks in
 * options_check.c; this file only stores, copies and commits.
 */
#include "migration/options.h"

#include <stdlib.h>
#include <string.h>

#include "migration/options_check.h"
#include "util/xalloc.h"

static bool is_str(int param)
{
	return mig_param_type_of(param)->is_str;
}

void mig_options_init(struct mig_options *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		if (is_str(i))
			o->str[i] = xstrdup(mig_param_table[i].default_str);
		else
			o->num[i] = mig_param_table[i].default_num;
	}
}

void mig_options_release(struct mig_options *o)
{
	if (!o)
		return;
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		free(o->str[i]);
		o->str[i] = NULL;
	}
	pthread_mutex_destroy(&o->lock);
}

bool mig_options_cap(struct mig_options *o, enum mig_cap cap)
{
	bool on;

	pthread_mutex_lock(&o->lock);
	on = o->caps[cap];
	pthread_mutex_unlock(&o->lock);
	return on;
}

uint64_t mig_options_num(struct mig_options *o, enum mig_param param)
{
	uint64_t v;

	pthread_mutex_lock(&o->lock);
	v = o->num[param];
	pthread_mutex_unlock(&o->lock);
	return v;
}

char *mig_options_str_dup(struct mig_options *o, enum mig_param param)
{
	char *s;

	pthread_mutex_lock(&o->lock);
	s = xstrdup(o->str[param] ? o->str[param] : "");
	pthread_mutex_unlock(&o->lock);
	return s;
}

uint64_t mig_options_generation(struct mig_options *o)
{
	uint64_t g;

	pthread_mutex_lock(&o->lock);
	g = o->generation;
	pthread_mutex_unlock(&o->lock);
	return g;
}

void mig_options_snapshot(struct mig_options *o, struct mig_options *copy)
{
	memset(copy, 0, sizeof(*copy));
	pthread_mutex_init(&copy->lock, NULL);
	pthread_mutex_lock(&o->lock);
	memcpy(copy->caps, o->caps, sizeof(copy->caps));
	memcpy(copy->num, o->num, sizeof(copy->num));
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		copy->str[i] = o->str[i] ? xstrdup(o->str[i]) : NULL;
	copy->generation = o->generation;
	memcpy(copy->changed, o->changed, sizeof(copy->changed));
	pthread_mutex_unlock(&o->lock);
}

unsigned mig_options_applies_since(struct mig_options *o, uint64_t since)
{
	unsigned bits = 0;

	pthread_mutex_lock(&o->lock);
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		if (o->changed[i] > since)
			bits |= mig_param_table[i].apply;
	pthread_mutex_unlock(&o->lock);
	return bits;
}

bool mig_options_apply_caps(struct mig_options *o,
			    const struct mig_cap_update *update,
			    struct error **errp)
{
	bool caps[MIG_CAP__COUNT];
	bool ok = false;

	pthread_mutex_lock(&o->lock);
	memcpy(caps, o->caps, sizeof(caps));
	for (int i = 0; i < MIG_CAP__COUNT; i++)
		if (update->set[i])
			caps[i] = update->state[i];
	if (mig_caps_check(caps, o->num, o->str, errp)) {
		memcpy(o->caps, caps, sizeof(caps));
		o->generation++;
		ok = true;
	}
	pthread_mutex_unlock(&o->lock);
	return ok;
}

/* Member i of the update into the store (the merge is already checked). */
static void commit_param_locked(struct mig_options *o, int i,
				uint64_t num, const char *str)
{
	bool same;

	if (is_str(i)) {
		same = !strcmp(o->str[i] ? o->str[i] : "", str);
		if (!same) {
			char *copy = xstrdup(str);

			free(o->str[i]);
			o->str[i] = copy;
		}
	} else {
		same = o->num[i] == num;
		o->num[i] = num;
	}
	if (!same)
		o->changed[i] = o->generation;
}

bool mig_options_apply_params(struct mig_options *o,
			      const struct mig_param_update *update,
			      struct error **errp)
{
	uint64_t num[MIG_PARAM__COUNT];
	char *str[MIG_PARAM__COUNT];
	bool ok = false;

	pthread_mutex_lock(&o->lock);
	/* The merge borrows strings; nothing is owned until the commit. */
	for (int i = 0; i < MIG_PARAM__COUNT; i++) {
		num[i] = update->has[i] ? update->num[i] : o->num[i];
		str[i] = o->str[i];
		if (update->has[i] && is_str(i))
			str[i] = update->str[i] ? update->str[i] : "";
	}
	if (mig_params_check(num, str, o->caps, errp)) {
		o->generation++;
		for (int i = 0; i < MIG_PARAM__COUNT; i++)
			if (update->has[i])
				commit_param_locked(o, i, num[i], str[i]);
		ok = true;
	}
	pthread_mutex_unlock(&o->lock);
	return ok;
}

void mig_param_update_init(struct mig_param_update *update)
{
	memset(update, 0, sizeof(*update));
}

void mig_param_update_release(struct mig_param_update *update)
{
	if (!update)
		return;
	for (int i = 0; i < MIG_PARAM__COUNT; i++)
		free(update->str[i]);
	mig_param_update_init(update);
}

void mig_param_update_set_str(struct mig_param_update *update,
			      enum mig_param param, const char *value)
{
	free(update->str[param]);
	update->str[param] = value ? xstrdup(value) : NULL;
	update->has[param] = true;
}
