"""qmig beside a real QEMU 7.2 on the edges of issue 13: the same input
to both, the same answer expected (skipped without QEMU, as the interop
tests)."""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

from harness import QEMU_FIXTURES as FIXTURES
from harness import Qmig, QMPClient, free_port, poll, qemu_member_order, scaled


def same_answers(qmig, qemu, lines):
    for line in lines:
        assert qmig.hmp(line) == qemu.hmp(line), line


@pytest.mark.parametrize("line", [
    "info status extra",
    "info migrate_parameters x",
    "info name 1",
])
def test_info_subcommand_errors_point_to_help_info(spawn, spawn_qemu, line):
    """The parser's `Try "help ..."` line of an info sub-command names
    `help info SUB`, which is a command that answers."""
    qmig = spawn(["-m", "16M"])
    qemu = spawn_qemu()
    out = qmig.hmp(line)
    assert out == qemu.hmp(line)
    assert out.endswith('Try "help info %s" for more information\n' % line.split()[1])
    help_line = out.splitlines()[1].split('"')[1]
    assert qmig.hmp(help_line).startswith("info %s " % line.split()[1])


def migrated_pair(spawn, spawn_qemu, tmp_path, fixture_image):
    """A QEMU 7.2 whose RAM is a fixture image, migrated into a qmig:
    two machines with the same 16 MiB of non-zero RAM."""
    ram = tmp_path / "qemu-ram.img"
    shutil.copyfile(fixture_image("plain"), ram)
    qemu = spawn_qemu(name="qsrc", ram_mib=16, ram_file=ram)
    port = free_port()
    qmig = spawn(["-m", "16M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst")
    assert qemu.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60) == ""
    assert qemu.migration_status() == "completed", qemu.info_migrate()
    qmig.wait_status("completed", 30)
    return qmig, qemu


# The same lines in the same order on both, since a format or size left
# out is the last one given: the dumps cover every format and size, counts
# over a line, the end of RAM, and the parser's errors.
MEMORY_LINES = [
    "xp 0", "xp /4x 0x1000", "xp /8b 0x2000", "xp /3 0x2001", "xp /2h 0x3000",
    "xp /2g 0x1010", "xp /5wx 0x4000", "xp /6d 0x5000", "xp /3u 0x5000",
    "xp /4o 0x5000", "xp /4go 0x5000", "xp /2gd 0x5000", "xp /2hd 0x1000",
    "xp /16c 0xfffff0", "xp /20c 0x1000", "xp /2c 0x5000", "xp /1bc 0x1000",
    "xp /40x 0x1000", "xp /0x 0",
    "xp /4x 0xfffff8", "xp /2x 0xfffff8", "xp /x 0x1000000", "xp /2x -8",
    "xp /3i 0", "xp 0x100", "xp /x 0x100", "xp /s 0", "xp /-1x 0", "xp", "xp /4x",
    "xp 0 1", "xp 0x 1",
    "sum 0 4096", "sum 0x1000 0x10000", "sum 0xfffff0 0x20", "sum 0xfffff0 0x19",
    "sum 0x1000000 16",
    "sum 0xffffffff 2", "sum 0x80000000 1", "sum -1 2", "sum 0", "sum",
    "memsave 0 4096 m.bin", "memsave 0 1", "memsave", "memsave 0 0x100000000 m.bin",
    "system_reset 1", "info version 1", "info ramblock", "info ramblock x",
]


def test_memory_commands_as_qemu(spawn, spawn_qemu, tmp_path, fixture_image):
    qmig, qemu = migrated_pair(spawn, spawn_qemu, tmp_path, fixture_image)
    assert "0x00000000 0x00000000 0x00000000 0x00000000" not in qemu.hmp("xp /4x 0x1000"), \
        "the fixture's RAM should not be zero there"
    for line in MEMORY_LINES:
        assert qmig.hmp(line) == qemu.hmp(line), line


def test_info_history_as_qemu(spawn, spawn_qemu):
    qmig = spawn(["-m", "16M"])
    qemu = spawn_qemu()
    lines = ["info status", "info name", "  info status", "info status",
             "info nosuch", "help info history"]
    for line in lines:
        qmig.hmp(line)
        qemu.hmp(line)
    out = qmig.hmp("info history")
    assert out == qemu.hmp("info history")
    # a repeated line moves to the end; the asking line is in it
    assert out.splitlines()[-2:] == ["4: 'help info history'", "5: 'info history'"]
    # 64 lines at most, the oldest dropped
    for i in range(70):
        qmig.hmp("info name %d" % i)
        qemu.hmp("info name %d" % i)
    out = qmig.hmp("info history")
    assert out == qemu.hmp("info history")
    assert len(out.splitlines()) == 64


