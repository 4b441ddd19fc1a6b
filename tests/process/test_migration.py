"""qmig -> qmig live migrations: every workload over tcp, unix and exec,
destination with and without -S; RAM of the stopped source equals the
destination's; 'info migrate' / 'info status' as QEMU 7.2 prints them."""

import os
import stat

import pytest

from harness import free_port, ram_equal, diff_pages, seed_invariant
from harness import migcheck

MiB = 1 << 20


def workload_args(kind, fixture_image):
    if kind == "idle":
        return ["-workload", "idle"]
    if kind == "seed":
        return ["-workload", "seed"]
    if kind == "random":
        return ["-workload", "idle", "-workload", "random,rate=20M,area=16M"]
    if kind == "image":
        return ["-workload", "image=" + fixture_image("plain")]
    raise ValueError(kind)


def start_destination(spawn, tmp_path, transport, ram, extra=()):
    """A destination listening on transport (tcp/unix); returns (proc, uri)."""
    if transport == "tcp":
        uri = "tcp:127.0.0.1:%d" % free_port()
    else:
        uri = "unix:%s" % (tmp_path / "mig.sock")
    dst = spawn(["-m", ram, "-incoming", uri] + list(extra), name="dst")
    assert dst.vm_status() == "paused (inmigrate)"
    return dst, uri


def check_ram(src, dst, tmp_path, size):
    a = src.pmemsave(str(tmp_path / "src.img"), size)
    b = dst.pmemsave(str(tmp_path / "dst.img"), size)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)
    return a, b


def check_after(src, dst, tmp_path, size, dest_S, kind, fixture_image):
    info = src.info_migrate()
    migcheck.check_completed_source(info, size)
    assert src.vm_status() == "paused (postmigrate)"
    assert dst.info_migrate() == migcheck.dest_completed_info()
    assert dst.vm_status() == ("paused" if dest_S else "running")
    a, b = check_ram(src, dst, tmp_path, size)
    if kind == "seed":
        assert seed_invariant(b) is None, seed_invariant(b)
    elif kind == "image":
        assert ram_equal(b, fixture_image("plain"))
    # after the load the destination is a normal VM: cont works, quit exits 0
    if dest_S:
        assert dst.hmp("cont") == ""
        assert dst.vm_status() == "running"
    assert dst.quit() == 0
    assert src.quit() == 0
    assert src.stderr() == "" and dst.stderr() == ""


CASES = [
    # workload, transport, destination -S
    ("idle", "tcp", False), ("idle", "unix", True), ("idle", "exec", False),
    ("seed", "tcp", True), ("seed", "unix", False), ("seed", "exec", True),
    ("random", "tcp", False), ("random", "unix", True), ("random", "exec", False),
    ("image", "tcp", True), ("image", "unix", False), ("image", "exec", True),
]


@pytest.mark.parametrize("kind,transport,dest_S", CASES,
                         ids=["%s-%s%s" % (k, t, "-S" if s else "") for k, t, s in CASES])
def test_migrate(spawn, tmp_path, fixture_image, kind, transport, dest_S):
    size = 16 * MiB
    extra = ["-S"] if dest_S else []
    src = spawn(["-m", "16M"] + workload_args(kind, fixture_image), name="src")
    assert src.vm_status() == "running"
    if kind in ("seed", "random"):
        # Live while the workload writes: the seed invariant needs writes
        # that happened, and both rewrite the guest faster than a slow
        # (sanitizer, busy) build may send it, so the switch-over goes by
        # the downtime limit (a fast one switches over after its first
        # 100 ms window either way).
        src.wait_ram_written(size)
        assert src.hmp("migrate_set_parameter downtime-limit %d"
                       % migcheck.SURE_DOWNTIME_MS) == ""
    if transport == "exec":
        stream = tmp_path / "stream.bin"
        assert src.hmp('migrate "exec:cat > %s"' % stream, timeout=60) == ""
        src.wait_status("completed", 10)
        dst = spawn(["-m", "16M", "-incoming", "exec:cat %s" % stream] + extra, name="dst")
        dst.wait_status("completed", 30)
    else:
        dst, uri = start_destination(spawn, tmp_path, transport, "16M", extra)
        # without -d, the prompt comes back only once the migration is over
        assert src.hmp("migrate " + uri, timeout=60) == ""
        assert src.migration_status() == "completed"
        dst.wait_status("completed", 30)
    check_after(src, dst, tmp_path, size, dest_S, kind, fixture_image)


def test_migrate_detached_defer_64M(spawn, tmp_path):
    """-incoming defer + migrate_incoming on the destination, migrate -d on
    the source, state polled while it runs."""
    src = spawn(["-m", "64M", "-workload", "idle", "-workload", "random,rate=10M,area=32M"],
                name="src")
    dst = spawn(["-m", "64M", "-incoming", "defer"], name="dst")
    assert dst.vm_status() == "paused (inmigrate)"
    port = free_port()
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    # QEMU: a destination listening on tcp shows its socket address
    info = dst.info_migrate()
    assert "socket address: [\n\ttcp:127.0.0.1:%d\n]\n" % port in info, info
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""
    migcheck.wait_passes(src, 2)
    migcheck.converge(src)
    src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    migcheck.check_completed_source(src.info_migrate(), 64 * MiB)
    assert dst.vm_status() == "running"
    check_ram(src, dst, tmp_path, 64 * MiB)


