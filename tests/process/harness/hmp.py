"""HMP over a socket, for qmig and for a real QEMU 7.2.

hmp(cmd) returns the command's output with "\\r\\n" turned into "\\n" and
the prompt removed; it raises MonitorTimeout if no prompt comes within
the deadline and MonitorClosed if the peer closes the socket first (except
for `quit`, where a closed socket is the answer).  QEMU's readline echoes
each typed line (with escape sequences) up to the first CRLF: with
echo=True that echo is stripped.  qmig echoes nothing, and every line it
sends ends in "\\r\\n" as QEMU's do: hmp() checks that.
"""

import re
import select
import time

from .timing import scaled
from .waiting import poll

QMIG_PROMPT = b"(qmig) "
QEMU_PROMPT = b"(qemu) "
PROMPT = QMIG_PROMPT.decode()
SETTLED_NOT = ("setup", "active", "cancelling", "device", "pre-switchover")


class MonitorTimeout(AssertionError):
    pass


class MonitorClosed(AssertionError):
    pass


class HmpMonitor:
    """The commands of one HMP connection (self.sock, self.prompt,
    self.echo, self.name); HmpSession and the processes' first monitor."""

    prompt = QMIG_PROMPT
    echo = False
    last_raw = b""

    def _read_until_prompt(self, timeout, start=b""):
        data = start
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        while not self._complete(data):
            left = deadline - time.monotonic()
            if left <= 0:
                raise MonitorTimeout("%s: no prompt within %.1fs; got %r"
                                     % (self.name, timeout, data[-600:]))
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise MonitorClosed("%s: monitor closed; got %r"
                                    % (self.name, data[-600:]))
            data += chunk
        self.last_raw = data
        return data

    def _complete(self, data):
        if self.echo:
            i = data.find(b"\r\n")
            return i >= 0 and data[i + 2:].endswith(self.prompt)
        return data.endswith(self.prompt)

    def _text(self, data):
        if self.echo and data:
            data = data[data.find(b"\r\n") + 2:]
        if data.endswith(self.prompt):
            data = data[:-len(self.prompt)]
        if not self.echo:
            assert b"\n" not in data.replace(b"\r\n", b""), \
                "%s: a bare \\n in %r" % (self.name, data)
        return data.decode(errors="replace").replace("\r\n", "\n")

    def read_banner(self, timeout=15, start=b""):
        """The greeting up to the first prompt (start: its bytes already
        read), as text.  QEMU echoes nothing before its first prompt."""
        saved, self.echo = self.echo, False
        try:
            return self._text(self._read_until_prompt(timeout, start))
        finally:
            self.echo = saved

    def hmp_raw(self, cmd, timeout=30):
        self.sock.sendall(cmd.encode() + b"\n")
        try:
            return self._read_until_prompt(timeout)
        except MonitorClosed:
            if cmd.strip() in ("quit", "q"):
                return b""
            raise

    def hmp(self, cmd, timeout=30):
        return self._text(self.hmp_raw(cmd, timeout))

    def send_nowait(self, cmd):
        self.sock.sendall(cmd.encode() + b"\n")

    def read_reply(self, timeout=30):
        """After send_nowait: the output up to the next prompt."""
        return self._text(self._read_until_prompt(timeout))

    def send_quit(self, timeout=30):
        """`quit`; what the monitor sent before closing, as text."""
        self.sock.sendall(b"quit\n")
        rest = b""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MonitorTimeout("%s: still open after quit" % self.name)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                return rest.decode(errors="replace")
            rest += data

    # --- what tests ask most
    def info_migrate(self):
        return self.hmp("info migrate")

    def migration_status(self):
        """The text after 'Migration status: ' ('' before any migration)."""
        m = re.search(r"^Migration status: (.*)$", self.info_migrate(), re.M)
        return m.group(1) if m else ""

    def vm_status(self):
        out = self.hmp("info status")
        m = re.match(r"VM status: (.*)\n$", out)
        assert m, "%s: odd 'info status' output %r" % (self.name, out)
        return m.group(1)

    def wait_status(self, want, timeout=60):
        """Polls 'info migrate' until the status's first word is in want (a
        string or a set); returns the whole 'info migrate' text.  Raises if
        the migration reaches another final state."""
        if isinstance(want, str):
            want = {want}
        final = {"completed", "failed", "cancelled"}
        last = [""]

        def check():
            out = self.info_migrate()
            m = re.search(r"^Migration status: (\S+)", out, re.M)
            st = m.group(1) if m else "none"
            last[0] = out
            if st in want:
                return out
            if st in final:
                raise AssertionError("%s: migration ended %r, wanted %s:\n%s%s"
                                     % (self.name, st, sorted(want), out,
                                        self._stderr_for_errors()))
            return None
        try:
            return poll(check, timeout, 0.05, "migration status %s" % sorted(want))
        except AssertionError as e:
            if "timed out" in str(e):
                raise AssertionError("%s; last 'info migrate':\n%s" % (e, last[0]))
            raise

    def wait_settled(self, timeout=20):
        """Until the outgoing migration no longer runs; its status."""
        def settled():
            st = self.migration_status()
            return None if st.split(" ")[0] in SETTLED_NOT else (st or "none")
        return poll(settled, timeout, 0.05, "%s: the migration to end" % self.name)

    def wait_vm_status(self, want, timeout=30):
        return poll(lambda: self.vm_status() == want, timeout, 0.05,
                    "%s VM status %r" % (self.name, want))

    def _stderr_for_errors(self):
        return ""


class HmpSession(HmpMonitor):
    """One more HMP connection to a process (Qmig.session()); the banner
    it got is .greeting."""

    def __init__(self, sock, name="qmig", prompt=QMIG_PROMPT, echo=False,
                 timeout=15, start=b""):
        self.sock = sock
        self.name = name
        self.prompt = prompt
        self.echo = echo
        self.greeting = self.read_banner(timeout, start)

    def close(self):
        self.sock.close()
