"""Helpers for the QMP process tests: start qmig, talk QMP over a real
socket (with SCM_RIGHTS for getfd), read HMP, and parse the QEMU 7.2 /
libvirt 9.0 transcripts under shared/fixtures.

Every message qmig sends must end in "\\r\\n" (libvirt splits on it);
QMPClient checks that for each line it reads.  Every timeout here is in
plain-build seconds, scaled by timing.scaled().
"""
import json
import os
import pathlib
import socket
import subprocess
import time

from timing import scaled

ROOT = pathlib.Path(__file__).resolve().parents[2]
QMIG = os.environ.get("QMIG") or str(ROOT / "build" / "qmig")


def find_fixtures():
    """shared/fixtures beside the work tree (or $QMIG_FIXTURES)."""
    env = os.environ.get("QMIG_FIXTURES")
    if env:
        return pathlib.Path(env)
    for base in [ROOT] + list(ROOT.parents):
        cand = base / "shared" / "fixtures"
        if cand.is_dir():
            return cand
    return None


FIXTURES = find_fixtures()


def wait_for_path(path, proc, timeout=10.0):
    deadline = time.monotonic() + scaled(timeout)
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError("qmig exited with %s: %s" %
                               (proc.returncode, proc.stderr.read()))
        if time.monotonic() > deadline:
            raise TimeoutError("no socket %s" % path)
        time.sleep(0.02)


