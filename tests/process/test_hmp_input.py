"""Monitor input that must not slip through (issue 14 part 4): a line with
a NUL byte, or longer than 64 KiB, runs nothing, neither on a socket nor in
a script on stdin; the error quotes only the start of the line; the
session goes on.  Each test checks the store (info migrate_parameters) and
the guest (info status) after the bad line, as a user would see them."""

import subprocess

from harness import PROMPT, Qmig, qmig_bin, run_piped

MAX_LINE = 64 * 1024


def replies(s, n):
    """The next n replies of session s (each up to its prompt), raw."""
    prompt = PROMPT.encode()
    buf = b""
    while buf.count(prompt) < n:
        data = s.sock.recv(65536)
        assert data, "monitor closed; got %r" % buf
        buf += data
    parts = buf.split(prompt)
    assert len(parts) == n + 1 and parts[-1] == b"", "more than %d replies: %r" % (n, buf)
    return [p.decode() for p in parts[:-1]]


def default_params(tmp_path):
    """`info migrate_parameters` of a fresh qmig (what an ignored line must
    leave)."""
    r = run_piped("info migrate_parameters\n", cwd=str(tmp_path))
    assert r.returncode == 0 and "max-bandwidth: 134217728 bytes/second\n" in r.stdout
    return r.stdout


def test_nul_byte_on_a_socket_runs_nothing(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        params = s.hmp("info migrate_parameters")
        for line, shown in [
            (b"stop\0 garbage", r"'stop\x00 garbage'"),
            (b"info status\0xyz", r"'info status\x00xyz'"),
            (b"migrate_set_parameter max-bandwidth 1\0", r"'migrate_set_parameter max-bandwidth 1\x00'"),
            (b"\0stop", r"'\x00stop'"),
        ]:
            s.sock.sendall(line + b"\n")
            offset = line.index(b"\0")
            assert replies(s, 1)[0] == (
                "NUL byte in line (at offset %d), nothing run: %s\r\n" % (offset, shown))
            assert s.hmp("info status") == "VM status: running\n", line
        assert s.hmp("info migrate_parameters") == params
        # A NUL in one line does not leak into the next one.
        s.sock.sendall(b"stop\0\nstop\n")
        nul, stop = replies(s, 2)
        assert nul.startswith("NUL byte in line") and stop == ""
        assert s.hmp("info status") == "VM status: paused\n"
    finally:
        q.close()


def test_overlong_line_on_a_socket_changes_nothing(tmp_path):
    """The issue's case: the head alone would set max-bandwidth to
    12944670720 (12345 is taken as MiB).  The whole line is dropped; the
    rest of the connection is read as usual."""
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        params = s.hmp("info migrate_parameters")
        head = b"migrate_set_parameter max-bandwidth 12345"
        line = head + b" " * (70 * 1024) + b"garbage-tail"
        # Sent in pieces, with the next command right behind the newline.
        for i in range(0, len(line), 8192):
            s.sock.sendall(line[i:i + 8192])
        s.sock.sendall(b"\ninfo status\n")
        assert replies(s, 2) == [
            "line too long (%d bytes, at most %d), nothing run: '%s'...\r\n"
            % (len(line), MAX_LINE, (head + b" " * 7).decode()),
            "VM status: running\r\n"]
        assert s.hmp("info migrate_parameters") == params
        s.sock.sendall(b"stop" + b" " * MAX_LINE + b"\n")
        assert replies(s, 1)[0].startswith("line too long (%d bytes" % (MAX_LINE + 4))
        assert s.hmp("info status") == "VM status: running\n"
        assert s.hmp("info migrate_parameters") == params
    finally:
        q.close()


def test_line_of_exactly_the_limit_runs(tmp_path):
    """64 KiB is allowed, one byte more is not; "\\r" does not count."""
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        cmd = b"migrate_set_parameter downtime-limit 1234"
        s.sock.sendall(cmd + b" " * (MAX_LINE - len(cmd)) + b"\r\n")
        assert replies(s, 1)[0] == ""
        assert "downtime-limit: 1234 ms\n" in s.hmp("info migrate_parameters")
        cmd = b"migrate_set_parameter downtime-limit 4321"
        s.sock.sendall(cmd + b" " * (MAX_LINE + 1 - len(cmd)) + b"\n")
        assert replies(s, 1)[0].startswith(
            "line too long (%d bytes, at most %d), nothing run: " % (MAX_LINE + 1, MAX_LINE))
        assert "downtime-limit: 1234 ms\n" in s.hmp("info migrate_parameters")
    finally:
        q.close()


def test_nul_byte_in_a_script(tmp_path):
    params = default_params(tmp_path)
    r = run_piped("info status\nstop\0 garbage\nmigrate_set_parameter max-bandwidth 1\0\n"
                  "info status\ninfo migrate_parameters\n")
    assert r.stderr == (
        "qmig: line 2: NUL byte in line (at offset 4), nothing run: 'stop\\x00 garbage'\n"
        "qmig: line 3: NUL byte in line (at offset 37), nothing run: "
        "'migrate_set_parameter max-bandwidth 1\\x00'\n")
    assert r.stdout == "VM status: running\nVM status: running\n" + params
    assert r.returncode == 1


def test_overlong_line_in_a_script(tmp_path):
    params = default_params(tmp_path)
    head = "migrate_set_parameter max-bandwidth 12345"
    r = run_piped(head + " " * (70 * 1024) + "garbage-tail\n"
                  "info status\ninfo migrate_parameters\n")
    assert r.stderr == (
        "qmig: line 1: line too long (%d bytes, at most %d), nothing run: '%s'...\n"
        % (len(head) + 70 * 1024 + len("garbage-tail"), MAX_LINE, head + " " * 7))
    assert r.stdout == "VM status: running\n" + params
    assert r.returncode == 1


def test_huge_script_line_without_newline_stays_small(tmp_path):
    """256 MiB and no newline: qmig keeps 64 KiB of it (its peak RSS,
    VmHWM read while the line is still open, stays well under the line's
    size), the error quotes 48 bytes of it, and the exit status is 1."""
    size = 256 << 20
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "err", "wb") as err:
        p = subprocess.Popen([qmig_bin(), "-m", "64M"], stdin=subprocess.PIPE,
                             stdout=out, stderr=err)
    try:
        chunk = b"stop" + b"x" * ((1 << 20) - 4)
        for _ in range(size >> 20):
            p.stdin.write(chunk)
            chunk = b"x" * (1 << 20)
        p.stdin.flush()
        # All but what the pipe holds has been read by now.  VmHWM is this
        # exec's own peak (wait4's ru_maxrss would count pytest's memory
        # from before the exec too).
        with open("/proc/%d/status" % p.pid) as f:
            hwm_kib = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
        assert hwm_kib * 1024 < size // 4, "peak RSS %d KiB" % hwm_kib
        p.stdin.close()
        assert p.wait(60) == 1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = (tmp_path / "err").read_bytes().decode()
    assert err == ("qmig: line 1: line too long (%d bytes, at most %d), nothing run: 'stop%s'...\n"
                   % (size, MAX_LINE, "x" * 44))
    assert (tmp_path / "out").read_bytes() == b""


