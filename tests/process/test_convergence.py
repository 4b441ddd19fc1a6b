"""Convergence (issue 15): the switch-over counts what the rest will take
on the wire, so XBZRLE and compression make a migration finish that plain
precopy cannot; auto-converge throttles a guest that dirties faster than
the link.

Every "does not converge" premise is checked in the same test, by what the
migration shows after a few passes (still active, its expected downtime
above the limit), never by waiting for ever; every wait is a poll with a
scaled deadline."""
import pytest

from harness import (QMPClient, diff_pages, free_port, migcheck, poll,
                     qemu_member_order, ram_equal, scaled, seed_invariant)

MiB = 1 << 20
RAM = "64M"
DOWNTIME_LIMIT_MS = 300


def info(side):
    return migcheck.parse_info(side.info_migrate())


def ms(v, name):
    return int(v[name].split()[0])


def start(spawn, workload, src_cmds, dst_cmds=(), bandwidth="8M",
          written=None, downtime_ms=DOWNTIME_LIMIT_MS):
    """A destination (-S: nothing runs there after the load) and a source
    migrating into it with `workload`; returns (src, dst)."""
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = spawn(["-m", RAM, "-S", "-incoming", "defer"], name="dst")
    for c in dst_cmds:
        assert dst.hmp(c) == "", c
    assert dst.hmp("migrate_incoming " + uri) == ""
    src = spawn(["-m", RAM] + workload, name="src")
    for c in list(src_cmds) + [
            "migrate_set_parameter max-bandwidth " + bandwidth,
            "migrate_set_parameter downtime-limit %d" % downtime_ms]:
        assert src.hmp(c) == "", c
    if written:
        src.wait_ram_written(written)
    assert src.hmp("migrate -d " + uri) == ""
    return src, dst


def assert_does_not_converge(src, passes):
    """After `passes` dirty syncs the migration is still active and says
    why: the rest would take longer than the limit."""
    migcheck.wait_passes(src, passes, 90)
    v = info(src)
    assert v["Migration status"] == "active", src.info_migrate()
    assert ms(v, "expected downtime") > DOWNTIME_LIMIT_MS, src.info_migrate()
    assert src.hmp("migrate_cancel") == ""
    src.wait_status("cancelled", 30)


def assert_completes(src, dst, tmp_path, seed_area=None, timeout=60):
    src.wait_status("completed", timeout)
    assert dst.wait_status("completed", 30)
    a = src.pmemsave(str(tmp_path / "src.img"), 64 * MiB)
    b = dst.pmemsave(str(tmp_path / "dst.img"), 64 * MiB)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)
    if seed_area:
        assert seed_invariant(b, area=seed_area) is None, seed_invariant(b, area=seed_area)
    return info(src)


SEED = ["-workload", "seed"]
CODECS = {
    "xbzrle": ["migrate_set_capability xbzrle on"],
    "compress": ["migrate_set_capability compress on"],
}


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_seed_at_8M_converges_only_with_codec(spawn, tmp_path, codec):
    """The XBZRLE design note's load at 8M: the 16 MiB it rewrites all the
    time takes 2 s raw, so plain precopy never fits 300 ms; as deltas or
    deflated pages it is some 150 KB, and the migration completes.

    The codec runs get a tighter limit, 50 ms (400 KB at 8M; a sanitizer
    build, whose encoding alone can take that long, gets its time factor
    more, as every deadline): counted at
    full page size, as QEMU 7.2 counts, that is 100 dirty pages, which only
    a sync that found the workload starved of CPU for a whole pass would
    see; counted in wire bytes the 4096 dirty pages fit.  Such a lucky sync
    does come on a loaded machine after some hundreds of passes (measured:
    QEMU 7.2's rule completed after 420 and 82 syncs), so the test also
    bounds the syncs: the decision takes the first pass after the bulk one
    whose cost it has seen, some 4-6 syncs on a quiet machine.  With both
    cores kept busy besides, compress once took 22: its threads starved,
    the measured bandwidth fell with them and the estimate hovered at the
    limit; 40 still tells the two rules apart."""
    plain, plain_dst = start(spawn, SEED, [], written=16 * MiB)
    assert_does_not_converge(plain, 4)
    plain.quit()
    plain_dst.kill()

    src, dst = start(spawn, SEED, CODECS[codec],
                     ["migrate_set_capability compress on"]
                     if codec == "compress" else [], written=16 * MiB,
                     downtime_ms=int(scaled(50)))
    v = assert_completes(src, dst, tmp_path, seed_area=16 * MiB)
    assert int(v["dirty sync count"]) <= 40, src.info_migrate()
    if codec == "xbzrle":
        assert int(v["xbzrle pages"].split()[0]) > 0
    else:
        assert int(v["compressed size"].split()[0]) > 0