def test_system_reset_as_qemu(spawn, spawn_qemu, tmp_path):
    qmp_path = str(tmp_path / "qmig.qmp")
    qmig = spawn(["-m", "16M", "-qmp", "unix:%s,server=on,wait=off" % qmp_path])
    qemu = spawn_qemu()
    q = QMPClient(qmp_path)
    q.ok("qmp_capabilities")
    for side in (qmig, qemu):
        assert side.hmp("system_reset") == ""
        assert side.vm_status() == "running"
        assert side.hmp("stop") == ""
        assert side.hmp("system_reset") == ""
        assert side.vm_status() == "paused (prelaunch)"
        assert side.hmp("cont") == ""
        assert side.vm_status() == "running"
    ev = q.wait_event("RESET")
    assert ev["data"] == {"guest": False, "reason": "host-qmp-system-reset"}
    q.close()


def test_info_version_and_chardev(spawn, qmig_bin, tmp_path):
    """`info chardev` names the port a `-monitor tcp:...:0` got, and that
    port is a monitor."""
    qmp_path = str(tmp_path / "q.qmp")
    qmig = spawn(["-m", "16M", "-monitor", "tcp:127.0.0.1:0,server=on,wait=off",
                  "-qmp", "unix:%s,server=on,wait=off" % qmp_path])
    out = qmig.hmp("info chardev")
    # numbered in command-line order (the harness's socket comes last)
    m = re.search(r"^compat_monitor0: filename=tcp:127\.0\.0\.1:(\d+),server=on$", out, re.M)
    assert m and m.group(1) != "0", out
    assert "compat_monitor1: filename=unix:%s,server=on\n" % qmp_path in out
    assert "compat_monitor2: filename=unix:%s,server=on\n" % qmig.monitor_addrs[0] in out
    with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=10) as s:
        banner = b""
        while not banner.endswith(b"(qmig) "):
            chunk = s.recv(4096)
            assert chunk, banner
            banner += chunk
    q = QMPClient(qmp_path)
    q.ok("qmp_capabilities")
    v = q.ok("query-version")
    assert qmig.hmp("info version") == "%d.%d.%d%s\n" % (
        v["qemu"]["major"], v["qemu"]["minor"], v["qemu"]["micro"], v["package"])
    # query-chardev lists the same devices
    assert sorted("%s: filename=%s" % (c["label"], c["filename"])
                  for c in q.ok("query-chardev")) == sorted(out.splitlines())
    q.close()


BAD_URIS = ["tcp:127.0.0.1", "tcp:localhost:", "tcp::", "tcp:[::1]", "unix:", "unix",
            "nosuch:x"]


@pytest.mark.parametrize("uri", BAD_URIS)
def test_bad_uri_fails_the_migration_as_qemu(spawn, spawn_qemu, uri):
    """A URI that does not parse is this line's error and a failed
    migration that `info migrate` shows, with the error as QEMU words it
    (none for an unknown scheme)."""
    qmig = spawn(["-m", "16M"])
    qemu = spawn_qemu()
    out = qemu.hmp("migrate " + uri)
    assert out.startswith("Error: ")
    assert qmig.hmp("migrate " + uri) == out
    assert qmig.info_migrate() == qemu.info_migrate()
    assert qmig.migration_status().startswith("failed")


def test_bad_uri_events_as_qemu(spawn, spawn_qemu, tmp_path):
    """QMP: the error, `setup` then `failed` events, and query-migrate."""
    paths = {"qmig": str(tmp_path / "qmig.qmp"), "qemu": "qemu.qmp"}
    spawn(["-m", "16M", "-qmp", "unix:%s,server=on,wait=off" % paths["qmig"]])
    spawn_qemu(extra=["-qmp", "unix:qemu.qmp,server=on,wait=off"])
    seen = {}
    for who, path in (("qmig", paths["qmig"]), ("qemu", str(tmp_path / paths["qemu"]))):
        q = QMPClient(path)
        q.ok("qmp_capabilities")
        q.ok("migrate-set-capabilities",
             {"capabilities": [{"capability": "events", "state": True}]})
        got = []
        for uri in ("tcp:127.0.0.1", "unix:", "bogus", "fd:nosuch"):
            got.append(q.err("migrate", {"uri": uri}))
            got.append(q.wait_event("MIGRATION", {"status": "setup"})["data"])
            got.append(q.wait_event("MIGRATION", {"status": "failed"})["data"])
            got.append(q.ok("query-migrate"))
        seen[who] = got
        q.close()
    assert seen["qmig"] == seen["qemu"]


