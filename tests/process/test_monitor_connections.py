"""At most 64 monitor connections at once, HMP and QMP sockets together
(issue 14 part 5d; QEMU has no cap, and 2000 idle clients made 2003
threads).  A client past the cap reads one line saying why, then the
close; the sessions already open go on; closing one lets a new one in."""

import json
import os
import socket

from harness import HmpSession, QMPClient, Qmig, poll, qmig_bin, scaled

LIMIT = 64
TEXT = "too many monitor connections (the limit is %d)" % LIMIT
HMP_REFUSAL = b"Error: " + TEXT.encode() + b"\r\n"
QMP_REFUSAL = {"error": {"class": "GenericError", "desc": TEXT}}


def raw_connect(addr):
    """A plain socket to a unix path or a (host, port) pair."""
    s = socket.socket(socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET)
    s.settimeout(scaled(60))
    s.connect(addr)
    return s


def read_to_eof(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def hmp_or_refusal(addr):
    """A new HMP connection: an HmpSession, or None if it was refused
    (then it must have read exactly the refusal line)."""
    s = raw_connect(addr)
    first = b""
    while b"\r\n" not in first:
        chunk = s.recv(65536)
        assert chunk, "closed without a line; got %r" % first
        first += chunk
    if first.startswith(b"Error: "):
        assert first + read_to_eof(s) == HMP_REFUSAL
        return None
    sess = HmpSession(s, start=first)
    assert sess.greeting.startswith("qmig ")
    return sess


def test_cap_shared_by_hmp_and_qmp(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], monitors=("unix", "tcp"),
             qmp=True, connect=False)
    qmp_path = q.qmp_path
    hmp, qmp = [], []
    try:
        first = q.session(0)
        hmp.append(first)
        params = first.hmp("info migrate_parameters")
        # 64 in all: HMP on both sockets and QMP, each past its greeting.
        while len(hmp) + len(qmp) < LIMIT:
            n = len(hmp) + len(qmp)
            if n % 2:
                c = poll(lambda: QMPClient(qmp_path), what="a QMP connection")
                assert "QMP" in c.greeting
                qmp.append(c)
                assert c.cmd("qmp_capabilities") == {"return": {}}
            else:
                hmp.append(q.session(n % 4 // 2))
        # The 65th, on each listener, reads why and is closed.
        for addr in q.monitor_addrs:
            assert read_to_eof(raw_connect(addr)) == HMP_REFUSAL
        line = read_to_eof(raw_connect(qmp_path))
        assert line.endswith(b"\r\n") and json.loads(line) == QMP_REFUSAL
        # A refused client that had typed a command first still reads why.
        s = raw_connect(q.monitor_addrs[1])
        s.sendall(b"stop\n")
        assert read_to_eof(s) == HMP_REFUSAL
        # The open sessions go on; nothing was run or changed.
        assert hmp[-1].hmp("info status") == "VM status: running\n"
        assert qmp[-1].cmd("query-status")["return"]["status"] == "running"
        assert first.hmp("info migrate_parameters") == params

        # Closing an HMP session frees a slot once qmig has seen the
        # close: poll until a new connection gets in, then the next one
        # is refused again.
        hmp.pop().close()
        hmp.append(poll(lambda: hmp_or_refusal(q.monitor_addrs[0]), timeout=60,
                            what="a freed slot after an HMP close"))
        assert hmp_or_refusal(q.monitor_addrs[1]) is None
        # A QMP session's slot is the same pool.
        qmp.pop().close()
        hmp.append(poll(lambda: hmp_or_refusal(q.monitor_addrs[1]), timeout=60,
                            what="a freed slot after a QMP close"))
        assert hmp[-1].hmp("info status") == "VM status: running\n"
        assert hmp_or_refusal(q.monitor_addrs[0]) is None
        assert first.hmp("info migrate_parameters") == params
        assert q.proc.poll() is None
    finally:
        for c in hmp + qmp:
            c.close()
        q.close()


def test_many_refusals_leave_the_server_serving(tmp_path):
    """Clients past the cap cost no thread and use no slot up: after 200
    refusals and all sessions closed, 64 fit again."""
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    sessions = []
    try:
        sessions = [q.session() for _ in range(LIMIT)]
        threads = len(os.listdir("/proc/%d/task" % q.proc.pid))
        assert threads <= LIMIT + 8, "%d threads for %d sessions" % (threads, LIMIT)
        for _ in range(200):
            assert read_to_eof(raw_connect(q.monitor_addrs[0])) == HMP_REFUSAL
        # A refusal starts no thread.
        assert len(os.listdir("/proc/%d/task" % q.proc.pid)) == threads
        for s in sessions:
            s.close()
        sessions = []
        # Every slot comes back once qmig has seen each close.
        while len(sessions) < LIMIT:
            s = poll(lambda: hmp_or_refusal(q.monitor_addrs[0]), timeout=60,
                         what="slot %d back" % len(sessions))
            sessions.append(s)
        assert hmp_or_refusal(q.monitor_addrs[0]) is None
        assert sessions[0].hmp("info status") == "VM status: running\n"
    finally:
        for s in sessions:
            s.close()
        q.close()
