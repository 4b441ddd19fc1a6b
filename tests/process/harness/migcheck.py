"""Checks shared by the migration tests: the shape of QEMU 7.2's 'info
migrate' blocks (taken from the captured transcripts, not retyped) and the
plausibility of qmig's numbers."""

import json
import os
import re

from .paths import HMP_FIXTURES as HMP

GLOBALS = ("globals:\nstore-global-state: on\nonly-migratable: off\nsend-configuration: on\n"
           "send-section-footer: on\ndecompress-error-check: on\nclear-bitmap-shift: 18\n")

# ram-block lines that QEMU 7.2 prints only when their value is non-zero
# (monitor-reference.md section 6)
OPTIONAL_ORDER = ["dirty pages rate", "postcopy request count", "precopy ram",
                  "downtime ram", "postcopy ram"]
ONLY_IF_NONZERO = set(OPTIONAL_ORDER)


def transcript(name):
    with open(os.path.join(HMP, name + ".json")) as f:
        return json.load(f)["entries"]


def qemu_info_migrate(name, status, vm="source"):
    """The first 'info migrate' output in transcript NAME whose status line
    starts with STATUS, on side VM."""
    for e in transcript(name):
        if e.get("cmd") == "info migrate" and e.get("vm", vm) == vm \
                and re.search(r"^Migration status: %s" % re.escape(status), e["out"], re.M):
            return e["out"]
    raise LookupError("%s: no %s info migrate on the %s" % (name, status, vm))


def line_pattern(line):
    """'total time: 11246 ms' -> ('total time', regex for 'N ms')."""
    name, sep, value = line.partition(": ")
    if not sep:
        return name, re.compile("^%s$" % re.escape(line))
    rx = re.escape(value)
    rx = re.sub(r"\d+\\\.\d+", r"\\d+\\.\\d\\d", rx)
    rx = re.sub(r"(?<![\\d.])\d+", r"\\d+", rx)
    return name, re.compile("^%s: %s$" % (re.escape(name), rx))


def parse_info(text):
    """{name: value string} of an 'info migrate' block (after globals)."""
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            out[name] = value
    return out


def num(value):
    return float(value.split()[0])


def check_shape(got, ref, subst=lambda s: s):
    """got has the lines of QEMU's ref in the same order, each value shaped
    like QEMU's (numbers free).  The lines QEMU prints only when non-zero
    may be missing or extra on either side, but where present they come in
    QEMU's order right after 'pages-per-second'."""
    got_lines = got.splitlines()
    ref_lines = [subst(l) for l in ref.splitlines()]
    opt = lambda l: l.partition(": ")[0] in ONLY_IF_NONZERO  # noqa: E731
    g = [l for l in got_lines if not opt(l)]
    r = [l for l in ref_lines if not opt(l)]
    assert [l.partition(": ")[0] for l in g] == [l.partition(": ")[0] for l in r], \
        "lines differ from QEMU's:\n%s\nQEMU:\n%s" % (got, "\n".join(ref_lines))
    for gl, rl in zip(g, r):
        rx = line_pattern(rl)[1]
        assert rx.match(gl), "line %r does not look like QEMU's %r" % (gl, rl)
    names = [l.partition(": ")[0] for l in got_lines]
    for i, l in enumerate(got_lines):
        if opt(l):
            assert names[i - 1] == "pages-per-second" or names[i - 1] in ONLY_IF_NONZERO, \
                "%r out of place in:\n%s" % (l, got)
            assert re.match(r"^[a-z ]+: \d+( kbytes| pages)?$", l), l
    optional = [n for n in names if n in ONLY_IF_NONZERO]
    assert optional == [n for n in OPTIONAL_ORDER if n in optional], got
    return parse_info(got)