def plain_stream_cuts():
    """Where to cut QEMU's own stream: inside every field of the header,
    the configuration, the ram START section (block list, footer), a PART
    section's id and records, the timer and globalstate sections (each
    field, the footer's byte and id) and before EOF."""
    with open(os.path.join(FIXTURES, "plain.stream"), "rb") as f:
        data = f.read()
    t = data.index(b"\x04\x00\x00\x00\x00\x05timer")
    g = data.index(b"\x04\x00\x00\x00\x04\x0bglobalstate")
    head = [2, 4, 6, 8, 9, 12, 13, 16, 17, 18, 20, 22, 25, 26, 30, 32, 34, 40, 42, 44,
            46, 50, 51, 54, 58, 62, 63, 65, 67, 68, 70, 72, 80, 1000]
    tail = [t, t + 2, t + 6, t + 12, t + 20, t + 28, t + 36, t + 42, t + 44,
            g + 26, g + 40, g + 129, g + 131, g + 134]
    return data, head + tail


STREAM, CUTS = plain_stream_cuts()


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_streams_as_qemu(spawn, spawn_qemu, tmp_path, cut):
    """QEMU 7.2 reads past the end of a stream as zeros and looks at the
    file only at some points, so a cut stream gets a message that depends
    on where it was cut; a qmig destination prints the same lines (with
    its own prefix) and exits 1.  (An empty stream is left out: over
    exec: QEMU waits in inmigrate for ever; see docs/usage.md.)"""
    with open(tmp_path / "cut.stream", "wb") as f:
        f.write(STREAM[:cut])
    ram = tmp_path / "ram.img"
    with open(ram, "wb") as f:
        f.truncate(16 << 20)
    q = spawn_qemu(ram_file=ram, incoming="exec:cat cut.stream", connect=False)
    assert q.wait_exit(30) == 1
    want = q.stderr().replace("qemu-system-x86_64: ", "qmig: ")
    d = spawn(["-m", "16M", "-incoming", "exec:cat cut.stream"], connect=False)
    assert d.wait_exit(30) == 1
    assert d.stderr() == want


def test_empty_stream_as_qemu(spawn, spawn_qemu, tmp_path):
    """A source that connects and sends nothing: QEMU 7.2 over tcp: says
    `Not a migration stream`; so does qmig, on every transport."""
    errs = []
    for who in ("qemu", "qmig"):
        port = free_port()
        uri = "tcp:127.0.0.1:%d" % port
        if who == "qemu":
            ram = tmp_path / "ram.img"
            with open(ram, "wb") as f:
                f.truncate(16 << 20)
            p = spawn_qemu(ram_file=ram, incoming=uri)
        else:
            p = spawn(["-m", "16M", "-incoming", uri])
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        assert p.wait_exit(30) == 1
        errs.append(p.stderr().replace("qemu-system-x86_64: ", "qmig: "))
    assert errs[0] == errs[1] == ("qmig: Not a migration stream\n"
                                  "qmig: load of migration failed: Invalid argument\n")


def zero_ram(tmp_path, name="ram.img", mib=16):
    path = tmp_path / name
    with open(path, "wb") as f:
        f.truncate(mib << 20)
    return path


def destination(who, spawn, spawn_qemu, tmp_path, extra=()):
    """A destination waiting with -incoming defer and a QMP socket: (the
    process, its negotiated QMP client)."""
    if who == "qemu":
        p = spawn_qemu(name="qdst", ram_file=zero_ram(tmp_path, "qdst.img"), incoming="defer",
                       extra=["-qmp", "unix:qdst.qmp,server=on,wait=off"] + list(extra))
        path = str(tmp_path / "qdst.qmp")
    else:
        path = str(tmp_path / "dst.qmp")
        p = spawn(["-m", "16M", "-incoming", "defer", "-qmp",
                   "unix:%s,server=on,wait=off" % path] + list(extra), name="dst")
    q = QMPClient(path)
    q.ok("qmp_capabilities")
    return p, q


