"""The return-path capability: the destination answers on the migration
socket (PONG, then SHUT with its verdict) and the source counts the
migration completed only once the destination confirmed the load; a
destination that fails makes the source fail with error-desc and keep
running.  Against qmig and against real QEMU 7.2 on either side."""
import re

import pytest

from harness import free_port, ram_equal, diff_pages
from harness import migcheck

MiB = 1 << 20


def pmem(side, tmp_path, name):
    if side.echo:  # QEMU: relative names only (see test_interop_qemu)
        return side.pmemsave(name, 16 * MiB)
    return side.pmemsave(str(tmp_path / name), 16 * MiB)


def run(src, dst, port):
    for side in (src, dst):
        assert side.hmp("migrate_set_capability return-path on") == ""
    # qmig's workload rewrites its 4 MiB faster than a slow (sanitizer,
    # busy) build may send it: the downtime limit ends the live part
    assert src.hmp("migrate_set_parameter downtime-limit %d"
                   % migcheck.SURE_DOWNTIME_MS) == ""
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""


@pytest.mark.parametrize("peer", ["qmig", "qemu-destination", "qemu-source"])
def test_return_path_completes(spawn, spawn_qemu, tmp_path, fixture_image,
                               peer):
    port = free_port()
    if peer == "qemu-source":
        ram = tmp_path / "qemu-ram.img"
        ram.write_bytes(open(fixture_image("plain"), "rb").read())
        src = spawn_qemu(name="qsrc", ram_mib=16, ram_file=ram)
    else:
        src = spawn(["-m", "16M", "-workload", "idle", "-workload",
                     "random,rate=4M,area=4M"], name="src")
    if peer == "qemu-destination":
        dst = spawn_qemu(name="qdst", ram_mib=16, incoming="defer")
    else:
        dst = spawn(["-m", "16M", "-S", "-incoming", "defer"], name="dst")
    run(src, dst, port)
    src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    a = pmem(src, tmp_path, "a.img")
    b = pmem(dst, tmp_path, "b.img")
    assert ram_equal(a, b), "RAM differs at %s" % diff_pages(a, b)


def test_failing_destination_fails_the_source(spawn, tmp_path):
    """The destination refuses the stream (compressed pages without the
    capability); the source reports failed with the destination's word,
    keeps running, and a second migration succeeds."""
    src = spawn(["-m", "16M", "-workload", "idle"], name="src")
    assert src.hmp("migrate_set_capability compress on") == ""
    port = free_port()
    bad = spawn(["-m", "16M", "-incoming", "defer"], name="bad")
    run(src, bad, port)
    status = src.wait_status("failed", 60)
    assert "the destination failed to load the migration" in \
        src.info_migrate(), src.info_migrate()
    assert bad.wait_exit(30) == 1
    assert "Received an unexpected compressed page" in bad.stderr()
    assert src.vm_status() == "running"

    port = free_port()
    good = spawn(["-m", "16M", "-S", "-incoming", "defer"], name="good")
    assert good.hmp("migrate_set_capability compress on") == ""
    run(src, good, port)
    src.wait_status("completed", 60)
    a = pmem(src, tmp_path, "a.img")
    b = pmem(good, tmp_path, "b.img")
    assert ram_equal(a, b)


@pytest.mark.parametrize("pair", ["qmig-qemu", "qemu-qmig"])
def test_failing_destination_words_against_qemu(spawn, spawn_qemu, tmp_path, fixture_image,
                                                pair):
    """The source's error when a return-path destination fails (compressed
    pages it did not enable).  QEMU 7.2's source says `Unable to write to
    socket: Bad file descriptor` (its own closed stream, not the cause; or
    `Connection reset by peer` when the destination's exit comes first).
    qmig's names the cause: a qmig destination reports its failure on the
    return path (`the destination failed to load the migration`,
    test_failing_destination_fails_the_source); a QEMU 7.2 one exits
    without a word, which qmig says (docs/usage.md)."""
    port = free_port()
    s_who, d_who = pair.split("-")
    if s_who == "qemu":
        ram = tmp_path / "qemu-ram.img"
        ram.write_bytes(open(fixture_image("plain"), "rb").read())
        src = spawn_qemu(name="qsrc", ram_mib=16, ram_file=ram)
    else:
        src = spawn(["-m", "16M", "-workload", "idle"], name="src")
    if d_who == "qemu":
        dst = spawn_qemu(name="qdst", ram_mib=16, incoming="defer")
    else:
        dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst")
    assert src.hmp("migrate_set_capability compress on") == ""
    run(src, dst, port)
    info = src.wait_status("failed", 60)
    # qmig's source too keeps QEMU's words when its socket failed first:
    # QEMU's exit with bytes unread can reset the stream before the
    # return path's reader has seen it close (docs/usage.md)
    want = (r"Unable to write to socket: " if s_who == "qemu"
            else r"(the destination closed the return path without reporting\)"
                 r"|Unable to write to socket: Connection reset by peer\))")
    assert re.search(r"Migration status: failed \(%s" % want, info), info
    assert dst.wait_exit(30) == 1
    assert "Received an unexpected compressed page" in dst.stderr()
    assert src.vm_status() == "running"
