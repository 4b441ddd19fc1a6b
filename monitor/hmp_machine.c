#include "monitor/hmp_machine.h"

#include <inttypes.h>
#include <string.h>

#include "monitor/qmp.h"

/* QEMU's words where its -M none has no CPU to ask. */
#define NO_CPU_FOR_DUMP "Can not dump without CPU"
#define NO_CPU "No CPU available"

void hmp_info_version(struct monitor *mon, const struct hmp_values *v)
{
	/* QEMU's format: the version, then the package with no space. */
	monitor_printf(mon, "%d.%d.%d%s\n", QMP_QEMU_MAJOR, QMP_QEMU_MINOR,
		       QMP_QEMU_MICRO, QMP_PACKAGE);
}

void hmp_info_chardev(struct monitor *mon, const struct hmp_values *v)
{
	const struct vm *vm = mon->vm;
	for (int i = 0; i < vm->nchardevs; i++)
		monitor_printf(mon, "%s: filename=%s\n", vm->chardevs[i].label,
			       vm->chardevs[i].filename);
}

void hmp_info_history(struct monitor *mon, const struct hmp_values *v)
{
	for (int i = 0; i < mon->nhistory; i++)
		monitor_printf(mon, "%d: '%s'\n", i, mon->history[i]);
}

void hmp_info_ramblock(struct monitor *mon, const struct hmp_values *v)
{
	const struct guest_ram *ram = &mon->vm->ram;
	_Static_assert(GUEST_PAGE_SIZE == 4096, "the page size shown below");
	monitor_printf(mon, "%24s %8s  %18s %18s %18s\n", "Block Name",
		       "PSize", "Offset", "Used", "Total");
	/* One block at offset 0 that never grows: used == total. */
	monitor_printf(mon,
		       "%24s %8s  0x%016" PRIx64 " 0x%016" PRIx64
		       " 0x%016" PRIx64 "\n",
		       GUEST_RAM_BLOCK_NAME, "4 KiB", (uint64_t)0,
		       ram->size_bytes, ram->size_bytes);
}

void hmp_system_reset(struct monitor *mon, const struct hmp_values *v)
{
	vm_system_reset_locked(mon->vm);
}

/* True when [addr, addr + len) is all RAM (the machine's only memory). */
static bool in_ram(const struct guest_ram *ram, uint64_t addr, uint64_t len)
{
	return addr <= ram->size_bytes && len <= ram->size_bytes - addr;
}

/* QEMU's monitor_printc: one quoted character. */
static void print_char(struct monitor *mon, unsigned c)
{
	switch (c) {
	case '\'': monitor_printf(mon, "'\\''"); break;
	case '\\': monitor_printf(mon, "'\\\\'"); break;
	case '\n': monitor_printf(mon, "'\\n'"); break;
	case '\r': monitor_printf(mon, "'\\r'"); break;
	default:
		if (c >= 32 && c <= 126)
			monitor_printf(mon, "'%c'", c);
		else
			monitor_printf(mon, "'\\x%02x'", c);
	}
}

/* A little-endian unit of wsize bytes (x86's byte order). */
static uint64_t load_le(const uint8_t *p, int wsize)
{
	uint64_t v = 0;
	for (int i = wsize - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void hmp_xp(struct monitor *mon, const struct hmp_values *v)
{
	const struct guest_ram *ram = &mon->vm->ram;
	uint64_t addr = (uint64_t)v->num[1];
	int format = v->fmt.format;
	int wsize = v->fmt.size;
	if (format == 'i') {
		/* disassembly needs a CPU model */
		monitor_usage_error(mon, NULL, NO_CPU_FOR_DUMP);
		return;
	}
	/* The length counts units of the given size, also for 'c', which
	 * then shows that many bytes one by one (QEMU's reading). */
	int64_t len = (int64_t)wsize * v->fmt.count;
	int line_size = wsize == 1 ? 8 : 16;
	int digits = 0;
	switch (format) {
	case 'o': digits = (wsize * 8 + 2) / 3; break;
	case 'u':
	case 'd': digits = (wsize * 8 * 10 + 32) / 33; break;
	case 'c': wsize = 1; break;
	default: digits = wsize * 8 / 4; break;
	}
	while (len > 0) {
		monitor_printf(mon, "%016" PRIx64 ":", addr);
		int l = len > line_size ? line_size : (int)len;
		if (!in_ram(ram, addr, (uint64_t)l)) {
			monitor_printf(mon, " Cannot access memory\n");
			break;
		}
		uint8_t buf[16];
		memcpy(buf, ram->host + addr, (size_t)l);
		for (int i = 0; i < l; i += wsize) {
			uint64_t val = load_le(buf + i, wsize);
			monitor_printf(mon, " ");
			switch (format) {
			case 'o': monitor_printf(mon, "%#*" PRIo64, digits, val); break;
			case 'u': monitor_printf(mon, "%*" PRIu64, digits, val); break;
			case 'd': monitor_printf(mon, "%*" PRId64, digits, (int64_t)val); break;
			case 'c': print_char(mon, (unsigned)val); break;
			default: monitor_printf(mon, "0x%0*" PRIx64, digits, val); break;
			}
		}
		monitor_printf(mon, "\n");
		addr += (uint64_t)l;
		len -= l;
	}
}

void hmp_sum(struct monitor *mon, const struct hmp_values *v)
{
	const struct guest_ram *ram = &mon->vm->ram;
	uint32_t start = (uint32_t)v->num[0];
	uint32_t size = (uint32_t)v->num[1];
	uint16_t sum = 0;
	/* 32-bit addresses that wrap, as QEMU's loop; a byte outside RAM
	 * reads as 0, as unassigned memory does in QEMU. */
	for (uint32_t addr = start; addr < (uint32_t)(start + size); addr++) {
		uint8_t val = addr < ram->size_bytes ? ram->host[addr] : 0;
		/* the BSD sum (the Unix `sum` command) */
		sum = (uint16_t)((sum >> 1) | (sum << 15));
		sum = (uint16_t)(sum + val);
	}
	monitor_printf(mon, "%05d\n", sum);
}

void hmp_memsave(struct monitor *mon, const struct hmp_values *v)
{
	/* memsave takes virtual addresses, which only a CPU translates;
	 * pmemsave saves physical memory. */
	monitor_usage_error(mon, NULL, NO_CPU);
}