def event_words(q, until):
    """The events so far, as words ("MIGRATION setup", "RESUME"), up to
    and with the first one in until."""
    words = []
    while True:
        if not q.events:
            q.sock.settimeout(q.timeout)
            msg = q.read_message()
            assert "event" in msg, msg
            q.events.append(msg)
        ev = q.events.pop(0)
        w = ev["event"]
        if w == "MIGRATION":
            w += " " + ev["data"]["status"]
        words.append(w)
        if w in until:
            return words


@pytest.mark.parametrize("events", [False, True], ids=["no-events-cap", "events-cap"])
def test_destination_events_as_qemu(spawn, spawn_qemu, tmp_path, events):
    """An auto-starting destination: QEMU 7.2 announces `setup` on
    migrate-incoming even without the events capability, and sends RESUME
    before `completed`."""
    seen = {}
    for who in ("qemu", "qmig"):
        p, q = destination(who, spawn, spawn_qemu, tmp_path)
        if events:
            q.ok("migrate-set-capabilities",
                 {"capabilities": [{"capability": "events", "state": True}]})
        port = free_port()
        q.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:%d" % port})
        src = spawn(["-m", "16M"], name="src-" + who)
        assert src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60) == ""
        assert src.migration_status() == "completed"
        seen[who] = event_words(q, {"MIGRATION completed", "RESUME"} if events else {"RESUME"})
        if events and seen[who][-1] != "MIGRATION completed":
            seen[who] += event_words(q, {"MIGRATION completed"})
        q.close()
        p.close()
    assert seen["qmig"] == seen["qemu"]
    want = ["MIGRATION setup", "MIGRATION active", "RESUME", "MIGRATION completed"]
    assert seen["qmig"] == (want if events else ["MIGRATION setup", "RESUME"])


@pytest.mark.parametrize("pair", ["qemu-qemu", "qmig-qemu", "qemu-qmig", "qmig-qmig"])
def test_prelaunch_source_destination_ends_prelaunch(spawn, spawn_qemu, tmp_path, pair):
    """A source started with -S (never run) sends `prelaunch` in its
    globalstate, and its destination ends `paused (prelaunch)`, as QEMU
    7.2 to QEMU 7.2."""
    s_who, d_who = pair.split("-")
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    if d_who == "qemu":
        dst = spawn_qemu(name="qdst", ram_file=zero_ram(tmp_path, "qdst.img"), incoming=uri)
    else:
        dst = spawn(["-m", "16M", "-incoming", uri], name="dst")
    if s_who == "qemu":
        src = spawn_qemu(name="qsrc", ram_file=zero_ram(tmp_path, "qsrc.img"), extra=["-S"])
    else:
        src = spawn(["-m", "16M", "-S"], name="src")
    assert src.vm_status() == "paused (prelaunch)"
    assert src.hmp("migrate " + uri, timeout=60) == ""
    assert src.migration_status() == "completed", src.info_migrate()
    dst.wait_status("completed", 30)
    assert dst.vm_status() == "paused (prelaunch)"


def test_downtime_bytes_as_qemu(spawn, spawn_qemu, tmp_path):
    """An idle guest: nothing is left for the switch-over, and QEMU 7.2's
    source reports downtime-bytes 0 and no `downtime ram` line; the
    members of query-migrate come in QEMU's order."""
    got, order = {}, {}
    for who in ("qemu", "qmig"):
        port = free_port()
        dst = spawn(["-m", "16M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst-" + who)
        path = str(tmp_path / ("%s-src.qmp" % who))
        if who == "qemu":
            src = spawn_qemu(name="qsrc", ram_file=zero_ram(tmp_path, "qsrc.img"),
                             extra=["-qmp", "unix:%s,server=on,wait=off" % path])
        else:
            src = spawn(["-m", "16M", "-qmp", "unix:%s,server=on,wait=off" % path], name="src")
        assert src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60) == ""
        assert src.migration_status() == "completed"
        q = QMPClient(path)
        q.ok("qmp_capabilities")
        r = q.ok("query-migrate")
        got[who] = (r["ram"]["downtime-bytes"], "downtime ram:" in src.info_migrate())
        order[who] = (list(r), list(r["ram"]))
        q.close()
        dst.close()
    assert got["qmig"] == got["qemu"] == (0, False)
    assert order["qmig"] == order["qemu"]
    # the hash model that test_convergence uses for what -M none never shows
    assert all(names == qemu_member_order(names) for names in order["qemu"])


