"""The monitor on a terminal (tmux): readline prompt, TAB completion,
history in $HOME/.qmig_history, and the progress display of a blocking
`migrate`, which Ctrl-C cancels."""

import array
import fcntl
import os
import re
import termios
import time

import pytest

from harness import Qmig, Tmux, free_port, have_tmux, poll, qmig_bin, scaled
from harness.timing import sanitizer

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)  # Linux
PROGRESS = re.compile(r"^active: pass (\d+), sent (\d+) of 65536 KiB, remaining (\d+) KiB, "
                      r"[0-9.]+ mbps, expected downtime \d+ ms \(Ctrl-C cancels\)$")


@pytest.fixture
def term(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    terms = []

    def start(*args, width=200):
        # The shell line shows qmig's exit status on the screen at the end
        # (bash, unlike dash, survives a Ctrl-C that its child handles).
        cmd = " ".join([qmig_bin(), "-m", "64M"] + list(args))
        t = Tmux(tmp_path, ["bash", "-c", cmd + '; echo "exit status $?"'],
                 {"HOME": str(home), "TERM": "xterm", "PATH": "/usr/bin:/bin"},
                 width=width)
        terms.append(t)
        # capture-pane drops trailing blanks: the prompt shows as "(qmig)".
        t.wait_screen(lambda s: re.search(r"^\(qmig\)", s, re.M), what="the prompt")
        return t
    start.home = home
    yield start
    for t in terms:
        t.kill()


def test_completion_and_history(term):
    t = term()
    assert "qmig " in t.screen() and "monitor - type 'help' for more information" in t.screen()
    t.type("migrate_set_cap")
    t.keys("Tab")
    t.wait_screen(lambda s: "(qmig) migrate_set_capability" in s, what="command completion")
    t.type("xb")
    t.keys("Tab")
    t.wait_screen(lambda s: "(qmig) migrate_set_capability xbzrle" in s,
                  what="capability completion")
    t.type("o")
    t.keys("Tab", "Tab")  # ambiguous: the second TAB lists both
    t.wait_screen(lambda s: re.search(r"^off\s+on\s*$", s, re.M), what="on/off listed")
    t.type("n")
    t.keys("Enter")
    t.wait_prompt()
    t.type("info migrate_c")
    t.keys("Tab")
    t.wait_screen(lambda s: "(qmig) info migrate_capabilities" in s,
                  what="info sub-command completion")
    t.keys("Enter")
    t.wait_screen(lambda s: "xbzrle: on" in s, what="the capability on")
    t.wait_prompt()
    t.type("migrate_set_parameter max-b")
    t.keys("Tab")
    t.wait_screen(lambda s: "(qmig) migrate_set_parameter max-bandwidth" in s,
                  what="parameter completion")
    t.type("64m")
    t.keys("Enter")
    t.wait_prompt()
    # Up recalls the previous lines, newest first.
    t.keys("Up")
    t.wait_screen(lambda s: s.rstrip().endswith("(qmig) migrate_set_parameter max-bandwidth 64m"),
                  what="history: previous line")
    t.keys("Up")
    t.wait_screen(lambda s: s.rstrip().endswith("(qmig) info migrate_capabilities"),
                  what="history: the line before")
    t.keys("C-u")
    t.type("foo")
    t.keys("Enter")
    t.wait_screen(lambda s: "unknown command: 'foo'" in s, what="the error")
    t.wait_prompt()
    t.type("quit")
    t.keys("Enter")
    t.wait_screen(lambda s: "exit status 0" in s, what="qmig to exit")
    hist = (term.home / ".qmig_history").read_text().splitlines()
    assert [h.rstrip() for h in hist] == [
        "migrate_set_capability xbzrle on", "info migrate_capabilities",
        "migrate_set_parameter max-bandwidth 64m", "foo", "quit"]

    # A new session starts with that history.
    t2 = term()
    t2.wait_prompt()
    t2.keys("Up")
    t2.wait_screen(lambda s: s.rstrip().endswith("(qmig) quit"), what="saved history")
    t2.keys("Up")
    t2.wait_screen(lambda s: s.rstrip().endswith("(qmig) foo"), what="saved history")


def test_parameter_values_complete(term):
    """A boolean parameter's value completes to on/off as a capability's
    does, an enumeration's to its names (QEMU 7.2 completes neither)."""
    t = term()
    t.type("migrate_set_parameter compress-wait-")
    t.keys("Tab")
    # (capture-pane drops the space readline adds after a whole word)
    t.wait_screen(lambda s: "(qmig) migrate_set_parameter compress-wait-thread" in s,
                  what="parameter completion")
    t.type("o")
    t.keys("Tab", "Tab")
    t.wait_screen(lambda s: re.search(r"^off\s+on\s*$", s, re.M), what="on/off listed")
    t.type("f")
    t.keys("Tab", "Enter")
    t.wait_prompt()
    t.type("migrate_set_parameter multifd-compression zs")
    t.keys("Tab", "Enter")
    t.wait_prompt()
    t.type("info migrate_parameters")
    t.keys("Enter")
    screen = t.wait_screen(lambda s: "multifd-compression:" in s and s, what="the parameters")
    assert "(qmig) migrate_set_parameter compress-wait-thread off" in screen
    assert "(qmig) migrate_set_parameter multifd-compression zstd" in screen
    assert re.search(r"^compress-wait-thread: off$", screen, re.M), screen
    assert re.search(r"^multifd-compression: zstd$", screen, re.M), screen


def test_keys_typed_while_a_command_runs(term, tmp_path):
    """Keys typed while a command runs are not echoed by the terminal; they
    wait, and readline edits them at the next prompt.  The command here is
    a pmemsave into a FIFO that this test holds full, so it provably runs
    while the keys are typed."""
    t = term()
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        capacity = fcntl.fcntl(r, F_GETPIPE_SZ)
        t.type("pmemsave 0 %d %s" % (4 * capacity, fifo))
        t.keys("Enter")

        def queued():
            n = array.array("i", [0])
            fcntl.ioctl(r, termios.FIONREAD, n)
            return n[0]
        poll(lambda: queued() == capacity, what="pmemsave to fill the FIFO")
        # qmig is blocked in write(): the command is running
        t.keys("Up", "C-u")
        t.type("info status")
        t.keys("Enter")
        os.set_blocking(r, True)
        got = 0
        while True:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            got += len(chunk)
        assert got == 4 * capacity
    finally:
        os.close(r)
    screen = t.wait_screen(lambda s: "VM status: running" in s and s, what="the typed-ahead line")
    t.wait_prompt()
    lines = [l.rstrip() for l in t.screen().splitlines() if l.strip()]
    assert lines[-4:] == ["(qmig) pmemsave 0 %d %s" % (4 * capacity, fifo),
                          "(qmig) info status", "VM status: running", "(qmig)"], screen
    assert "^[" not in screen
    t.type("quit")
    t.keys("Enter")
    t.wait_screen(lambda s: "exit status 0" in s, what="qmig to exit")


def test_blocking_migrate_progress_then_statistics(term, tmp_path):
    port = free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst", connect=False)
    try:
        d = dst.session()
        t = term("-workload", "idle")
        # About 20 MB to send at 4 MiB/s: about 5 s, so that a busy
        # machine still samples the progress line often enough.
        t.type("migrate_set_parameter max-bandwidth 4m")
        t.keys("Enter")
        t.wait_prompt()
        t.type("migrate tcp:127.0.0.1:%d" % port)
        t.keys("Enter")
        seen = []
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            last = t.last_line()
            m = PROGRESS.match(last)
            if m:
                seen.append((int(m.group(1)), int(m.group(2)), last))
            elif last == "(qmig)" and seen:
                break
            time.sleep(0.1)
        assert len(seen) >= 5, "progress lines seen: %r\n%s" % (seen, t.screen())
        # Updated in place: one line, redrawn with growing numbers.
        assert len({s[2] for s in seen}) >= 3
        assert seen[-1][1] > seen[0][1]
        assert all(b[1] >= a[1] for a, b in zip(seen, seen[1:]))
        # Erased at the end: the screen has no progress line left.
        screen = t.screen()
        assert "Ctrl-C cancels" not in screen
        assert screen.rstrip().endswith("(qmig) migrate tcp:127.0.0.1:%d\n(qmig)" % port)
        t.type("info migrate")
        t.keys("Enter")
        screen = t.wait_screen(lambda s: "pages-per-second:" in s and s, what="statistics")
        assert "Migration status: completed" in screen
        assert "total ram: 65536 kbytes" in screen
        assert re.search(r"^transferred ram: \d+ kbytes$", screen, re.M)
        assert re.search(r"^dirty sync count: [1-9]\d*$", screen, re.M)
        assert "Migration status: completed" in d.hmp("info migrate")
    finally:
        dst.close()


def test_ctrl_c_cancels_the_migration_not_qmig(term, tmp_path):
    port = free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst", connect=False)
    try:
        dst.session()
        t = term("-workload", "idle")
        t.type("migrate_set_parameter max-bandwidth 2m")
        t.keys("Enter")
        t.wait_prompt()
        t.type("migrate tcp:127.0.0.1:%d" % port)
        t.keys("Enter")
        t.wait_screen(lambda s: PROGRESS.match(t.last_line()), what="the progress line")
        t.keys("C-c")
        t.wait_screen(lambda s: t.last_line() == "(qmig)", what="the prompt after Ctrl-C")
        assert t.lines()[-2:] == ["migration cancelled", "(qmig)"], t.screen()
        t.type("info migrate")
        t.keys("Enter")
        t.wait_screen(lambda s: "Migration status: cancelled" in s, what="cancelled")
        t.wait_prompt()
        t.type("info status")
        t.keys("Enter")
        t.wait_screen(lambda s: "VM status: running" in s, what="the VM running")
        assert "exit status" not in t.screen()
        t.wait_prompt()
        t.type("q")
        t.keys("Enter")
        t.wait_screen(lambda s: "exit status 0" in s, what="qmig to exit")
    finally:
        dst.close()


def slow_migration(term, tmp_path, width=200):
    """A terminal whose `migrate` into a qmig destination runs for a while
    (2 MiB/s); returns (terminal, destination, the migrate line)."""
    port = free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-incoming", "tcp:127.0.0.1:%d" % port],
               name="dst", connect=False)
    dst.session()
    t = term("-workload", "idle", width=width)
    t.type("migrate_set_parameter max-bandwidth 2m")
    t.keys("Enter")
    t.wait_prompt()
    line = "migrate tcp:127.0.0.1:%d" % port
    t.type(line)
    t.keys("Enter")
    return t, dst, line


