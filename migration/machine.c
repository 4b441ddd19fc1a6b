#include "migration/machine.h"

#include "migration/migration.h"

int machine_init(struct vm *vm, uint64_t ram_bytes, struct error **errp)
{
	if (vm_init(vm, ram_bytes, errp) < 0)
		return -1;
	vm->outgoing = migration_new();
	return 0;
}

void machine_release(struct vm *vm)
{
	/* The migration first: freeing it joins its thread, which reads
	 * the RAM that vm_release unmaps. */
	migration_free(vm->outgoing);
	vm->outgoing = NULL;
	vm_release(vm);
}