MEM_ARGS = ["4k", "12k", "5k", "2049k", "1k", "1b", "16385b", "1.5k", "0.5M", "1.5M", "1",
            "16", "8191", "16M", "16m", "4097M", "128M,maxmem=256M",
            "size=64M,slots=2,maxmem=1G", "64M,maxmem=64M", "64M,slots=0,maxmem=1G",
            "16M,size=32M", "0.5", "1e3", "-1", "abc", "16MB", "size=", "16E", "17E",
            "100000000000000000000", "16M,foo=1", "64M,slots=2", "64M,maxmem=32M",
            "1G,maxmem=1G,slots=1", "64M,slots=x,maxmem=1G", "64M,maxmem=1x", "1T", "15E"]


def qemu_ram(qemu_bin, tmp_path, arg):
    r = subprocess.run([qemu_bin, "-M", "none", "-m", arg, "-display", "none", "-nodefaults",
                        "-monitor", "stdio"], input="info memory_size_summary\nquit\n",
                       capture_output=True, text=True, timeout=scaled(60), cwd=str(tmp_path))
    m = re.search(r"base memory: (\d+)", r.stdout)
    return (int(m.group(1)) if m else None), r.returncode, \
        r.stderr.replace("qemu-system-x86_64: ", "qmig: ")


def qmig_ram(qmig_bin, tmp_path, arg):
    r = subprocess.run([qmig_bin, "-m", arg, "-monitor", "stdio"], input="info ramblock\n",
                       capture_output=True, text=True, timeout=scaled(60), cwd=str(tmp_path))
    m = re.search(r"^ +ram +4 KiB +0x0+ 0x([0-9a-f]+) ", r.stdout, re.M)
    return (int(m.group(1), 16) if m else None), r.returncode, r.stderr


@pytest.mark.parametrize("arg", MEM_ARGS)
def test_memory_option_as_qemu(qemu_bin, qmig_bin, tmp_path, arg):
    """-m: the same size (rounded up to 8 KiB, MiB without a suffix) or
    the same refusal, line for line, as QEMU 7.2 -M none."""
    q_size, q_rc, q_err = qemu_ram(qemu_bin, tmp_path, arg)
    m_size, m_rc, m_err = qmig_ram(qmig_bin, tmp_path, arg)
    if q_size is None:
        assert q_rc == 1 and m_rc == 1 and m_size is None
        assert m_err == q_err
    else:
        assert m_size == q_size, (m_err, q_err)
        assert m_rc == 0 and m_err == ""


@pytest.mark.parametrize("arg", ["0", "", "maxmem=1G"])
def test_memory_option_without_ram(qemu_bin, qmig_bin, tmp_path, arg):
    """QEMU 7.2 -M none runs without RAM then; qmig, whose machine is its
    RAM, refuses (docs/usage.md)."""
    assert qemu_ram(qemu_bin, tmp_path, arg)[0] == 0
    size, rc, err = qmig_ram(qmig_bin, tmp_path, arg)
    assert (size, rc) == (None, 1)
    assert err == "qmig: -m %s: qmig needs some RAM: a machine without a RAM block is not supported\n" % arg


TIMER_HEAD = b"\x04\x00\x00\x00\x00\x05timer\x00\x00\x00\x00\x00\x00\x00\x02"


def timer_section(path):
    """(cpu_ticks_offset, cpu_clock_offset) of a saved stream."""
    with open(path, "rb") as f:
        data = f.read()
    i = data.rindex(TIMER_HEAD) + len(TIMER_HEAD)
    ticks, unused, clock = struct.unpack(">qqq", data[i:i + 24])
    assert unused == 0
    return ticks, clock


def save(side, name):
    """migrate to a file (in the side's cwd); returns its timer values."""
    assert side.hmp('migrate "exec:cat > %s"' % name, timeout=60) == ""
    side.wait_status("completed", 60)
    return timer_section(os.path.join(side.workdir, name))


