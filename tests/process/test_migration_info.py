"""`info migrate` prints what `query-migrate` returns.

QEMU 7.2's HMP renders the MigrationInfo that QMP returns; qmig's two
monitors both render one snapshot (migration/migration_info.h).  These
tests render the QMP reply into HMP text the way QEMU 7.2's
hmp_info_migrate does (written out below, independent of qmig's C) and
compare it with qmig's `info migrate`, line for line, in each state a user
meets: a destination listening, a completed migration with XBZRLE and
compression, a failed one, and the completed destination.  Both answers
are read at a moment when nothing changes (the migration has ended or not
started), so they must agree exactly."""
import time

import pytest

from harness import Qmig, free_port, qmig_bin, scaled

GLOBALS = """globals:
store-global-state: on
only-migratable: off
send-configuration: on
send-section-footer: on
decompress-error-check: on
clear-bitmap-shift: 18
"""


def kb(n):
    return n >> 10


def hmp_from_qmp(info):
    """QEMU 7.2's hmp_info_migrate over a query-migrate reply."""
    out = [GLOBALS.rstrip("\n")]
    if "status" in info:
        status = info["status"]
        if status == "failed" and "error-desc" in info:
            out.append("Migration status: %s (%s)" % (status, info["error-desc"]))
        else:
            out.append("Migration status: %s" % status)
        out.append("total time: %d ms" % info.get("total-time", 0))
        if "expected-downtime" in info:
            out.append("expected downtime: %d ms" % info["expected-downtime"])
        if "downtime" in info:
            out.append("downtime: %d ms" % info["downtime"])
        if "setup-time" in info:
            out.append("setup: %d ms" % info["setup-time"])
    if "ram" in info:
        r = info["ram"]
        out += ["transferred ram: %d kbytes" % kb(r["transferred"]),
                "throughput: %0.2f mbps" % r["mbps"],
                "remaining ram: %d kbytes" % kb(r["remaining"]),
                "total ram: %d kbytes" % kb(r["total"]),
                "duplicate: %d pages" % r["duplicate"],
                "skipped: %d pages" % r["skipped"],
                "normal: %d pages" % r["normal"],
                "normal bytes: %d kbytes" % kb(r["normal-bytes"]),
                "dirty sync count: %d" % r["dirty-sync-count"],
                "page size: %d kbytes" % kb(r["page-size"]),
                "multifd bytes: %d kbytes" % kb(r["multifd-bytes"]),
                "pages-per-second: %d" % r["pages-per-second"]]
        if r["dirty-pages-rate"]:
            out.append("dirty pages rate: %d pages" % r["dirty-pages-rate"])
        for key, label in (("precopy-bytes", "precopy ram"),
                           ("downtime-bytes", "downtime ram"),
                           ("postcopy-bytes", "postcopy ram")):
            if r[key]:
                out.append("%s: %d kbytes" % (label, kb(r[key])))
    if "xbzrle-cache" in info:
        x = info["xbzrle-cache"]
        out += ["cache size: %d bytes" % x["cache-size"],
                "xbzrle transferred: %d kbytes" % kb(x["bytes"]),
                "xbzrle pages: %d pages" % x["pages"],
                "xbzrle cache miss: %d pages" % x["cache-miss"],
                "xbzrle cache miss rate: %0.2f" % x["cache-miss-rate"],
                "xbzrle encoding rate: %0.2f" % x["encoding-rate"],
                "xbzrle overflow: %d" % x["overflow"]]
    if "compression" in info:
        c = info["compression"]
        out += ["compression pages: %d pages" % c["pages"],
                "compression busy: %d" % c["busy"],
                "compression busy rate: %0.2f" % c["busy-rate"],
                "compressed size: %d kbytes" % kb(c["compressed-size"]),
                "compression rate: %0.2f" % c["compression-rate"]]
    if "socket-address" in info:
        out.append("socket address: [")
        for a in info["socket-address"]:
            if a["type"] == "unix":
                out.append("\tunix:%s" % a["path"])
            else:
                out.append("\ttcp:%s:%s" % (a["host"], a["port"]))
        out.append("]")
    return "\n".join(out) + "\n"


def both(q):
    """(query-migrate, info migrate) of one process, back to back."""
    c = q.qmp()
    try:
        info = c.ok("query-migrate")
        text = c.ok("human-monitor-command", {"command-line": "info migrate"})
    finally:
        c.close()
    return info, text.replace("\r\n", "\n")


def assert_same(q):
    info, text = both(q)
    assert text == hmp_from_qmp(info)
    return info


@pytest.fixture
def procs(tmp_path):
    made = []

    def start(name, extra=(), ram="32M"):
        q = Qmig(qmig_bin(), tmp_path, ["-m", ram] + list(extra), name=name, qmp=True)
        made.append(q)
        return q
    yield start
    for q in made:
        q.kill()


def poll_status(q, want, timeout=120):
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    c = q.qmp()
    try:
        while True:
            st = c.ok("query-migrate").get("status")
            if st in want:
                return st
            assert time.monotonic() < deadline, \
                "migration still %s after %ds" % (st, timeout)
            time.sleep(0.05)
    finally:
        c.close()


def test_completed_with_xbzrle_and_compress(procs):
    port = free_port()
    dst = procs("dst", ["-incoming", "tcp:127.0.0.1:%d" % port])
    src = procs("src", ["-workload", "idle", "-workload", "random,rate=4M,area=8M"])
    # Listening destination: status absent, socket address present.
    info = assert_same(dst)
    assert info["socket-address"][0]["port"] == str(port)
    # Before any migration: only the globals.
    assert assert_same(src) == {}
    for q in (src, dst):
        h = q.qmp()
        h.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "xbzrle", "state": True},
            {"capability": "compress", "state": True}]})
        h.close()
    c = src.qmp()
    c.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
    c.close()
    assert poll_status(src, ("completed", "failed")) == "completed"
    info = assert_same(src)
    assert info["ram"]["transferred"] > 0
    assert "xbzrle-cache" in info and "compression" in info
    assert poll_status(dst, ("completed", "failed")) == "completed"
    assert assert_same(dst)["status"] == "completed"


def test_failed(procs):
    src = procs("src")
    c = src.qmp()
    # Nothing listens on a port that was just free: the connect fails.
    c.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % free_port()})
    c.close()
    assert poll_status(src, ("completed", "failed")) == "failed"
    info = assert_same(src)
    assert "error-desc" in info
    assert "ram" not in info