MULTIFD_ZSTD = ["migrate_set_capability multifd on",
                "migrate_set_parameter multifd-channels 2",
                "migrate_set_parameter multifd-compression zstd"]


def test_seed_at_8M_converges_with_multifd_zstd(spawn, tmp_path):
    """The same load through two zstd channels: the 16 MiB the workload
    rewrites compress to well under what 8M carries in 300 ms, and the
    switch-over counts them so.  Its per-page estimate comes from what each
    section cost, the packets handed to the channels and not yet written
    included; those counted at their raw size, and a section of an 8M
    window is a few packets, so the estimate came out several times what
    the pages took, 16 MiB did not fit 2.4 MB and the migration ran on
    until a lucky sync (here three runs of five
    took 217 to 602 syncs; bench_convergence's 128M guest never finished
    in 30 s).  They now count at the ratio the written packets had."""
    src, dst = start(spawn, SEED, MULTIFD_ZSTD, MULTIFD_ZSTD,
                     written=16 * MiB)
    v = assert_completes(src, dst, tmp_path, seed_area=16 * MiB)
    assert int(v["dirty sync count"]) <= 40, src.info_migrate()
    assert int(v["multifd bytes"].split()[0]) > 0, src.info_migrate()


# A guest that dirties its 64 MiB six times faster than 32M carries it:
# every pass finds the whole area dirty again.
RANDOM = ["-workload", "random,rate=200M,area=64M"]
RANDOM_AREA = 64 * MiB
# QEMU 7.2's defaults reach the 90 % this guest needs after 16 periods
# (some 27 s here); from 50 % in steps of 20 it is 3 steps.
FAST_THROTTLE = ["migrate_set_parameter cpu-throttle-initial 50",
                 "migrate_set_parameter cpu-throttle-increment 20"]