def check_completed_source(text, ram_bytes, vm_was_running=True, ref="mig-plain-completed"):
    """qmig's source 'info migrate' after completion: QEMU 7.2's lines in
    QEMU 7.2's order (reference: mig-plain-completed.txt), and values that
    fit together.  vm_was_running: True/False checks the precopy/downtime
    split, None leaves it out.  Returns the parsed values."""
    assert text.startswith(GLOBALS), text
    v = check_shape(text, qemu_info_migrate(ref, "completed"))
    assert v["Migration status"] == "completed"
    # (kbytes lines may show 0: QEMU tests the byte count, then prints >> 10)
    for name in {"dirty pages rate", "postcopy request count"} & set(v):
        assert num(v[name]) > 0, "%s printed with value 0" % name
    pages = ram_bytes // 4096
    assert num(v["total ram"]) == ram_bytes // 1024
    assert num(v["remaining ram"]) == 0
    assert num(v["skipped"]) == 0
    assert v["page size"] == "4 kbytes"
    assert num(v["multifd bytes"]) == 0
    normal, dup = num(v["normal"]), num(v["duplicate"])
    # with compress on, compressed pages stand for normal ones
    compressed = num(v.get("compression pages", "0 pages"))
    assert normal + dup + compressed >= pages, \
        "only %d+%d+%d pages sent of %d" % (normal, dup, compressed, pages)
    assert num(v["normal bytes"]) == normal * 4
    transferred = num(v["transferred ram"])
    # every normal page costs 4096 bytes + a header; every zero page >= 9 bytes
    assert transferred * 1024 >= normal * 4096 + dup * 9 - 1024
    assert transferred * 1024 <= (normal * 4200 + dup * 300 + compressed * 4200
                                  + (1 << 20))
    parts = num(v.get("precopy ram", "0")) + num(v.get("downtime ram", "0"))
    assert transferred - 2 <= parts <= transferred, \
        "precopy + downtime ram %d != transferred %d" % (parts, transferred)
    if vm_was_running:
        assert "precopy ram" in v
    elif vm_was_running is not None:
        # QEMU counts bytes sent while the VM is stopped as downtime only
        assert "downtime ram" in v and "precopy ram" not in v, text
    total, setup, down = num(v["total time"]), num(v["setup"]), num(v["downtime"])
    assert total >= setup and total >= down, (total, setup, down)
    assert num(v["dirty sync count"]) >= 2
    if total - setup >= 20:
        # QEMU at completion: bytes * 8 / (total - setup ms) / 1000
        expect = transferred * 1024 * 8 / (total - setup) / 1000
        assert abs(num(v["throughput"]) - expect) <= 0.05 * expect + 0.01, \
            "throughput %s, expected about %.2f" % (v["throughput"], expect)
    return v


def dest_completed_info():
    """What QEMU 7.2's destination prints after a successful load."""
    return qemu_info_migrate("mig-plain-completed", "completed", vm="destination")


# The largest downtime-limit QEMU 7.2 accepts (ms).  A test sets it once it
# has seen the live passes it wants: the switch-over then waits only for a
# 100 ms window that moved any bytes at all, so neither a slow (sanitizer)
# build nor a busy machine can keep a guest that its workload rewrites
# faster than the wire carries in `active` for ever.
SURE_DOWNTIME_MS = 2000000


def converge(src, bandwidth="1g"):
    """Makes src's running migration switch over at its next check."""
    for c in ("migrate_set_parameter downtime-limit %d" % SURE_DOWNTIME_MS,
              "migrate_set_parameter max-bandwidth %s" % bandwidth):
        assert src.hmp(c) == "", c


def wait_passes(src, n, timeout=60):
    """Until src's migration has made n dirty syncs (or completed)."""
    from .waiting import poll

    def done():
        text = src.info_migrate()
        v = parse_info(text)
        st = v.get("Migration status", "")
        assert st.split(" ")[0] not in ("failed", "cancelled"), text
        return st == "completed" or int(v.get("dirty sync count", "0")) >= n
    return poll(done, timeout, 0.02, "%s: %d dirty syncs" % (src.name, n))


def poll_transferred(side, kbytes, timeout=15):
    """Wait until the source's 'transferred ram' reaches kbytes."""
    from .waiting import poll

    def enough():
        v = parse_info(side.info_migrate())
        return "transferred ram" in v and num(v["transferred ram"]) >= kbytes
    return poll(enough, timeout, 0.05, "%s: %d kbytes transferred" % (side.name, kbytes))