def migrate_stopped(spawn, tmp_path):
    src = spawn(["-m", "32M", "-workload", "idle", "-workload", "seed"], name="src")
    assert src.hmp("stop") == ""
    assert src.vm_status() == "paused"
    dst, uri = start_destination(spawn, tmp_path, "tcp", "32M")
    assert src.hmp("migrate " + uri, timeout=60) == ""
    dst.wait_status("completed", 30)
    return src, dst


def test_migrate_stopped_source(spawn, tmp_path):
    """A stopped source: the destination stays paused, cont works on both
    (QEMU: mig-stopped-source.txt)."""
    src, dst = migrate_stopped(spawn, tmp_path)
    v = migcheck.check_completed_source(src.info_migrate(), 32 * MiB, vm_was_running=None)
    assert v["downtime ram"] == v["transferred ram"]
    assert src.vm_status() == "paused (postmigrate)"
    assert dst.vm_status() == "paused"
    check_ram(src, dst, tmp_path, 32 * MiB)
    for side in (dst, src):
        assert side.hmp("cont") == ""
        assert side.vm_status() == "running"


def test_migrate_stopped_source_no_precopy_line(spawn, tmp_path):
    src, dst = migrate_stopped(spawn, tmp_path)
    ref = migcheck.qemu_info_migrate("mig-stopped-source", "completed")
    got = src.info_migrate()
    names = lambda t: [l.partition(":")[0] for l in t.splitlines()]  # noqa: E731
    assert names(got) == names(ref), got
    migcheck.check_completed_source(got, 32 * MiB, vm_was_running=False)


def test_migrate_1G_random(spawn, tmp_path):
    """The one big guest: 1 GiB, random writes at 50 MB/s all over it.
    Three passes live, then the downtime limit decides: whether the passes
    converge alone depends on the wire beating 12800 dirtied pages a second,
    which a sanitizer build on a busy machine may not."""
    size = 1 << 30
    src = spawn(["-m", "1G", "-workload", "idle", "-workload", "random,rate=50M,area=1G"],
                name="src")
    dst, uri = start_destination(spawn, tmp_path, "tcp", "1G")
    assert src.hmp("migrate_set_parameter max-bandwidth 1g") == ""
    assert src.hmp("migrate -d " + uri) == ""
    migcheck.wait_passes(src, 3, timeout=180)
    migcheck.converge(src)
    src.wait_status("completed", 180)
    dst.wait_status("completed", 30)
    migcheck.check_completed_source(src.info_migrate(), size)
    assert dst.vm_status() == "running"
    a, b = check_ram(src, dst, tmp_path, size)
    os.unlink(a)
    os.unlink(b)


def record_counts(stream):
    import subprocess
    import sys
    from harness import TOOLS
    out = subprocess.run([sys.executable, os.path.join(TOOLS, "qemu_stream.py"), "count",
                          stream, "--json"], check=True, stdout=subprocess.PIPE).stdout
    import json
    return json.loads(out)["record_totals"]


@pytest.mark.parametrize("cap,kind,counter", [("xbzrle", "xbzrle", "xbzrle pages"),
                                              ("compress", "compressed", "compression pages")])
def test_source_uses_capability(spawn, tmp_path, cap, kind, counter):
    """With the capability on, the stream carries that kind of record (QEMU
    7.2: compression from the first pass, XBZRLE from the second) and the
    counter in 'info migrate' says so."""
    src = spawn(["-m", "16M", "-workload", "idle", "-workload", "random,rate=20M,area=2M"],
                name="src")
    assert src.hmp("migrate_set_capability %s on" % cap) == ""
    stream = str(tmp_path / "s.stream")
    # slow, so that there are several passes over pages the workload
    # rewrites, from a workload that already writes
    assert src.hmp("migrate_set_parameter max-bandwidth 8") == ""
    src.wait_ram_written(2 * MiB)
    assert src.hmp('migrate -d "exec:cat > %s"' % stream) == ""
    migcheck.wait_passes(src, 3)
    migcheck.converge(src)
    info = src.wait_status("completed", 60)
    ref = {"xbzrle": "mig-xbzrle-completed", "compress": "mig-compress-completed"}[cap]
    v = migcheck.check_completed_source(info, 16 * MiB, ref=ref)
    counts = record_counts(stream)
    assert counts.get(kind, 0) > 0, counts
    assert int(v[counter].split()[0]) > 0, info


def test_incoming_unix_socket_mode_0600(spawn, tmp_path):
    """The socket of -incoming unix:PATH (and of migrate_incoming) has mode
    0600 whatever the umask, as the monitor sockets do, and takes the
    migration."""
    old = os.umask(0)   # the widest: a socket file would be 0777
    try:
        dst, uri = start_destination(spawn, tmp_path, "unix", "16M")
        deferred = spawn(["-m", "16M", "-incoming", "defer"], name="deferred")
        later = tmp_path / "later.sock"
        assert deferred.hmp("migrate_incoming unix:%s" % later) == ""
    finally:
        os.umask(old)
    for path in (uri[len("unix:"):], str(later)):
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode), path
        assert stat.S_IMODE(st.st_mode) == 0o600, "%s: %o" % (path, st.st_mode)
    src = spawn(["-m", "16M", "-workload", "idle"], name="src")
    assert src.hmp("migrate " + uri, timeout=60) == ""
    assert src.migration_status() == "completed"
    dst.wait_status("completed", 30)
    check_ram(src, dst, tmp_path, 16 * MiB)