def test_last_script_line_without_newline_still_runs():
    r = run_piped("stop\ninfo status")
    assert (r.stdout, r.stderr, r.returncode) == ("VM status: paused\n", "", 0)
    r = run_piped("info status\nstop\0")
    assert r.stdout == "VM status: running\n"
    assert r.stderr == "qmig: line 2: NUL byte in line (at offset 4), nothing run: 'stop\\x00'\n"
    assert r.returncode == 1


def test_expression_overflow_wraps_instead_of_killing_qmig(tmp_path):
    """Found with fuzz_hmp_line's seeds: INT64_MIN / -1 (and % -1) trapped, so one
    monitor line killed qmig with SIGFPE (QEMU 7.2 dies the same way).
    Now the expression wraps, as + - * always did; -INT64_MIN too."""
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        for i, expr in enumerate(["0x8000000000000000/-1 - 0x8000000000000000",
                                  "0x8000000000000000%-1",
                                  "-0x8000000000000000 + 0x8000000000000000",
                                  "-(-0x8000000000000000) - 0x8000000000000000"]):
            out = tmp_path / ("page%d.bin" % i)
            assert s.hmp("pmemsave %s 4096 %s" % (expr, out)) == "", expr
            assert out.stat().st_size == 4096
        assert s.hmp("info status") == "VM status: running\n"
        assert q.proc.poll() is None
    finally:
        q.close()
