"""Helpers for the HMP process tests (tests/process/test_hmp_*.py).

Drives build/qmig (env QMIG) as a user does: a script on stdin, a unix or
tcp monitor socket, or a terminal (tmux).  QEMU 7.2's answers come from the
fixtures under $QMIG_SHARED/fixtures/qemu-7.2/hmp (default /work/shared).
Every timeout here is in plain-build seconds, scaled by timing.scaled().
"""

import json
import os
import shutil
import socket
import subprocess
import time

from timing import scaled

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# shared/ stands beside the work tree (as on CI); QMIG_SHARED overrides.
SHARED = os.environ.get("QMIG_SHARED") or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared"))
HMP_FIXTURES = os.path.join(SHARED, "fixtures", "qemu-7.2", "hmp")
PROMPT = "(qmig) "
MiB = 1 << 20


def qmig_bin():
    p = os.path.abspath(os.environ.get("QMIG") or os.path.join(ROOT, "build", "qmig"))
    assert os.access(p, os.X_OK), "no qmig binary at %s (run make, or set QMIG)" % p
    return p


def fixture(name):
    """The entries of NAME.json that have a command: [{'cmd', 'out'}...]."""
    with open(os.path.join(HMP_FIXTURES, name + ".json")) as f:
        return [e for e in json.load(f)["entries"] if "cmd" in e]


def fixture_out(name, cmd, nth=0):
    """QEMU's output for the nth occurrence of cmd in NAME.json."""
    outs = [e["out"] for e in fixture(name) if e["cmd"] == cmd]
    return outs[nth]


def is_error(out):
    """Whether a QEMU HMP output is an error (HMP has no error channel)."""
    return (out.startswith("Error: ") or out.startswith("unknown command: ")
            or "\nTry \"help " in out or out.startswith("Expected 'on' or 'off'")
            or out.startswith("invalid char "))


def piped_stderr(line_no, out):
    """What piped qmig prints on stderr for QEMU's error output `out`."""
    if out.startswith("Error: "):
        out = out[len("Error: "):]
    return "".join("qmig: line %d: %s\n" % (line_no, l) for l in out.splitlines())


def replace_lines(text, mapping):
    """text with each line 'k: v' whose k is in mapping given mapping[k]."""
    lines = []
    for l in text.splitlines(keepends=True):
        key = l.split(":", 1)[0]
        lines.append("%s: %s\n" % (key, mapping[key]) if key in mapping else l)
    return "".join(lines)


def run_piped(script, args=(), cwd=None, env=None, timeout=60):
    """Runs qmig with `script` on stdin (not a tty)."""
    return subprocess.run([qmig_bin(), "-m", "64M"] + list(args), input=script,
                          capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=scaled(timeout))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s" % what)


class QmigProcess:
    """qmig with its monitors on sockets (no stdio monitor)."""

    def __init__(self, tmp_path, monitors=("unix",), args=(), name="qmig"):
        self.tmp = str(tmp_path)
        self.addrs = []
        cmd = [qmig_bin(), "-m", "64M"]
        for i, kind in enumerate(monitors):
            if kind == "unix":
                path = os.path.join(self.tmp, "%s-%d.hmp" % (name, i))
                self.addrs.append(("unix", path))
                cmd += ["-monitor", "unix:%s,server=on,wait=off" % path]
            else:
                port = free_port()
                self.addrs.append(("tcp", ("127.0.0.1", port)))
                cmd += ["-monitor", "tcp:127.0.0.1:%d,server=on,wait=off" % port]
        cmd += list(args)
        self.stderr_path = os.path.join(self.tmp, name + ".stderr")
        self.stderr_file = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.stderr_file,
                                     cwd=self.tmp)

    def connect(self, i=0):
        kind, addr = self.addrs[i]

        def attempt():
            assert self.proc.poll() is None, "qmig exited: %s" % self.stderr()
            s = socket.socket(socket.AF_UNIX if kind == "unix" else socket.AF_INET)
            try:
                s.connect(addr)
                return s
            except OSError:
                s.close()
                return None
        return HmpSession(wait_for(attempt, what="the monitor socket"))

    def stderr(self):
        self.stderr_file.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def wait(self, timeout=10):
        return self.proc.wait(scaled(timeout))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr_file.close()