def test_guest_clock_goes_on_through_qmig_and_qemu(spawn, spawn_qemu, tmp_path):
    """The timer section carries the guest's time, which runs only while
    the guest runs: QEMU 7.2 -> qmig -> QEMU 7.2, each running a while, and
    each hop's clock is the last one's plus (at least) the time it ran
    and (at most) the time it lived."""
    q1 = spawn_qemu(name="q1", ram_file=zero_ram(tmp_path, "q1.img"))
    assert q1.vm_status() == "running"
    t1, c1 = save(q1, "s1.stream")
    assert c1 > 0 and t1 > 0

    born = time.monotonic()
    d = spawn(["-m", "16M", "-incoming", "exec:cat s1.stream"], name="d")
    d.wait_status("completed", 30)
    d.wait_vm_status("running")
    ran_from = time.monotonic()
    time.sleep(0.3)  # any time: the bounds below are measured
    ran_to = time.monotonic()
    t2, c2 = save(d, "s2.stream")
    lived = time.monotonic() - born
    assert c1 + (ran_to - ran_from) * 1e9 <= c2 <= c1 + lived * 1e9, (c1, c2)
    assert t2 >= t1  # the host's TSC, as QEMU's ticks

    born = time.monotonic()
    q2 = spawn_qemu(name="q2", ram_file=zero_ram(tmp_path, "q2.img"),
                    incoming="exec:cat s2.stream")
    q2.wait_vm_status("running")
    ran_from = time.monotonic()
    time.sleep(0.3)
    ran_to = time.monotonic()
    t3, c3 = save(q2, "s3.stream")
    lived = time.monotonic() - born
    assert c2 + (ran_to - ran_from) * 1e9 <= c3 <= c2 + lived * 1e9, (c2, c3)
    assert t3 >= t2


def test_guest_clock_stops_while_the_guest_is_stopped(spawn, tmp_path):
    """Started paused (-S), run a while, stopped a while: the clock counts
    only the running time, as QEMU's."""
    q = spawn(["-m", "16M", "-S"], name="q")
    time.sleep(0.2)  # stopped: does not count
    before = time.monotonic()
    assert q.hmp("cont") == ""
    ran_from = time.monotonic()
    time.sleep(0.3)
    ran_to = time.monotonic()
    assert q.hmp("stop") == ""
    after = time.monotonic()
    time.sleep(0.5)  # stopped again: does not count
    ticks, clock = save(q, "s.stream")
    assert (ran_to - ran_from) * 1e9 <= clock <= (after - before) * 1e9, clock
    assert ticks > 0


