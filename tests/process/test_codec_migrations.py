"""qmig -> qmig migrations with XBZRLE and multi-threaded compression:
the matrix of levels, thread counts, wait-thread on/off, workloads and both
codecs together; a cache resize and a compress-threads change in the middle
of a migration.  Every migration must end with equal RAM on both sides
(destination started with -S, so that nothing runs there after the load)."""
import pytest

from harness import free_port, ram_equal, diff_pages, seed_invariant
from harness import migcheck

MiB = 1 << 20
RAM = "32M"
WORKLOADS = {
    "idle": ["-workload", "idle"],
    "seed": ["-workload", "seed,area=4M"],
    "random": ["-workload", "idle", "-workload", "random,rate=8M,area=8M"],
}
# the bytes each dirtying workload writes (what wait_ram_written watches)
AREA = {"seed": 4 * MiB, "random": 8 * MiB}


def migrate(spawn, tmp_path, workload, src_cmds, dst_cmds, middle=(),
            passes=3, bandwidth="16M"):
    """Runs a slow migration (passes while the workload writes), then makes
    it converge; returns the source's parsed `info migrate`.

    The migration starts only once the workload has written (else the bulk
    pass can see an all-zero area and, on a busy machine, the whole
    migration end before the workload's first write).  It converges by the
    downtime limit, not by speed (level 9 on a loaded machine sends the
    4 MiB that seed rewrites all the time at 1.6 MB/s).  The passes after
    the bulk one can be a millisecond long with a codec, and a workload
    that did not get the CPU in one of them lets the migration converge on
    its own: only the bulk pass, as long as its bytes at `bandwidth` take,
    is sure to see the workload write.  So the `middle` commands go in
    during the bulk pass (passes=1 and a bandwidth that makes it last), and
    the test checks that the migration was still in it after them."""
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = spawn(["-m", RAM, "-S", "-incoming", "defer"], name="dst")
    for c in dst_cmds:
        assert dst.hmp(c) == "", c
    assert dst.hmp("migrate_incoming " + uri) == ""
    src = spawn(["-m", RAM] + WORKLOADS[workload], name="src")
    for c in src_cmds + ["migrate_set_parameter max-bandwidth " + bandwidth,
                         "migrate_set_parameter downtime-limit 1"]:
        assert src.hmp(c) == "", c
    if workload in AREA:
        src.wait_ram_written(AREA[workload])
    assert src.hmp("migrate -d " + uri) == ""
    migcheck.wait_passes(src, passes)
    for c in middle:
        assert src.hmp(c) == "", c
    if middle:
        info = src.info_migrate()
        assert "Migration status: active" in info and "dirty sync count: 1\n" in info, \
            "the change did not meet the bulk pass:\n" + info
    migcheck.converge(src)
    src.wait_status("completed", 60)
    assert dst.wait_status("completed", 30)
    a = src.pmemsave(str(tmp_path / "src.img"), 32 * MiB)
    b = dst.pmemsave(str(tmp_path / "dst.img"), 32 * MiB)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)
    if workload == "seed":
        assert seed_invariant(b, area=4 * MiB) is None, seed_invariant(b, area=4 * MiB)
    return migcheck.parse_info(src.info_migrate())


def count(info, name):
    return int(info[name].split()[0])


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_xbzrle(spawn, tmp_path, workload):
    info = migrate(spawn, tmp_path, workload,
                   ["migrate_set_capability xbzrle on"], [])
    assert info["cache size"] == "67108864 bytes"
    if workload != "idle":
        # re-dirtied pages go as deltas (qmig fills the cache in the bulk
        # pass, so there are hits from the second pass on)
        assert count(info, "xbzrle pages") > 0
        assert count(info, "xbzrle transferred") >= 0
    else:
        assert count(info, "xbzrle pages") == 0


def test_xbzrle_cache_resize_during_migration(spawn, tmp_path):
    """A resize in the middle takes effect (QEMU 7.2 ignores it) and the
    migration still ends with equal RAM."""
    info = migrate(spawn, tmp_path, "random",
                   ["migrate_set_capability xbzrle on",
                    "migrate_set_parameter xbzrle-cache-size 64k"], [],
                   middle=["migrate_set_cache_size 16m"], passes=1, bandwidth="2M")
    assert info["cache size"] == "16777216 bytes"


@pytest.mark.parametrize("level,threads,wait", [
    (0, 1, "on"), (1, 1, "on"), (1, 2, "on"), (6, 2, "off"), (9, 1, "off"),
    (9, 4, "on")])
@pytest.mark.parametrize("workload", ["random", "seed"])
def test_compress(spawn, tmp_path, workload, level, threads, wait):
    src = ["migrate_set_capability compress on",
           "migrate_set_parameter compress-level %d" % level,
           "migrate_set_parameter compress-threads %d" % threads,
           "migrate_set_parameter compress-wait-thread %s" % wait]
    info = migrate(spawn, tmp_path, workload, src,
                   ["migrate_set_capability compress on",
                    "migrate_set_parameter decompress-threads 2"])
    pages = count(info, "compression pages")
    busy = count(info, "compression busy")
    assert pages + busy > 0
    if wait == "on":
        assert busy == 0
        assert pages > 0


@pytest.mark.parametrize("workload", ["random", "seed"])
def test_compress_and_xbzrle(spawn, tmp_path, workload):
    info = migrate(spawn, tmp_path, workload,
                   ["migrate_set_capability compress on",
                    "migrate_set_capability xbzrle on",
                    "migrate_set_parameter compress-threads 2"],
                   ["migrate_set_capability compress on"])
    # compression in the bulk pass, XBZRLE after it (QEMU 7.2's choice);
    # the bulk pass filled the cache, so re-sent pages are deltas from the
    # second pass on (with QEMU's rule only from the third, which a short
    # run may never reach)
    assert count(info, "compression pages") > 0
    assert count(info, "xbzrle pages") > 0


def test_compress_threads_change_during_migration(spawn, tmp_path):
    """QEMU 7.2 hangs when compress-threads grows mid-migration; qmig
    rebuilds its pool between sections and completes."""
    info = migrate(spawn, tmp_path, "random",
                   ["migrate_set_capability compress on",
                    "migrate_set_parameter compress-threads 1"],
                   ["migrate_set_capability compress on"],
                   middle=["migrate_set_parameter compress-threads 4",
                           "migrate_set_parameter compress-level 6"],
                   passes=1, bandwidth="2M")
    assert count(info, "compression pages") > 0