class HmpSession:
    """One monitor connection: greeting, then command -> output."""

    def __init__(self, sock, timeout=60):
        self.sock = sock
        self.sock.settimeout(scaled(timeout))
        self.buf = b""
        self.greeting = self._read_prompt()

    def _read_prompt(self):
        while not self.buf.endswith(PROMPT.encode()):
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("monitor closed; got %r" % self.buf)
            self.buf += data
        raw, self.buf = self.buf, b""
        self.last_raw = raw
        return raw[:-len(PROMPT)].decode()

    def cmd(self, line):
        """Output of one command with '\\r\\n' turned into '\\n'."""
        self.sock.sendall(line.encode() + b"\n")
        out = self._read_prompt()
        assert "\n" not in out.replace("\r\n", ""), "bare \\n in %r" % out
        return out.replace("\r\n", "\n")

    def send_quit(self):
        self.sock.sendall(b"quit\n")
        rest = b""
        while True:
            data = self.sock.recv(65536)
            if not data:
                return rest.decode()
            rest += data

    def migration_status(self):
        for l in self.cmd("info migrate").splitlines():
            if l.startswith("Migration status: "):
                return l[len("Migration status: "):]
        return "none"

    def wait_settled(self, timeout=20):
        """Until the outgoing migration no longer runs; its status."""
        return wait_for(lambda: (lambda s: None if s.split(" ")[0] in
                                 ("setup", "active", "cancelling", "device",
                                  "pre-switchover") else s)(self.migration_status()),
                        timeout=timeout, interval=0.05, what="the migration to end")

    def close(self):
        self.sock.close()


def have_tmux():
    return shutil.which("tmux") is not None


class Tmux:
    """A terminal: qmig (or any command) in a detached tmux session."""

    def __init__(self, tmp_path, command, env, width=200, height=50):
        self.name = "qmig-hmp-%d-%d" % (os.getpid(), int(time.monotonic() * 1e6))
        self.socket = os.path.join(str(tmp_path), "tmux.sock")
        envs = ["%s=%s" % kv for kv in env.items()]
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session",
                        "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        "env"] + envs + command, check=True)
        subprocess.run(["tmux", "-S", self.socket, "set-option", "-t", self.name,
                        "remain-on-exit", "on"], check=True)

    def keys(self, *keys):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", "-t", self.name]
                       + list(keys), check=True)

    def type(self, text):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", "-l", "-t", self.name,
                        text], check=True)

    def screen(self):
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p", "-t",
                               self.name], capture_output=True, text=True,
                              check=True).stdout

    def lines(self):
        return [l.rstrip() for l in self.screen().splitlines() if l.strip()]

    def last_line(self):
        ls = self.lines()
        return ls[-1] if ls else ""

    def wait_screen(self, pred, timeout=15, what="the screen"):
        try:
            return wait_for(lambda: pred(self.screen()), timeout=timeout,
                            interval=0.05, what=what)
        except AssertionError:
            raise AssertionError("timed out waiting for %s; screen:\n%s"
                                 % (what, self.screen()))

    def wait_prompt(self, what="the prompt"):
        """Until the last line is a bare prompt: the command typed before
        has finished and readline waits for the next line."""
        def bare(screen):
            lines = [l.rstrip() for l in screen.splitlines() if l.strip()]
            return lines and lines[-1] == PROMPT.rstrip()
        return self.wait_screen(bare, what=what)

    def pane_dead(self):
        r = subprocess.run(["tmux", "-S", self.socket, "display-message", "-p", "-t",
                            self.name, "#{pane_dead} #{pane_dead_status}"],
                           capture_output=True, text=True)
        return r.stdout.split() if r.returncode == 0 else ["1", "?"]

    def kill(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"],
                       capture_output=True)
