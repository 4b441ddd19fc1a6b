"""qmig against the real QEMU 7.2, live over TCP, both directions.  RAM is
compared through each side's own pmemsave."""

import os
import random
import re
import shutil

import pytest

from harness import free_port, poll, ram_equal, diff_pages
from harness import migcheck

MiB = 1 << 20
LOADER_ADDR = 0x400000
LOADER_PAGES = 64


def qemu_source(spawn_qemu, tmp_path, image, blob=None, ram_mib=16):
    """QEMU with its RAM in a file pre-filled with image (the way
    tools/qemu_fixture_driver.py does it), optionally with a loader device
    whose blob every system_reset writes into RAM (dirty-tracked)."""
    ram = tmp_path / "qemu-ram.img"
    shutil.copyfile(image, ram)
    extra = []
    if blob:
        extra = ["-device", "loader,file=%s,addr=0x%x" % (os.path.basename(blob), LOADER_ADDR)]
    src = spawn_qemu(name="qsrc", ram_mib=ram_mib, ram_file=ram, extra=extra)
    assert src.vm_status() == "running"
    return src, str(ram)


def compare_ram(a_side, b_side, tmp_path, size):
    """Both sides' pmemsave; QEMU gets a relative file name."""
    paths = []
    for side, name in ((a_side, "a.img"), (b_side, "b.img")):
        if side.echo:            # QEMU
            paths.append(side.pmemsave(name, size))
        else:
            paths.append(side.pmemsave(str(tmp_path / name), size))
    assert ram_equal(*paths), "RAM differs at %s" % diff_pages(*paths)
    return paths


@pytest.mark.parametrize("caps", [(), ("compress",)], ids=["plain", "compress"])
def test_qemu_to_qmig(spawn, spawn_qemu, tmp_path, fixture_image, caps):
    src, _ = qemu_source(spawn_qemu, tmp_path, fixture_image("plain"))
    port = free_port()
    if caps:
        dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst")
        for c in caps:
            assert src.hmp("migrate_set_capability %s on" % c) == ""
            assert dst.hmp("migrate_set_capability %s on" % c) == ""
        assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    else:
        dst = spawn(["-m", "16M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst")
    # QEMU's monitor stays suspended until the migration is over
    assert src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60) == ""
    assert src.migration_status() == "completed", src.info_migrate()
    assert dst.wait_status("completed", 30) == migcheck.dest_completed_info()
    assert dst.vm_status() == "running"
    assert src.vm_status() == "paused (postmigrate)"
    a, b = compare_ram(src, dst, tmp_path, 16 * MiB)
    assert ram_equal(b, fixture_image("plain"))
    assert dst.stderr() == ""


