"""Monitors on sockets: `-monitor unix:PATH,server=on,wait=off` and
`-monitor tcp:HOST:PORT,server=on,wait=off`, several at once, each
connection its own session; QEMU-style "\\r\\n" output and prompt."""

import os
import stat
import time

from harness import PROMPT, Qmig, free_port, poll, qmig_bin, run_piped, scaled


def test_greeting_prompt_and_line_ends(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        assert s.last_raw == (b"qmig %s monitor - type 'help' for more information\r\n"
                              % s.greeting.split()[1].encode() + PROMPT.encode())
        assert s.hmp("info status") == "VM status: running\n"
        assert s.last_raw == b"VM status: running\r\n" + PROMPT.encode()
        # A command with no output: just the prompt.  Errors in the stream.
        assert s.hmp("stop") == ""
        assert s.last_raw == PROMPT.encode()
        assert s.hmp("migrate_set_capability xbzrle") == (
            "Expected 'on' or 'off'\nTry \"help migrate_set_capability\" for more information\n")
        assert s.hmp("") == ""
        # A line sent in pieces is one command; \r\n is accepted.
        s.sock.sendall(b"info st")
        time.sleep(0.05)
        assert s.hmp("atus\r") == "VM status: paused\n"
    finally:
        q.close()


def test_unix_socket_mode_0600(tmp_path):
    os.umask(0o022)
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        q.session()
        path = q.monitor_addrs[0]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        q.close()


def test_several_monitors_own_sessions(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], monitors=("unix", "tcp", "unix"), connect=False)
    try:
        a, b, c = q.session(0), q.session(1), q.session(2)
        a2 = q.session(0)  # two connections to one socket: two sessions
        # A half-typed line in one session does not leak into another.
        a.sock.sendall(b"migrate_set_parameter ")
        assert b.hmp("info status") == "VM status: running\n"
        assert c.hmp("foo") == "unknown command: 'foo'\n"
        assert a2.hmp("migrate_set_parameter downtime-limit 1000") == ""
        assert a.hmp("max-bandwidth 1m") == ""
        # They share the VM.
        params = b.hmp("info migrate_parameters")
        assert "downtime-limit: 1000 ms\n" in params
        assert "max-bandwidth: 1048576 bytes/second\n" in params
        # A closed session does not end the others.
        c.close()
        assert a.hmp("info status") == "VM status: running\n"
        # `quit` on any ends qmig with status 0; the others are closed.
        assert b.send_quit() == ""
        assert q.wait_exit() == 0
        assert a.sock.recv(100) == b""
    finally:
        q.close()


def test_bad_monitor_specs(tmp_path):
    for spec, msg in [
        ("unix:%s/m" % tmp_path, "monitor sockets must be servers"),
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
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-incoming", "defer"], name="dst", connect=False)
    src = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-workload", "idle"], name="src", monitors=("unix", "tcp"), connect=False)
    try:
        d = dst.session()
        assert d.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
        assert "socket address: [\n\ttcp:127.0.0.1:%d\n]\n" % port in d.hmp("info migrate")
        a, b = src.session(0), src.session(1)
        assert a.hmp("migrate_set_parameter max-bandwidth 16m") == ""
        assert a.hmp("migrate_set_capability pause-before-switchover on") == ""
        a.sock.sendall(b"migrate tcp:127.0.0.1:%d\n" % port)
        def waiting():
            st = b.migration_status()
            return st if st not in ("none", "setup", "active") else None
        assert poll(waiting, what="the migration to wait") == "pre-switchover"
        # Meanwhile the waiting session has printed nothing, not even a prompt.
        a.sock.setblocking(False)
        try:
            assert a.sock.recv(100) == b"", "output during a blocking migrate"
        except BlockingIOError:
            pass
        a.sock.setblocking(True)
        a.sock.settimeout(scaled(60))
        assert b.hmp("migrate_continue pre-switchover") == ""
        assert a.read_reply() == ""  # nothing printed, then the prompt
        assert a.migration_status() == "completed"
        info = a.hmp("info migrate")
        for field in ("total time: ", "downtime: ", "setup: ", "transferred ram: ",
                      "total ram: 65536 kbytes", "dirty sync count: "):
            assert field in info
        assert a.hmp("info status") == "VM status: paused (postmigrate)\n"
        poll(lambda: d.hmp("info status") == "VM status: running\n",
                 what="the destination to run")
        assert d.hmp("migrate_incoming tcp:127.0.0.1:1") == (
            "Error: The incoming migration has already been started\n")
    finally:
        src.close()
        dst.close()


def test_cancel_from_another_session(tmp_path):
    port = free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst", connect=False)
    src = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-workload", "idle"], name="src", monitors=("unix", "unix"), connect=False)
    try:
        dst.session()
        a, b = src.session(0), src.session(1)
        # about 20 MB at 1 MiB/s: long after the cancel
        assert a.hmp("migrate_set_parameter max-bandwidth 1m") == ""
        a.sock.sendall(b"migrate tcp:127.0.0.1:%d\n" % port)
        poll(lambda: b.migration_status() == "active", what="active")
        assert b.hmp("migrate_set_capability xbzrle on") == (
            "Error: There's a migration process in progress\n")
        assert b.hmp("migrate -d tcp:127.0.0.1:%d" % port) == (
            "Error: There's a migration process in progress\n")
        assert b.hmp("migrate_cancel") == ""
        assert a.read_reply() == ""
        assert a.migration_status() == "cancelled"
        assert a.hmp("info status") == "VM status: running\n"
    finally:
        src.close()
        dst.close()
