#include "monitor/preconditions.h"

#include "migration/migration.h"

bool preconditions_check_locked(struct vm *vm, unsigned flags,
				struct error **errp)
{
	if ((flags & CMD_NOT_WHILE_MIGRATING) &&
	    !migration_check_not_running_locked(vm, errp))
		return false;
	return true;
}
