"""An XBZRLE cache resize that cannot be had fails the migration with its
own cause (issue 14, 5e).  `xbzrle-cache-size` takes any power of two from
4096 up (QEMU 7.2's check), and the migration thread applies a change
between sections; a size no allocation can give used to be printed on
stderr and then reported as the stream's ENOMEM, so `info migrate` said
`Unable to write to socket: Cannot allocate memory`.  The source keeps
running and migrates again once the size is sane."""
import os

from harness import free_port, ram_equal, diff_pages
from harness import QMPClient

MiB = 1 << 20
EiB = 1 << 60  # `1E`: a page table alone would be 4 PiB
CAUSE = "cannot allocate an XBZRLE cache of %d bytes" % EiB


def start_dst(spawn, name):
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = spawn(["-m", "64M", "-S", "-incoming", "defer"], name=name)
    assert dst.hmp("migrate_incoming " + uri) == ""
    return dst, uri


def test_cache_resize_failure_is_the_migration_error(spawn, tmp_path):
    dst, uri = start_dst(spawn, "dst")
    qmp_path = str(tmp_path / "src.qmp")
    src = spawn(["-m", "64M", "-workload", "idle",
                 "-workload", "random,rate=2M,area=16M",
                 "-qmp", "unix:%s,server=on,wait=off" % qmp_path], name="src")
    for c in ["migrate_set_capability xbzrle on",
              # about 20 s for the bulk pass: active when the size changes
              "migrate_set_parameter max-bandwidth 1M"]:
        assert src.hmp(c) == "", c
    assert src.hmp("migrate -d " + uri) == ""
    src.wait_status("active", 60)
    # accepted (a power of two), as in QEMU 7.2; applied by the migration
    assert src.hmp("migrate_set_parameter xbzrle-cache-size 1E") == ""
    out = src.wait_status("failed", 60)
    assert "Migration status: failed (%s)\n" % CAUSE in out, out
    # one error, the real one
    err = src.stderr()
    assert err.count(CAUSE) == 1, err
    assert "Cannot allocate memory" not in err + out, err + out
    assert "Unable to write" not in err + out, err + out

    q = QMPClient(qmp_path)
    try:
        assert q.cmd("qmp_capabilities") == {"return": {}}
        r = q.ok("query-migrate")
        assert r["status"] == "failed", r
        assert r["error-desc"] == CAUSE, r
    finally:
        q.close()

    # the source runs on, its RAM intact, and migrates with a sane size
    assert src.vm_status() == "running"
    dst.wait_exit(30)
    dst2, uri2 = start_dst(spawn, "dst2")
    for c in ["migrate_set_parameter xbzrle-cache-size 16M",
              "migrate_set_parameter max-bandwidth 1g"]:
        assert src.hmp(c) == "", c
    assert src.hmp("migrate -d " + uri2) == ""
    src.wait_status("completed", 120)
    dst2.wait_status("completed", 60)
    a = src.pmemsave(str(tmp_path / "src.img"), 64 * MiB)
    b = dst2.pmemsave(str(tmp_path / "dst.img"), 64 * MiB)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)
    os.unlink(a)
    os.unlink(b)