def wait_area_dirty(src, tmp_path, share=0.9):
    """Until the workload has written `share` of its area's pages (it starts
    a few seconds before `migrate`, so the bulk pass meets a dirty area)."""
    path = str(tmp_path / "area.img")

    def dirty():
        with open(src.pmemsave(path, RANDOM_AREA), "rb") as f:
            data = f.read()
        zero = bytes(4096)
        pages = sum(1 for i in range(0, len(data), 4096) if data[i:i + 4096] != zero)
        return pages >= share * (RANDOM_AREA // 4096)
    poll(dirty, 60, 0.2, "the workload to dirty its area")


def start_random(spawn, tmp_path, caps, dst=None, src_extra=()):
    uri = "tcp:127.0.0.1:%d" % free_port()
    if dst is None:
        dst = spawn(["-m", "128M", "-S", "-incoming", uri], name="dst")
    else:
        dst = dst(uri)
    src = spawn(["-m", "128M"] + RANDOM + list(src_extra), name="src")
    for c in caps + ["migrate_set_parameter max-bandwidth 32M",
                     "migrate_set_parameter downtime-limit %d" % DOWNTIME_LIMIT_MS]:
        assert src.hmp(c) == "", c
    wait_area_dirty(src, tmp_path)
    assert src.hmp("migrate -d " + uri) == ""
    return src, dst


def wait_throttled(src):
    """Until `info migrate` shows the throttle; returns its percentage."""
    seen = []

    def throttled():
        v = info(src)
        assert v["Migration status"] in ("setup", "active"), src.info_migrate()
        if "cpu throttle percentage" in v:
            seen.append(int(v["cpu throttle percentage"]))
            return True
        return False
    poll(throttled, 90, 0.05, "auto-converge to throttle")
    return seen[-1]


def test_auto_converge_makes_random_200M_converge_at_32M(spawn, tmp_path):
    plain, plain_dst = start_random(spawn, tmp_path, [])
    assert_does_not_converge(plain, 4)
    plain.quit()
    plain_dst.kill()

    src, dst = start_random(spawn, tmp_path,
                            ["migrate_set_capability auto-converge on"] + FAST_THROTTLE)
    assert wait_throttled(src) >= 50
    v = assert_completes(src, dst, tmp_path, timeout=120)
    # lifted on completion
    assert "cpu throttle percentage" not in v


def test_auto_converge_into_qemu(spawn, spawn_qemu, tmp_path):
    def qemu_dst(uri):
        return spawn_qemu(name="qdst", ram_mib=128, incoming=uri)
    src, dst = start_random(spawn, tmp_path,
                            ["migrate_set_capability auto-converge on"] + FAST_THROTTLE,
                            dst=qemu_dst)
    wait_throttled(src)
    src.wait_status("completed", 120)
    assert dst.wait_status("completed", 30)
    a = src.pmemsave(str(tmp_path / "src.img"), 128 * MiB)
    b = dst.pmemsave("dst.img", 128 * MiB)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)


def dirty_rate_mb(src):
    """One second of `calc_dirty_rate -b 1` (the writers' own dirty log,
    which the migration does not disturb), in MB/s."""
    assert src.hmp("calc_dirty_rate -b 1").startswith("Starting dirty rate")

    def measured():
        lines = dict(l.split(": ", 1) for l in src.hmp("info dirty_rate").splitlines())
        return lines if lines["Status"] == "measured" else None
    v = poll(measured, 30, 0.05, "the dirty rate")
    return int(v["Dirty rate"].split()[0])


def test_throttle_slows_the_workload_and_cancel_lifts_it(spawn, tmp_path):
    """At 90 % the workload writes a tenth of its 200 MB/s: its 64 MiB area
    then gets some 17 MiB/s of new pages a second against all 64 when free.
    downtime-limit 1 keeps the migration live (it never fits), so that the
    throttle, not a completion, is what cancel has to lift."""
    qmp_path = str(tmp_path / "src.qmp")
    src, dst = start_random(spawn, tmp_path, [
        "migrate_set_capability auto-converge on",
        "migrate_set_parameter cpu-throttle-initial 90",
        "migrate_set_parameter max-cpu-throttle 90"],
        src_extra=["-qmp", "unix:%s,server=on,wait=off" % qmp_path])
    assert src.hmp("migrate_set_parameter downtime-limit 1") == ""
    free = dirty_rate_mb(src)
    assert wait_throttled(src) == 90
    throttled = dirty_rate_mb(src)
    assert info(src)["cpu throttle percentage"] == "90"
    q = QMPClient(qmp_path)
    q.ok("qmp_capabilities")
    r = q.ok("query-migrate")
    q.close()
    assert r["cpu-throttle-percentage"] == 90, r
    # where QEMU 7.2 would print it (a -M none QEMU has no vCPU to throttle)
    assert list(r) == qemu_member_order(list(r)), list(r)
    assert src.hmp("migrate_cancel") == ""
    src.wait_status("cancelled", 30)
    assert "cpu throttle percentage" not in info(src)
    # a throttled writer may still be inside its last 90 ms sleep
    recovered = poll(lambda: (lambda r: r if r > 2 * throttled else None)(dirty_rate_mb(src)),
                     30, 0, "the workload's rate to recover")
    print("dirty rate MB/s: free %d, throttled at 90 %% %d, after cancel %d"
          % (free, throttled, recovered))
    assert throttled * 2 < free, (free, throttled)
    assert recovered > 2 * throttled, (free, throttled, recovered)
