"""Outgoing exec: migrations are 'completed' only when the command took the
whole stream and exited 0.  A pipe holds a small stream whole whether or
not the command reads it, so the source must not trust its writes: a
16 MiB all-zero guest (about 37 KB of stream) used to complete into
'exit 1' most of the time.  Whatever fails, the source runs on with its
RAM as it was, and migrates to a real destination afterwards."""

import os
import signal

import pytest

from harness import free_port, poll, ram_equal, diff_pages

MiB = 1 << 20

GUESTS = {
    # the whole stream fits in a pipe: every write succeeds
    "zero-16M": (["-m", "16M"], 16 * MiB),
    # megabytes of stream: a write breaks once the command is gone
    "idle-64M": (["-m", "64M", "-workload", "idle"], 64 * MiB),
}

# (command, the failure 'info migrate' shows)
FAILING = [
    ("exit 1", "Command 'exit 1' exited with status 1"),
    # exits 0, having read 100 bytes: QEMU's words for a stream not taken
    ("head -c 100 >/dev/null", "Unable to write to command: Broken pipe"),
]


def pipe_sized_guest(tmp_path):
    """8 MiB, 4 pages of random bytes and the rest zero: about 35 KB of
    stream, which a pipe (64 KiB) holds whole."""
    img = tmp_path / "four-pages.img"
    img.write_bytes(os.urandom(4 * 4096))
    return ["-m", "8M", "-workload", "image=%s" % img], 8 * MiB


def migrate_to_destination(spawn, src, tmp_path, size, expected_img):
    """A real destination over tcp: the migration completes, and both ends
    hold expected_img."""
    port = free_port()
    dst = spawn(["-m", "%dM" % (size // MiB), "-incoming", "tcp:127.0.0.1:%d" % port],
                name="dst")
    assert src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=120) == ""
    assert src.migration_status() == "completed"
    dst.wait_status("completed", 60)
    assert src.vm_status() == "paused (postmigrate)"
    assert dst.vm_status() == "running"
    for side in (src, dst):
        got = side.pmemsave(str(tmp_path / (side.name + ".img")), size)
        assert ram_equal(got, expected_img), "%s RAM differs at %s" % (
            side.name, diff_pages(got, expected_img))


@pytest.mark.parametrize("guest", sorted(GUESTS))
def test_failing_command_never_completes(spawn, tmp_path, guest):
    args, size = GUESTS[guest]
    src = spawn(args, name="src")
    before = src.pmemsave(str(tmp_path / "before.img"), size)
    for run in range(10):
        for cmd, reason in FAILING:
            # blocking: the prompt comes back once the migration is over
            assert src.hmp('migrate "exec:%s"' % cmd, timeout=60) == ""
            what = "run %d, %r" % (run, cmd)
            assert src.migration_status() == "failed (%s)" % reason, what
            assert src.vm_status() == "running", what
    # a socket monitor's blocking migrate reports on stderr, as QEMU
    for _, reason in FAILING:
        assert src.stderr().count("qmig: %s\n" % reason) == 10, src.stderr()
    after = src.pmemsave(str(tmp_path / "after.img"), size)
    assert ram_equal(before, after), "RAM changed at %s" % diff_pages(before, after)
    migrate_to_destination(spawn, src, tmp_path, size, before)


@pytest.mark.parametrize("cmd,reason", [
    # the stream was read whole, but the command says it failed
    ("cat > stream.bin; exit 3", "Command 'cat > stream.bin; exit 3' exited with status 3"),
    ("kill -9 $$", "Command 'kill -9 $$' was killed by signal 9 (Killed)"),
])
def test_exit_status_decides(spawn, tmp_path, cmd, reason):
    src = spawn(["-m", "16M", "-workload", "idle"], name="src")
    before = src.pmemsave(str(tmp_path / "before.img"), 16 * MiB)
    assert src.hmp('migrate -d "exec:%s"' % cmd) == ""
    info = src.wait_status("failed", 60)
    assert "Migration status: failed (%s)\n" % reason in info, info
    assert src.vm_status() == "running"
    assert "qmig: %s\n" % reason in src.stderr()
    migrate_to_destination(spawn, src, tmp_path, 16 * MiB, before)


def test_command_that_reads_late_completes(spawn, tmp_path):
    """The whole stream sits in the pipe while the command has not read a
    byte yet: the source waits for it (still 'active', guest stopped),
    and completes once the command has taken everything."""
    args, size = pipe_sized_guest(tmp_path)
    src = spawn(args, name="src")
    before = src.pmemsave(str(tmp_path / "before.img"), size)
    go = tmp_path / "go"
    # the command runs in src's working directory, tmp_path
    cmd = "while [ ! -e go ]; do sleep 0.02; done; cat > stream.bin"
    assert src.hmp('migrate -d "exec:%s"' % cmd) == ""
    src.wait_vm_status("paused (finish-migrate)", 60)
    assert src.migration_status() == "active"
    go.touch()
    src.wait_status("completed", 60)
    assert src.vm_status() == "paused (postmigrate)"
    dst = spawn(["-m", "8M", "-incoming", "exec:cat stream.bin"], name="dst")
    dst.wait_status("completed", 60)
    got = dst.pmemsave(str(tmp_path / "dst.img"), size)
    assert ram_equal(got, before), "RAM differs at %s" % diff_pages(got, before)


def pipe_of(pid, fd):
    """'pipe:[N]' for a pipe descriptor of process pid."""
    link = os.readlink("/proc/%d/fd/%d" % (pid, fd))
    assert link.startswith("pipe:"), link
    return link


def holds(pid, target):
    """Whether process pid has a descriptor on target ('pipe:[N]')."""
    d = "/proc/%d/fd" % pid
    for name in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, name)) == target:
                return True
        except FileNotFoundError:
            pass    # closed while we looked
    return False


def test_cancel_while_waiting_for_the_command(spawn, tmp_path):
    """A command that never reads: migrate_cancel ends the wait for it and
    closes the stream; as QEMU, the source then reaps the command, so the
    state is 'cancelling' until it exits, then 'cancelled', guest running
    with its RAM."""
    args, size = pipe_sized_guest(tmp_path)
    src = spawn(args, name="src")
    before = src.pmemsave(str(tmp_path / "before.img"), size)
    pidfile = tmp_path / "cmd.pid"
    assert src.hmp('migrate -d "exec:echo $$ > cmd.pid; exec sleep 1000"') == ""
    src.wait_vm_status("paused (finish-migrate)", 60)
    pid = poll(lambda: pidfile.exists() and pidfile.read_text().strip()
               and int(pidfile.read_text()), 30, what="the command's pid")
    try:
        stream_pipe = pipe_of(pid, 0)
        assert holds(src.pid, stream_pipe)
        assert src.hmp("migrate_cancel") == ""
        poll(lambda: not holds(src.pid, stream_pipe), 30, what="qmig to close the stream")
        assert src.migration_status() == "cancelling"
    finally:
        os.kill(pid, signal.SIGKILL)
    src.wait_status("cancelled", 30)
    assert src.vm_status() == "running"
    migrate_to_destination(spawn, src, tmp_path, size, before)
