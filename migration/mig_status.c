#include "migration/mig_status.h"

#include <string.h>

static const char *const status_names[MIG_STATUS__COUNT] = {
	"none", "setup", "cancelling", "cancelled", "active",
	"postcopy-active", "postcopy-paused", "postcopy-recover",
	"completed", "failed", "colo", "pre-switchover", "device",
	"wait-unplug",
};

const char *mig_status_name(enum mig_status status)
{
	return status < MIG_STATUS__COUNT ? status_names[status] : "unknown";
}

int mig_status_lookup(const char *name)
{
	for (int i = 0; i < MIG_STATUS__COUNT; i++)
		if (!strcmp(name, status_names[i]))
			return i;
	return -1;
}

bool mig_status_is_running(enum mig_status status)
{
	switch (status) {
	case MIG_STATUS_SETUP:
	case MIG_STATUS_CANCELLING:
	case MIG_STATUS_ACTIVE:
	case MIG_STATUS_POSTCOPY_ACTIVE:
	case MIG_STATUS_POSTCOPY_PAUSED:
	case MIG_STATUS_POSTCOPY_RECOVER:
	case MIG_STATUS_COLO:
	case MIG_STATUS_PRE_SWITCHOVER:
	case MIG_STATUS_DEVICE:
	case MIG_STATUS_WAIT_UNPLUG:
		return true;
	default:
		return false;
	}
}

bool mig_status_is_active_like(enum mig_status status)
{
	return mig_status_is_running(status) && status != MIG_STATUS_SETUP;
}
