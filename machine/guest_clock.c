#include "machine/guest_clock.h"

#include <string.h>

#include "util/clock.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
/* QEMU's cpu_get_host_ticks() on x86: the TSC. */
static int64_t host_ticks(void)
{
	return (int64_t)__rdtsc();
}
#else
static int64_t host_ticks(void)
{
	return clock_now_ns();
}
#endif

void guest_clock_init(struct guest_clock *c)
{
	memset(c, 0, sizeof(*c));
}

void guest_clock_enable(struct guest_clock *c)
{
	if (c->enabled)
		return;
	c->ticks_offset -= host_ticks();
	c->clock_offset -= clock_now_ns();
	c->enabled = true;
}

void guest_clock_disable(struct guest_clock *c)
{
	if (!c->enabled)
		return;
	c->ticks_offset += host_ticks();
	c->clock_offset += clock_now_ns();
	c->enabled = false;
}

int64_t guest_clock_ns(const struct guest_clock *c)
{
	return c->enabled ? c->clock_offset + clock_now_ns() : c->clock_offset;
}

void guest_clock_load(struct guest_clock *c, int64_t ticks, int64_t clock_ns)
{
	c->ticks_offset = ticks;
	c->clock_offset = clock_ns;
	c->enabled = false;
}
