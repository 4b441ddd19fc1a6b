"""Monitors on sockets: `-monitor unix:PATH,server=on,wait=off` and
`-monitor tcp:HOST:PORT,server=on,wait=off`, several at once, each
connection its own session; QEMU-style "\\r\\n" output and prompt."""

import os
import stat
import time

from hmp_helpers import PROMPT, QmigProcess, free_port, run_piped, wait_for
from timing import scaled


def test_greeting_prompt_and_line_ends(tmp_path):
    q = QmigProcess(tmp_path)
    try:
        s = q.connect()
        assert s.last_raw == (b"qmig %s monitor - type 'help' for more information\r\n"
                              % s.greeting.split()[1].encode() + PROMPT.encode())
        assert s.cmd("info status") == "VM status: running\n"
        assert s.last_raw == b"VM status: running\r\n" + PROMPT.encode()
        # A command with no output: just the prompt.  Errors in the stream.
        assert s.cmd("stop") == ""
        assert s.last_raw == PROMPT.encode()
        assert s.cmd("migrate_set_capability xbzrle") == (
            "Expected 'on' or 'off'\nTry \"help migrate_set_capability\" for more information\n")
        assert s.cmd("") == ""
        # A line sent in pieces is one command; \r\n is accepted.
        s.sock.sendall(b"info st")
        time.sleep(0.05)
        assert s.cmd("atus\r") == "VM status: paused\n"
    finally:
        q.close()


def test_unix_socket_mode_0600(tmp_path):
    os.umask(0o022)
    q = QmigProcess(tmp_path)
    try:
        q.connect()
        path = q.addrs[0][1]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        q.close()


def test_several_monitors_own_sessions(tmp_path):
    q = QmigProcess(tmp_path, monitors=("unix", "tcp", "unix"))
    try:
        a, b, c = q.connect(0), q.connect(1), q.connect(2)
        a2 = q.connect(0)  # two connections to one socket: two sessions
        # A half-typed line in one session does not leak into another.
        a.sock.sendall(b"migrate_set_parameter ")
        assert b.cmd("info status") == "VM status: running\n"
        assert c.cmd("foo") == "unknown command: 'foo'\n"
        assert a2.cmd("migrate_set_parameter downtime-limit 1000") == ""
        assert a.cmd("max-bandwidth 1m") == ""
        # They share the VM.
        params = b.cmd("info migrate_parameters")
        assert "downtime-limit: 1000 ms\n" in params
        assert "max-bandwidth: 1048576 bytes/second\n" in params
        # A closed session does not end the others.
        c.close()
        assert a.cmd("info status") == "VM status: running\n"
        # `quit` on any ends qmig with status 0; the others are closed.
        assert b.send_quit() == ""
        assert q.wait() == 0
        assert a.sock.recv(100) == b""
    finally:
        q.close()


def test_bad_monitor_specs(tmp_path):
    for spec, msg in [
        ("unix:%s/m" % tmp_path, "monitor sockets must be servers"),
        ("unix:%s/m,server=on,wait=on" % tmp_path, "'wait=on' is not supported"),
        ("tcp:127.0.0.1:%d,server=on,wait=off,bogus" % free_port(),
         "unsupported monitor option 'bogus'"),
        ("vc", "unsupported monitor device 'vc'"),
        ("unix:%s/no-such-dir/m,server=on,wait=off" % tmp_path, ""),
    ]:
        r = run_piped("", args=["-monitor", spec])
        assert r.returncode == 1, spec
        assert r.stderr.startswith("qmig: ") and msg in r.stderr, (spec, r.stderr)


def test_blocking_migrate_on_a_socket(tmp_path):
    """As QEMU: the session waits with nothing printed, another session
    sees the migration run, and then the prompt comes back.  The migration
    waits in pre-switchover until the other session lets it go, so that
    "nothing printed yet" is checked while it provably runs."""
    port = free_port()
    dst = QmigProcess(tmp_path, args=["-incoming", "defer"], name="dst")
    src = QmigProcess(tmp_path, monitors=("unix", "tcp"), args=["-workload", "idle"],
                      name="src")
    try:
        d = dst.connect()
        assert d.cmd("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
        assert "socket address: [\n\ttcp:127.0.0.1:%d\n]\n" % port in d.cmd("info migrate")
        a, b = src.connect(0), src.connect(1)
        assert a.cmd("migrate_set_parameter max-bandwidth 16m") == ""
        assert a.cmd("migrate_set_capability pause-before-switchover on") == ""
        a.sock.sendall(b"migrate tcp:127.0.0.1:%d\n" % port)
        def waiting():
            st = b.migration_status()
            return st if st not in ("none", "setup", "active") else None
        assert wait_for(waiting, what="the migration to wait") == "pre-switchover"
        # Meanwhile the waiting session has printed nothing, not even a prompt.
        a.sock.setblocking(False)
        try:
            assert a.sock.recv(100) == b"", "output during a blocking migrate"
        except BlockingIOError:
            pass
        a.sock.setblocking(True)
        a.sock.settimeout(scaled(60))
        assert b.cmd("migrate_continue pre-switchover") == ""
        assert a._read_prompt() == ""  # nothing printed, then the prompt
        assert a.migration_status() == "completed"
        info = a.cmd("info migrate")
        for field in ("total time: ", "downtime: ", "setup: ", "transferred ram: ",
                      "total ram: 65536 kbytes", "dirty sync count: "):
            assert field in info
        assert a.cmd("info status") == "VM status: paused (postmigrate)\n"
        wait_for(lambda: d.cmd("info status") == "VM status: running\n",
                 what="the destination to run")
        assert d.cmd("migrate_incoming tcp:127.0.0.1:1") == (
            "Error: The incoming migration has already been started\n")
    finally:
        src.close()
        dst.close()


def test_cancel_from_another_session(tmp_path):
    port = free_port()
    dst = QmigProcess(tmp_path, args=["-incoming", "tcp:127.0.0.1:%d" % port], name="dst")
    src = QmigProcess(tmp_path, monitors=("unix", "unix"), args=["-workload", "idle"],
                      name="src")
    try:
        dst.connect()
        a, b = src.connect(0), src.connect(1)
        # about 20 MB at 1 MiB/s: long after the cancel
        assert a.cmd("migrate_set_parameter max-bandwidth 1m") == ""
        a.sock.sendall(b"migrate tcp:127.0.0.1:%d\n" % port)
        wait_for(lambda: b.migration_status() == "active", what="active")
        assert b.cmd("migrate_set_capability xbzrle on") == (
            "Error: There's a migration process in progress\n")
        assert b.cmd("migrate -d tcp:127.0.0.1:%d" % port) == (
            "Error: There's a migration process in progress\n")
        assert b.cmd("migrate_cancel") == ""
        assert a._read_prompt() == ""
        assert a.migration_status() == "cancelled"
        assert a.cmd("info status") == "VM status: running\n"
    finally:
        src.close()
        dst.close()