class Qmig:
    """A qmig process with a QMP socket and an HMP socket in tmpdir."""

    def __init__(self, tmpdir, name, extra=(), ram="64M"):
        self.dir = pathlib.Path(tmpdir)
        self.qmp_path = str(self.dir / (name + ".qmp"))
        self.hmp_path = str(self.dir / (name + ".hmp"))
        args = [QMIG, "-m", ram,
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-monitor", "unix:%s,server=on,wait=off" % self.hmp_path]
        args += list(extra)
        self.proc = subprocess.Popen(args, cwd=str(self.dir),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        wait_for_path(self.qmp_path, self.proc)
        wait_for_path(self.hmp_path, self.proc)

    def qmp(self, negotiate=True):
        c = QMPClient(self.qmp_path)
        if negotiate:
            assert c.cmd("qmp_capabilities") == {"return": {}}
        return c

    def hmp(self):
        return HMPClient(self.hmp_path)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=scaled(10))
        self.proc.stdout.close()
        self.proc.stderr.close()


def wait_until(pred, timeout=30.0, what="condition"):
    """pred() until it returns something true, polled; that value."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for %s" % what)
        time.sleep(0.02)


def connect_unix(path, timeout):
    """A connected socket to path.  The socket file appears at bind(),
    a moment before listen(): a refused connect in between is retried."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(scaled(timeout))
        try:
            sock.connect(path)
            return sock
        except ConnectionRefusedError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class QMPClient:
    def __init__(self, path, timeout=20.0):
        self.timeout = scaled(timeout)
        self.sock = connect_unix(path, timeout)
        self.buf = b""
        self.events = []   # not yet waited for
        self.seen = []     # every event, in order
        self.greeting = self.read_message()

    def close(self):
        self.sock.close()

    def read_line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), "line without \\r\\n: %r" % line
        return line[:-1]

    def read_message(self):
        return json.loads(self.read_line())

    def send_raw(self, data, fds=None):
        if isinstance(data, str):
            data = data.encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)

    def reply(self):
        """The next reply; events met on the way go to self.events."""
        while True:
            msg = self.read_message()
            if "event" in msg:
                self.events.append(msg)
                self.seen.append(msg)
                continue
            return msg

    def cmd(self, name, arguments=None, id=None, fds=None):
        req = {"execute": name}
        if arguments is not None:
            req["arguments"] = arguments
        if id is not None:
            req["id"] = id
        self.send_raw(json.dumps(req) + "\r\n", fds=fds)
        return self.reply()

    def ok(self, name, arguments=None, fds=None):
        r = self.cmd(name, arguments, fds=fds)
        assert "return" in r, "%s failed: %r" % (name, r)
        return r["return"]

    def err(self, name, arguments=None):
        r = self.cmd(name, arguments)
        assert "error" in r, "%s did not fail: %r" % (name, r)
        return r["error"]["desc"]

    def wait_event(self, name, data=None, timeout=30.0):
        """Waits for an event (already seen ones count); returns it and
        drops it and everything before it from self.events."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and (data is None or
                                            ev.get("data") == data):
                    del self.events[:i + 1]
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no event %s %r; seen %r" %
                                   (name, data, self.events))
            self.sock.settimeout(left)
            try:
                msg = self.read_message()
            finally:
                self.sock.settimeout(self.timeout)
            assert "event" in msg, "unexpected reply %r" % msg
            self.events.append(msg)
            self.seen.append(msg)


class HMPClient:
    """qmig's HMP socket: banner, then output and the "(qmig) " prompt."""
    PROMPT = b"(qmig) "

    def __init__(self, path):
        self.sock = connect_unix(path, 20.0)
        self.buf = b""
        self.read_to_prompt()

    def read_to_prompt(self):
        while not self.buf.endswith(self.PROMPT):
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("HMP connection closed")
            self.buf += data
        out, self.buf = self.buf[:-len(self.PROMPT)], b""
        return out.decode()

    def run(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.read_to_prompt()

    def close(self):
        self.sock.close()


def transcript(path):
    """A fixture transcript as [(side, direction, message, text)], side ''
    or 'src'/'dst', direction '->' or '<-', message parsed (None when the
    line could not be parsed, e.g. cut or split), text as captured."""
    out = []
    for line in pathlib.Path(path).read_text().splitlines():
        side = ""
        if line.startswith(("src ", "dst ")):
            side, line = line[:3], line[4:]
        if not line.startswith(("-> ", "<- ")):
            continue
        direction, text = line[:2], line[3:]
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        out.append((side, direction, msg, text))
    return out


def json_shape(v):
    """The JSON type tree of a value: dicts keep their keys."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "str"
    if v is None:
        return "null"
    if isinstance(v, list):
        return ["list"]
    return {k: json_shape(x) for k, x in v.items()}


def same_types(mine, qemu, path="return"):
    """Asserts that mine has QEMU's member names and JSON types (a float
    in QEMU's reply may be an integer-valued float in qmig's, and vice
    versa: QEMU prints 0.0 as 0)."""
    if isinstance(qemu, dict):
        assert isinstance(mine, dict), "%s: %r is not an object" % (path,
                                                                   mine)
        assert sorted(mine) == sorted(qemu), \
            "%s: members %s, QEMU has %s" % (path, sorted(mine),
                                             sorted(qemu))
        for k in qemu:
            same_types(mine[k], qemu[k], path + "." + k)
    elif isinstance(qemu, list):
        assert isinstance(mine, list), "%s: not an array" % path
        if qemu and mine:
            same_types(mine[0], qemu[0], path + "[0]")
    elif isinstance(qemu, bool):
        assert isinstance(mine, bool), "%s: not a bool" % path
    elif isinstance(qemu, (int, float)):
        assert isinstance(mine, (int, float)) and \
            not isinstance(mine, bool), "%s: not a number" % path
        if isinstance(qemu, int) and not isinstance(qemu, bool) and \
                path.rsplit(".", 1)[-1] not in FLOAT_MEMBERS:
            assert isinstance(mine, int), "%s: not an integer" % path
    elif isinstance(qemu, str):
        assert isinstance(mine, str), "%s: not a string" % path


# Members QEMU declares as 'number' (it prints integral values as 0).
FLOAT_MEMBERS = {"mbps", "cache-miss-rate", "encoding-rate", "busy-rate",
                 "compression-rate"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
