#include "migration/machine_setup.h"

#include <stdlib.h>

#include "migration/dirty_rate.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "util/xalloc.h"

int machine_init(struct vm *vm, uint64_t ram_bytes, struct error **errp)
{
	if (vm_init(vm, ram_bytes, errp) < 0)
		return -1;
	vm->options = xcalloc(1, sizeof(*vm->options));
	mig_options_init(vm->options);
	vm->outgoing = migration_new();
	vm->dirty_rate = dirty_rate_new(&vm->ram);
	return 0;
}

void machine_release(struct vm *vm)
{
	/* The migration first: freeing it joins its thread, which reads
	 * the RAM that vm_release unmaps. */
	dirty_rate_free(vm->dirty_rate);
	vm->dirty_rate = NULL;
	migration_free(vm->outgoing);
	vm->outgoing = NULL;
	mig_options_release(vm->options);
	free(vm->options);
	vm->options = NULL;
	vm_release(vm);
}