def wait_line_then_connect(argv, cwd, prompt):
    """Starts argv, whose -monitor waits for a client (server=on, QEMU's
    default wait=on): reads the stderr line that says where, connects
    there, reads up to the prompt.  Returns (the line, what came)."""
    p = subprocess.Popen(argv, cwd=str(cwd), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = p.stderr.readline().decode()
        port = int(re.search(r"disconnected:tcp:127\.0\.0\.1:(\d+),server=on$", line.strip())
                   .group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=scaled(15)) as s:
            got = b""
            while prompt not in got:
                chunk = s.recv(4096)
                assert chunk, got
                got += chunk
        return line, got
    finally:
        p.kill()
        p.wait()


def test_waiting_monitor_says_where_as_qemu(qemu_bin, qmig_bin, tmp_path):
    """`-monitor tcp:127.0.0.1:0,server=on` waits for its first client,
    and says where on stderr, in QEMU 7.2's words: a script learns the
    port from that line."""
    spec = "tcp:127.0.0.1:0,server=on"
    q_line, q_got = wait_line_then_connect(
        [qemu_bin, "-M", "none", "-display", "none", "-nodefaults", "-monitor", spec],
        tmp_path, b"(qemu) ")
    m_line, m_got = wait_line_then_connect(
        [qmig_bin, "-m", "16M", "-monitor", spec], tmp_path, b"(qmig) ")
    port = re.compile(r":\d+,server=on$")
    assert port.sub(":PORT,server=on", m_line.strip()) == \
        port.sub(":PORT,server=on", q_line.strip().replace("qemu-system-x86_64: ", "qmig: "))
    assert b"monitor - type 'help' for more information" in m_got


def test_waiting_qmp_socket(qmig_bin, tmp_path):
    """The same for -qmp unix:PATH,server=on: the line names the socket,
    the first client gets the greeting."""
    path = str(tmp_path / "w.qmp")
    p = subprocess.Popen([qmig_bin, "-m", "16M", "-qmp", "unix:%s,server=on" % path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        line = p.stderr.readline().decode()
        assert line == ("qmig: -qmp unix:%s,server=on: info: QEMU waiting for connection on: "
                        "disconnected:unix:%s,server=on\n" % (path, path))
        q = QMPClient(path)
        assert q.greeting["QMP"]["version"]["qemu"]["major"] == 7
        q.close()
    finally:
        p.kill()
        p.wait()


def dirty_rate_answers(q):
    """query-dirty-rate through one measurement, and calc-dirty-rate's
    errors: each answer as its member names in order (QEMU's order is its
    QDict's, not the schema's), the unstarted one whole."""
    q.ok("qmp_capabilities")
    got = [list(q.ok("query-dirty-rate").items())]
    got.append(q.err("calc-dirty-rate", {"calc-time": 0}))
    got.append(q.err("calc-dirty-rate", {"calc-time": 1, "sample-pages": 5}))
    # Not compared: a second calc-dirty-rate at once.  QEMU 7.2 marks the
    # measurement running from its thread, so it may take a second one;
    # qmig refuses it (test_dirty_rate.py).
    assert q.ok("calc-dirty-rate", {"calc-time": 1}) == {}
    got.append(list(q.ok("query-dirty-rate")))

    def measured():
        r = q.ok("query-dirty-rate")
        return r if r["status"] == "measured" else None
    r = poll(measured, scaled(30), 0.1, "the measurement")
    got.append(list(r))
    got.append((r["sample-pages"], r["calc-time"], r["mode"]))
    return got


def test_query_dirty_rate_as_qemu(spawn, spawn_qemu, tmp_path):
    """Page sampling, the one mode QEMU 7.2 -M none can run (it crashes
    on dirty-bitmap and dirty-ring without vCPUs)."""
    qmig_path = str(tmp_path / "qmig.qmp")
    spawn(["-m", "128M", "-qmp", "unix:%s,server=on,wait=off" % qmig_path])
    spawn_qemu(ram_mib=128, extra=["-qmp", "unix:qemu.qmp,server=on,wait=off"])
    seen = {}
    for who, path in (("qmig", qmig_path), ("qemu", str(tmp_path / "qemu.qmp"))):
        q = QMPClient(path)
        seen[who] = dirty_rate_answers(q)
        q.close()
    assert seen["qmig"] == seen["qemu"]
    # the hash model that test_convergence uses for what -M none never shows
    for names in (seen["qemu"][3], seen["qemu"][4]):
        assert names == qemu_member_order(names)
    assert [k for k, _ in seen["qemu"][0]] == qemu_member_order([k for k, _ in seen["qemu"][0]])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_host_signal_ends_as_qemu(spawn, spawn_qemu, tmp_path, sig):
    """kill(1) and libvirt's destroy: the line on stderr naming the sender,
    SHUTDOWN host-signal to the QMP client, exit status 0."""
    qmig_path = str(tmp_path / "qmig.qmp")
    procs = {"qmig": (spawn(["-m", "16M", "-qmp", "unix:%s,server=on,wait=off" % qmig_path]),
                      qmig_path),
             "qemu": (spawn_qemu(extra=["-qmp", "unix:qemu.qmp,server=on,wait=off"]),
                      str(tmp_path / "qemu.qmp"))}
    seen = {}
    for who, (proc, path) in procs.items():
        q = QMPClient(path)
        q.ok("qmp_capabilities")
        proc.killed_on_purpose = True
        os.kill(proc.pid, sig)
        event = q.wait_event("SHUTDOWN")["data"]
        q.close()
        rc = proc.wait_exit()
        last = proc.stderr().splitlines()[-1]
        seen[who] = (event, rc, last.split(": ", 1)[1])
    assert seen["qmig"] == seen["qemu"]
    assert seen["qmig"] == ({"guest": False, "reason": "host-signal"}, 0,
                           "terminating on signal %d from pid %d (%s)"
                           % (sig, os.getpid(), open("/proc/self/cmdline").read().split("\0")[0]))


def test_monitor_numbering_as_qemu(spawn_qemu, qmig_bin, tmp_path):
    """compat_monitorN counts -monitor and -qmp together in command-line
    order, -monitor none not counted (the harness's own HMP socket comes
    first in both).  QEMU lists them in a hash order and says
    `disconnected:` of a socket without a client; qmig lists them in
    start-up order and never says it (docs/usage.md)."""
    def opts(p):
        return ["-monitor", "unix:%s-a.sock,server=on,wait=off" % p,
                "-monitor", "none",
                "-qmp", "unix:%s-b.sock,server=on,wait=off" % p,
                "-monitor", "unix:%s-c.sock,server=on,wait=off" % p,
                "-qmp", "unix:%s-d.sock,server=on,wait=off" % p]
    spawn_qemu(extra=opts("qemu"))
    Qmig(qmig_bin, tmp_path, ["-m", "16M", "-monitor", "unix:qmig.hmp,server=on,wait=off"]
         + opts("qmig"), name="qmig", connect=False, monitors=())
    seen = {}
    for who in ("qemu", "qmig"):
        q = QMPClient(str(tmp_path / ("%s-b.sock" % who)))
        q.ok("qmp_capabilities")
        # A monitor answers only once every monitor listens (QEMU's run
        # once its main loop does): the last one takes a client at once.
        devices = q.ok("query-chardev")
        assert len(devices) == 5, devices
        last = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        last.connect(str(tmp_path / ("%s-d.sock" % who)))  # no retry
        last.close()
        seen[who] = sorted((c["label"], c["filename"].replace("disconnected:", "")
                            .replace(who, "WHO"))
                           for c in devices)
        q.close()
    assert seen["qmig"] == seen["qemu"]
    assert [label for label, _ in seen["qmig"]] == ["compat_monitor%d" % i for i in range(5)]


def _command(cmd, payload=b"", length=None):
    return b"\x08" + struct.pack(">HH", cmd, len(payload) if length is None
                                 else length) + payload


# Each after the header and configuration, then an EOF byte.  The postcopy
# ones are what a QEMU 7.2 source with postcopy-ram (or another postcopy
# user) sends before or without a switch to postcopy.
COMMANDS = {
    "invalid-0": _command(0),
    "unknown-11": _command(11),
    "unknown-0x1234": _command(0x1234, length=5),
    "open-return-path-len-3": _command(1, b"abc"),
    "ping-len-2": _command(2, b"ab"),
    "advise-empty": _command(3),
    "advise-ram": _command(3, struct.pack(">QQ", 4096, 4096)),
    "advise-len-8": _command(3, struct.pack(">Q", 4096)),
    "advise-twice": _command(3) + _command(3),
    "listen": _command(4),
    "listen-len-3": _command(4, b"abc"),
    "run": _command(5),
    "discard": _command(6, b"\x00\x03ram" + struct.pack(">QQ", 0, 4096)),
    "packaged-empty": _command(7, struct.pack(">I", 0)),
    "packaged-eof": _command(7, struct.pack(">I", 1)) + b"\x00",
    "packaged-run": _command(7, struct.pack(">I", 6)) + _command(5) + b"\x00",
    "packaged-cut": _command(7, struct.pack(">I", 100)),
    "resume": _command(9),
    "recv-bitmap": _command(10, b"\x03ram"),
    "recv-bitmap-bad-len": _command(10, b"\x03ram", length=7),
    "recv-bitmap-no-block": _command(10, b"\x03rom"),
}
HEADER = bytes.fromhex("5145564d00000003") + b"\x07" + struct.pack(">I", 4) + b"none"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_commands_as_qemu(spawn, spawn_qemu, tmp_path, name):
    """Every COMMAND number QEMU 7.2 knows, at a precopy destination
    (qmig takes no postcopy): the same lines on stderr, the same end.
    QEMU refuses or takes each as its state allows: a 16-byte advise
    without postcopy-ram is refused, the empty one taken; RESUME and
    RECV_BITMAP outside a postcopy recovery are said and passed over."""
    with open(tmp_path / "cmd.stream", "wb") as f:
        f.write(HEADER + COMMANDS[name] + b"\x00")
    ram = tmp_path / "ram.img"
    with open(ram, "wb") as f:
        f.truncate(16 << 20)
    said = {}
    for who in ("qemu", "qmig"):
        if who == "qemu":
            p = spawn_qemu(ram_file=ram, incoming="exec:cat cmd.stream",
                           connect=False)
        else:
            p = spawn(["-m", "16M", "-incoming", "exec:cat cmd.stream"],
                      name="dst", connect=False)
        # a load that goes on ends with the missing vmdescription's line
        end = poll(lambda: (p.proc.poll() is not None and "exit") or
                   ("vmdescription" in p.stderr() and "loaded"), 30, 0.02,
                   "%s to end the load" % who)
        if end == "exit":
            assert p.wait_exit(5) == 1
        said[who] = (end, p.stderr().replace("qemu-system-x86_64: ", "qmig: "))
    assert said["qmig"] == said["qemu"]