def test_qemu_to_qmig_dirtying_xbzrle(spawn, spawn_qemu, tmp_path, fixture_image):
    """QEMU source with xbzrle whose loader pages get re-dirtied by
    system_reset while it migrates, so the stream has several passes and
    goes through QEMU's XBZRLE cache.  (Changing page contents behind
    QEMU's back through the backing file, as the fixture driver does, can
    race with completion here; fixtures/xbzrle.stream covers real XBZRLE
    deltas in test_bad_streams.py.)"""
    rnd = random.Random(5)
    blob = tmp_path / "loader.blob"
    blob.write_bytes(rnd.randbytes(LOADER_PAGES * 4096))
    # little content besides the loader pages, so that the bulk pass is
    # short even at the low bandwidth that makes later passes long
    image = tmp_path / "image.img"
    with open(fixture_image("xbzrle"), "rb") as f:
        image.write_bytes(f.read(64 << 10) + bytes((16 << 20) - (64 << 10)))
    src, ram = qemu_source(spawn_qemu, tmp_path, str(image), blob=str(blob))
    port = free_port()
    dst = spawn(["-m", "16M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst")
    for cmd in ("migrate_set_capability xbzrle on", "migrate_set_parameter max-bandwidth 256k",
                "migrate_set_parameter downtime-limit 1"):
        assert src.hmp(cmd) == ""
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""
    src.wait_status("active", 10)

    def sync():
        v = migcheck.parse_info(src.info_migrate())
        if v["Migration status"] != "active":
            return None
        return int(v["dirty sync count"])

    for cycle in range(4):
        n = sync()
        if n is None:
            break
        assert src.hmp("system_reset") == ""
        poll(lambda: (sync() or 1 << 30) > n, 30, 0.02, "next dirty sync")
    assert src.hmp("migrate_set_parameter downtime-limit 20000") == ""
    assert src.hmp("migrate_set_parameter max-bandwidth 1g") == ""
    info = src.wait_status("completed", 60)
    v = migcheck.parse_info(info)
    assert int(v["dirty sync count"]) >= 3, info
    assert int(v["xbzrle pages"].split()[0]) + int(v["xbzrle cache miss"].split()[0]) > 0, info
    assert dst.wait_status("completed", 30) == migcheck.dest_completed_info()
    a, b = compare_ram(src, dst, tmp_path, 16 * MiB)
    with open(b, "rb") as f:
        f.seek(LOADER_ADDR)
        assert f.read(LOADER_PAGES * 4096) == blob.read_bytes()


QMIG_TO_QEMU = [
    # caps on the source, workloads, guest MiB
    ((), ["-workload", "idle", "-workload", "random,rate=20M,area=16M"], 16),
    ((), ["-workload", "idle", "-workload", "seed"], 64),
    (("xbzrle",), ["-workload", "idle", "-workload", "random,rate=20M,area=4M"], 16),
    (("compress",), ["-workload", "idle", "-workload", "random,rate=20M,area=16M"], 16),
    (("compress", "xbzrle"), ["-workload", "idle", "-workload", "random,rate=20M,area=4M"], 16),
]


@pytest.mark.parametrize("caps,workload,ram_mib", QMIG_TO_QEMU,
                         ids=["plain-random", "plain-seed-64M", "xbzrle", "compress",
                              "compress-xbzrle"])
def test_qmig_to_qemu(spawn, spawn_qemu, tmp_path, caps, workload, ram_mib):
    src = spawn(["-m", "%dM" % ram_mib] + workload, name="src")
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    if "compress" in caps:
        # the destination needs the capability too (docs section 4)
        dst = spawn_qemu(name="qdst", ram_mib=ram_mib, incoming="defer")
        assert dst.hmp("migrate_set_capability compress on") == ""
        assert dst.hmp("migrate_incoming " + uri) == ""
    else:
        dst = spawn_qemu(name="qdst", ram_mib=ram_mib, incoming=uri)
    assert dst.vm_status() == "paused (inmigrate)"
    for c in caps:
        assert src.hmp("migrate_set_capability %s on" % c) == ""
    # The workload writes before migrate (re-dirtied pages for XBZRLE), and
    # the downtime limit, not the speed of a possibly slow build, ends the
    # live part: every workload here rewrites its area faster than a slow
    # build may send it.
    src.wait_ram_written(4 * MiB)
    if "xbzrle" in caps:
        # several passes so that XBZRLE gets used: slow first, then fast
        assert src.hmp("migrate_set_parameter max-bandwidth 8") == ""
        assert src.hmp("migrate -d " + uri) == ""
        migcheck.wait_passes(src, 3)
        migcheck.converge(src)
        info = src.wait_status("completed", 60)
    else:
        assert src.hmp("migrate_set_parameter downtime-limit %d"
                       % migcheck.SURE_DOWNTIME_MS) == ""
        assert src.hmp("migrate " + uri, timeout=60) == ""
        info = src.info_migrate()
    ref = {(): "mig-plain-completed", ("xbzrle",): "mig-xbzrle-completed",
           ("compress",): "mig-compress-completed",
           ("compress", "xbzrle"): "mig-xbzrle-compress-completed"}[tuple(caps)]
    # (whether XBZRLE / compression really got used: test_migration.py
    # test_source_uses_capability)
    migcheck.check_completed_source(info, ram_mib * MiB, ref=ref)
    if caps == ("compress", "xbzrle"):
        # deltas against pages QEMU got compressed in the bulk pass
        parsed = migcheck.parse_info(info)
        assert int(parsed["xbzrle pages"].split()[0]) > 0, info
        assert int(parsed["compression pages"].split()[0]) > 0, info
    info = dst.wait_status("completed", 30)
    assert re.sub(r"\nsocket address: \[\n\t[^\n]*\n\]\n", "\n", info) == \
        migcheck.dest_completed_info()
    assert dst.vm_status() == "running"
    assert src.vm_status() == "paused (postmigrate)"
    compare_ram(src, dst, tmp_path, ram_mib * MiB)
    assert src.stderr() == ""


def test_mutated_streams_same_verdict_as_qemu(spawn, spawn_qemu, tmp_path, shared_tools):
    """Differential: a stream qmig wrote, damaged by seeded bit flips in
    record/section headers and by cuts; QEMU 7.2 and qmig destinations load
    each copy and must agree: both complete, or both exit with the same
    status and the same message lines."""
    import qemu_stream as qs
    from test_bad_streams import outcome
    src = spawn(["-m", "16M", "-workload", "idle"], name="src")
    stream = str(tmp_path / "good.stream")
    assert src.hmp('migrate "exec:cat > %s"' % stream, timeout=60) == ""
    with open(stream, "rb") as f:
        data = f.read()
    st = qs.Stream(data)
    heads = [(r["offset"], 8) for _, r in st.ram_records()]
    heads += [(it.start, min(it.end - it.start, 24)) for it in st.items]
    rnd = random.Random(99)
    verdicts = set()
    for i in range(17):
        b = bytearray(data)
        if i == 0:
            pass        # the undamaged stream: both must complete
        elif i % 4 == 0:
            b = b[:rnd.randrange(8, len(b))]
        else:
            for _ in range(rnd.randint(1, 3)):
                start, n = rnd.choice(heads)
                b[start + rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        name = "m%d.stream" % i
        (tmp_path / name).write_bytes(bytes(b))
        q = spawn_qemu(name="q%d" % i, incoming="exec:cat %s" % name, connect=False)
        m = spawn(["-m", "16M", "-incoming", "exec:cat %s" % name], name="m%d" % i,
                  connect=False)
        res = []
        for side in (q, m):
            o = outcome(side)
            if o == "exited":
                prefix = "qemu-system-x86_64: " if side is q else "qmig: "
                res.append((side.wait_exit(10),
                            [l.replace(prefix, "", 1) for l in side.stderr().splitlines()]))
            else:
                res.append(("completed", []))
            side.close()
        assert res[0] == res[1], "stream %d: QEMU %s, qmig %s" % (i, res[0], res[1])
        verdicts.add(res[0][0])
        os.unlink(str(tmp_path / name))
    assert "completed" in verdicts and 1 in verdicts
