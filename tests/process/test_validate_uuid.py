"""validate-uuid: with -uuid the source puts its UUID into the stream's
configuration section, and the destination refuses another one (QEMU 7.2's
configuration/uuid subsection).  Each pairing of qmig and QEMU 7.2 is run
both ways, and the destination's words are compared with QEMU's own."""

import pytest

from harness import free_port

A = "11111111-2222-3333-4444-555555555555"
B = "11111111-2222-3333-4444-666666666666"


def start_source(kind, spawn, spawn_qemu, uuid, return_path=False):
    extra = ["-uuid", uuid] if uuid else []
    if kind == "qemu":
        src = spawn_qemu(name="qsrc", extra=extra)
    else:
        src = spawn(["-m", "16M", "-workload", "random,rate=20M,area=8M"] + extra,
                    name="src")
    assert src.hmp("migrate_set_capability validate-uuid on") == ""
    if return_path:
        assert src.hmp("migrate_set_capability return-path on") == ""
    return src


def start_destination(kind, spawn, spawn_qemu, uuid, uri):
    extra = ["-uuid", uuid] if uuid else []
    if kind == "qemu":
        return spawn_qemu(name="qdst", incoming=uri, extra=extra)
    return spawn(["-m", "16M", "-incoming", uri] + extra, name="dst")


def migrate(src, dst_kind, spawn, spawn_qemu, dst_uuid):
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = start_destination(dst_kind, spawn, spawn_qemu, dst_uuid, uri)
    src.hmp("migrate " + uri, timeout=60)
    info = src.wait_status({"completed", "failed"}, 60)
    return info, dst


PAIRS = [("qmig", "qmig"), ("qemu", "qmig"), ("qmig", "qemu")]


@pytest.mark.parametrize("src_kind,dst_kind", PAIRS,
                         ids=["qmig-qmig", "qemu-qmig", "qmig-qemu"])
def test_another_uuid_fails_the_destination(spawn, spawn_qemu, src_kind,
                                            dst_kind):
    """The destination says what QEMU 7.2 says and exits; the source
    fails and its guest runs on.  With the return path, so that the
    source learns it whatever the timing: without, a 16 MiB stream fits
    the socket buffers, and QEMU 7.2's source reports `completed` when it
    wrote it all before the destination read the configuration."""
    src = start_source(src_kind, spawn, spawn_qemu, A, return_path=True)
    info, dst = migrate(src, dst_kind, spawn, spawn_qemu, B)
    assert "Migration status: failed" in info, info
    assert src.vm_status() == "running"
    assert dst.wait_exit(30) == 1
    said = dst.stderr().replace("qemu-system-x86_64: ", "qmig: ")
    assert said == ("qmig: UUID received is %s and local is %s\n"
                    "qmig: load of migration failed: Invalid argument\n"
                    % (A, B)), said


@pytest.mark.parametrize("src_kind,dst_kind", PAIRS,
                         ids=["qmig-qmig", "qemu-qmig", "qmig-qemu"])
def test_the_same_uuid_completes(spawn, spawn_qemu, src_kind, dst_kind):
    src = start_source(src_kind, spawn, spawn_qemu, A)
    info, dst = migrate(src, dst_kind, spawn, spawn_qemu, A)
    assert "Migration status: completed" in info, info
    assert dst.wait_status("completed", 30)
    assert "UUID" not in dst.stderr()


@pytest.mark.parametrize("src_kind,dst_kind", PAIRS,
                         ids=["qmig-qmig", "qemu-qmig", "qmig-qemu"])
def test_destination_without_uuid_warns(spawn, spawn_qemu, src_kind,
                                        dst_kind):
    src = start_source(src_kind, spawn, spawn_qemu, A)
    info, dst = migrate(src, dst_kind, spawn, spawn_qemu, None)
    assert "Migration status: completed" in info, info
    dst.wait_status("completed", 30)
    said = dst.stderr().replace("qemu-system-x86_64: ", "qmig: ")
    assert said == ("qmig: warning: UUID is received %s, but local uuid"
                    " isn't set\n" % A), said


def test_source_without_uuid_sends_none(spawn, spawn_qemu):
    """validate-uuid without -uuid: nothing to validate (QEMU sends the
    subsection only with -uuid), so any destination takes the stream."""
    src = start_source("qmig", spawn, spawn_qemu, None)
    info, dst = migrate(src, "qemu", spawn, spawn_qemu, B)
    assert "Migration status: completed" in info, info
    assert "UUID" not in dst.stderr()
