"""Checks shared by the migration tests: the shape of QEMU 7.2's 'info
migrate' blocks (taken from the captured transcripts, not retyped) and the
plausibility of qmig's numbers."""

import json
import os
import re

from conftest import FIXTURES

HMP = os.path.join(FIXTURES, "hmp")

GLOBALS = ("globals:\nstore-global-state: on\nonly-migratable: off\nsend-configuration: on\n"
           "send-section-footer: on\ndecompress-error-check: on\nclear-bitmap-shift: 18\n")

# ram-block lines that QEMU 7.2 prints only when their value is non-zero
# (monitor-reference.md section 6)
ONLY_IF_NONZERO = {"dirty pages rate", "postcopy request count", "precopy ram",
                   "downtime ram", "postcopy ram"}


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
    name, _, value = line.partition(": ")
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


def check_completed_source(text, ram_bytes, vm_was_running=True):
    """qmig's source 'info migrate' after completion: QEMU 7.2's lines in
    QEMU 7.2's order (reference: mig-plain-completed.txt), and values that
    fit together.  vm_was_running: True/False checks the precopy/downtime
    split, None leaves it out.  Returns the parsed values."""
    assert text.startswith(GLOBALS), text
    ref = qemu_info_migrate("mig-plain-completed", "completed")
    ref_lines = ref[len(GLOBALS):].splitlines()
    got_lines = text[len(GLOBALS):].splitlines()
    pats = [line_pattern(l) for l in ref_lines]
    gi = 0
    for name, rx in pats:
        if gi < len(got_lines) and got_lines[gi].startswith(name + ": "):
            assert rx.match(got_lines[gi]), "line %r does not look like QEMU's %r" % (
                got_lines[gi], rx.pattern)
            gi += 1
        else:
            assert name in ONLY_IF_NONZERO, "missing line %r (at %r) in:\n%s" % (
                name, got_lines[gi] if gi < len(got_lines) else "end", text)
    assert gi == len(got_lines), "unexpected lines %r in:\n%s" % (got_lines[gi:], text)

    v = parse_info(text)
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
    assert normal + dup >= pages, "only %d+%d pages sent of %d" % (normal, dup, pages)
    assert num(v["normal bytes"]) == normal * 4
    transferred = num(v["transferred ram"])
    # every normal page costs 4096 bytes + a header; every zero page >= 9 bytes
    assert transferred * 1024 >= normal * 4096 + dup * 9 - 1024
    assert transferred * 1024 <= normal * 4200 + dup * 300 + (1 << 20)
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