def test_progress_fits_a_narrow_terminal(term, tmp_path):
    """At 80 columns the progress line takes a shorter form that fits, and
    keeps the Ctrl-C hint."""
    t, dst, _ = slow_migration(term, tmp_path, width=80)
    try:
        # (setup, before the first pass, has its own numbers: wait for active)
        last = t.wait_screen(lambda s: t.last_line().startswith("active:") and
                             "(Ctrl-C cancels)" in t.last_line() and t.last_line(),
                             what="the progress line")
        # which form depends on the numbers; each names the state and sent
        assert len(last) <= 79, last
        assert re.match(r"^active: .*\bsent \d+/65536 KiB, .*\(Ctrl-C cancels\)$", last), last
        t.keys("C-c")
        t.wait_screen(lambda s: t.lines()[-2:] == ["migration cancelled", "(qmig)"],
                      what="the cancel")
    finally:
        dst.close()


def test_keys_typed_during_a_blocking_migrate(term, tmp_path):
    """A line typed while `migrate` shows its progress is neither echoed
    into the progress line nor lost: it runs once the migration is over."""
    t, dst, line = slow_migration(term, tmp_path)
    try:
        t.wait_screen(lambda s: PROGRESS.match(t.last_line()), what="the progress line")
        t.type("info status")
        t.keys("Enter")
        # the progress line goes on, alone on its line
        t.wait_screen(lambda s: PROGRESS.match(t.last_line()), what="the progress line again")
        assert "info status" not in t.screen()
        t.type("info migrate_capabilities")  # a second line, kept in order
        t.keys("Enter")
        screen = t.wait_screen(lambda s: "auto-converge: off" in s and s,
                               what="the typed lines' answers", timeout=60)
        t.wait_prompt()
        lines = t.lines()
        i = lines.index("(qmig) " + line)
        assert lines[i + 1:i + 4] == ["(qmig) info status", "VM status: paused (postmigrate)",
                                      "(qmig) info migrate_capabilities"], screen
        assert "Ctrl-C cancels" not in t.screen()
    finally:
        dst.close()


@pytest.mark.skipif(sanitizer() == "thread",
                    reason="ThreadSanitizer restarts the read that readline needs "
                           "interrupted, so Ctrl-C at the prompt acts only at the next key")
def test_ctrl_c_and_ctrl_d_at_the_prompt(term):
    """Ctrl-C drops the line being typed and gives a fresh prompt, as a
    shell does (qmig goes on); Ctrl-D on an empty line ends the session
    with status 0."""
    t = term()
    t.type("info sta")
    # (the terminal flushes keys not yet read when Ctrl-C comes)
    t.wait_screen(lambda s: t.last_line() == "(qmig) info sta", what="the typed text")
    t.keys("C-c")
    t.wait_screen(lambda s: t.last_line() == "(qmig)" and len(t.lines()) >= 3,
                  what="a fresh prompt")
    assert t.lines()[-2].startswith("(qmig) info sta"), t.screen()
    t.type("info status")
    t.keys("Enter")
    t.wait_screen(lambda s: "VM status: running" in s, what="the next command")
    t.wait_prompt()
    assert "exit status" not in t.screen()
    t.keys("C-d")
    t.wait_screen(lambda s: "exit status 0" in s, what="qmig to exit on Ctrl-D")
