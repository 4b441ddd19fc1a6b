"""Process-level test harness: drive qmig (and a real QEMU 7.2) as a user
would, through the HMP monitor on a unix socket.

Contracts:
* Every process gets its own working directory; stdout/stderr go to files
  there (no pipes that could fill up and block the process).
* hmp(cmd) returns the command's output with "\\r\\n" turned into "\\n" and
  the trailing prompt removed; it raises MonitorTimeout if no prompt comes
  within the timeout, MonitorClosed if the process closes the socket first
  (except for 'quit', where a closed socket is the expected answer).
* Nothing sleeps for a fixed time: waits poll with a deadline.  Every
  deadline is given in plain-build seconds and scaled here, at the wait
  itself, by timing.scaled() (sanitizer builds run slower).
* close() is safe to call twice and always leaves no process behind.
"""

import os
import re
import select
import signal
import socket
import subprocess
import time

from timing import scaled

QMIG_PROMPT = b"(qmig) "
QEMU_PROMPT = b"(qemu) "
PAGE = 4096


class MonitorTimeout(AssertionError):
    pass


class MonitorClosed(AssertionError):
    pass


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def poll(pred, timeout, interval=0.02, what="condition"):
    """Call pred() until it returns something true; return that value."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def ram_equal(a, b):
    """True if dump files a and b are byte-identical (and non-empty)."""
    sa, sb = os.path.getsize(a), os.path.getsize(b)
    if sa != sb or sa == 0:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x = fa.read(1 << 20)
            y = fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def diff_pages(a, b, limit=8):
    """Page addresses where dump files a and b differ (for messages)."""
    out = []
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while len(out) < limit:
            x = fa.read(PAGE)
            y = fb.read(PAGE)
            if not x and not y:
                break
            if x != y:
                out.append(hex(off))
            off += PAGE
    return out


def seed_invariant(path, area=16 << 20, stride=1024):
    """QEMU check_guests_ram for the 'seed' workload: the byte at every
    stride offset of the area is bumped in address order, pass after pass;
    every other byte stays zero.  So reading the bytes in order gives
    n+1 ... n+1 n ... n (mod 256): at most one step down, by one.
    Returns a description of the first violation, or None.

    An area of equal bytes is n whole passes for any n, zero and every
    multiple of 256 included: whether the workload ran is not in the
    image.  A test proves it before migrating (Qmig.wait_ram_written), as
    QEMU's tests wait for the guest's first pass on its serial line."""
    with open(path, "rb") as f:
        data = f.read(area)
    vals = data[::stride]
    drops = 0
    for i in range(1, len(vals)):
        if vals[i] != vals[i - 1]:
            if (vals[i - 1] - vals[i]) % 256 != 1:
                return "byte at 0x%x is %d after %d" % (i * stride, vals[i], vals[i - 1])
            drops += 1
            if drops > 1:
                return "second step down at 0x%x" % (i * stride)
    other = bytearray(data)
    other[::stride] = bytes(len(vals))
    if any(other):
        idx = next(i for i, c in enumerate(other) if c)
        return "non-zero byte outside the stride at 0x%x" % idx
    return None


class _Monitor:
    """HMP over a unix socket (shared by Qmig and Qemu)."""

    prompt = QMIG_PROMPT
    echo = False

    def _connect(self, path, timeout, proc):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            if proc.poll() is not None:
                raise AssertionError("%s exited (%s) before its monitor came up; stderr:\n%s"
                                     % (self.name, proc.returncode, self.stderr()))
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                return s
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if time.monotonic() > deadline:
                    raise AssertionError("%s: monitor socket %s never accepted" % (self.name, path))
                time.sleep(0.02)

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
                raise MonitorClosed("%s: monitor closed; got %r" % (self.name, data[-600:]))
            data += chunk
        return data

    def _complete(self, data):
        if self.echo:
            # the echo of the typed line ends at the first CRLF
            i = data.find(b"\r\n")
            return i >= 0 and data[i + 2:].endswith(self.prompt)
        return data.endswith(self.prompt)

    def hmp_raw(self, cmd, timeout=30):
        self.sock.sendall(cmd.encode() + b"\n")
        try:
            return self._read_until_prompt(timeout)
        except MonitorClosed:
            if cmd.strip() in ("quit", "q"):
                return b""
            raise

    def hmp(self, cmd, timeout=30):
        data = self.hmp_raw(cmd, timeout)
        if self.echo and data:
            data = data[data.find(b"\r\n") + 2:]
        if data.endswith(self.prompt):
            data = data[:-len(self.prompt)]
        return data.decode(errors="replace").replace("\r\n", "\n")

    def send_nowait(self, cmd):
        self.sock.sendall(cmd.encode() + b"\n")

    def read_reply(self, timeout=30):
        """After send_nowait: the output up to the next prompt."""
        data = self._read_until_prompt(timeout)
        if self.echo:
            data = data[data.find(b"\r\n") + 2:]
        return data[:-len(self.prompt)].decode(errors="replace").replace("\r\n", "\n")

    # --- convenience
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
        """Poll 'info migrate' until the migration status's first word is in
        want (a string or a set); returns the whole 'info migrate' text.
        Raises if the status reaches a different final state."""
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
                                     % (self.name, st, sorted(want), out, self.stderr()))
            return None
        try:
            return poll(check, timeout, 0.05, "migration status %s" % sorted(want))
        except AssertionError as e:
            if "timed out" in str(e):
                raise AssertionError("%s; last 'info migrate':\n%s" % (e, last[0]))
            raise

    def wait_vm_status(self, want, timeout=30):
        return poll(lambda: self.vm_status() == want, timeout, 0.05,
                    "%s VM status %r" % (self.name, want))


class _Process(_Monitor):
    def _start(self, argv, workdir, name, sock_path, connect, timeout=15):
        self.name = name
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.sock_path = sock_path
        self.sock = None
        self.stderr_path = os.path.join(self.workdir, name + ".stderr")
        self.stdout_path = os.path.join(self.workdir, name + ".stdout")
        self.argv = argv
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)
        self.banner = None
        if connect:
            self.connect(timeout)

    def connect(self, timeout=15):
        self.sock = self._connect(self.sock_path, timeout, self.proc)
        self.banner = self._read_until_prompt(timeout, b"") if not self.echo else \
            self._read_banner(timeout)
        return self.banner

    def _read_banner(self, timeout):
        data = b""
        deadline = time.monotonic() + scaled(timeout)
        while not data.endswith(self.prompt):
            left = deadline - time.monotonic()
            if left <= 0:
                raise MonitorTimeout("%s: no banner; got %r" % (self.name, data))
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise MonitorClosed("%s: closed during banner" % self.name)
                data += chunk
        return data

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_exit(self, timeout=30):
        """Wait for the process to end; returns its returncode (negative =
        killed by that signal)."""
        timeout = scaled(timeout)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s still running after %.0fs; stderr:\n%s"
                                 % (self.name, timeout, self.stderr()))

    @property
    def returncode(self):
        return self.proc.returncode

    killed_on_purpose = False

    def crashed(self):
        """True if the process ended by a signal nobody here sent."""
        rc = self.proc.poll()
        return rc is not None and rc < 0 and not self.killed_on_purpose

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.killed_on_purpose = True
            self.proc.send_signal(sig)
        return self.proc.wait(scaled(15))

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        if self.alive():
            self.killed_on_purpose = True
            self.proc.terminate()
            try:
                self.proc.wait(scaled(5))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(scaled(5))

    def quit(self, timeout=15):
        """'quit' on the monitor; returns the exit status."""
        self.hmp("quit")
        return self.wait_exit(timeout)


class Qmig(_Process):
    """One qmig process with an HMP monitor on a unix socket in workdir."""

    prompt = QMIG_PROMPT
    echo = False

    def __init__(self, binary, workdir, args, name="qmig", connect=True, timeout=15):
        sock = os.path.join(str(workdir), name + ".hmp")
        if os.path.exists(sock):
            os.unlink(sock)
        argv = [binary] + list(args) + ["-monitor", "unix:%s,server=on,wait=off" % sock]
        self._start(argv, workdir, name, sock, connect, timeout)

    def wait_started(self, timeout=10):
        """qmig's monitor answers before main() has applied -incoming / the
        initial run state (see test_failures.py test_monitor_before_startup):
        wait until the VM has left its initial bare 'paused'."""
        poll(lambda: self.vm_status() != "paused" or self.migration_status() != "",
             timeout, 0.005, "%s to finish starting up" % self.name)

    def pmemsave(self, path, size, addr=0):
        out = self.hmp("pmemsave %d %d %s" % (addr, size, path))
        assert out == "", "%s: pmemsave said %r" % (self.name, out)
        assert os.path.getsize(path) == size, "%s: pmemsave wrote %d bytes, not %d" % (
            self.name, os.path.getsize(path), size)
        return path

    def wait_ram_written(self, size, timeout=30):
        """Returns once the guest's workload has provably written its RAM:
        two pmemsave dumps of the first size bytes differ.  A thread that
        was started is not yet one that ran: a test whose migration needs
        the workload's writes (re-dirtied pages, a seed area that is not
        all zero) calls this before typing `migrate`."""
        base = os.path.join(self.workdir, "%s-written" % self.name)
        with open(self.pmemsave(base + "0.img", size), "rb") as f:
            first = f.read()

        def changed():
            with open(self.pmemsave(base + "1.img", size), "rb") as f:
                return f.read() != first
        poll(changed, timeout, 0.02, "%s: the workload to write RAM" % self.name)
        for n in "01":
            os.unlink(base + n + ".img")


class Qemu(_Process):
    """A real qemu-system-x86_64 -M none with HMP on a unix socket.

    QEMU's readline echoes every typed line (with ESC sequences) up to the
    first CRLF; hmp() strips it.  QEMU runs in workdir; pass relative file
    names to pmemsave (its argument parser cannot take some absolute paths
    after a number)."""

    prompt = QEMU_PROMPT
    echo = True

    def __init__(self, binary, workdir, ram_mib=16, ram_file=None, incoming=None,
                 extra=(), name="qemu", connect=True, timeout=15):
        sock_name = name + ".hmp"
        sock = os.path.join(str(workdir), sock_name)
        if os.path.exists(sock):
            os.unlink(sock)
        argv = [binary, "-nodefaults", "-display", "none"]
        if ram_file:
            argv += ["-M", "none,memory-backend=ram", "-m", "%dM" % ram_mib,
                     "-object", "memory-backend-file,id=ram,size=%dM,mem-path=%s,share=on"
                     % (ram_mib, os.path.relpath(str(ram_file), str(workdir)))]
        else:
            argv += ["-M", "none", "-m", "%dM" % ram_mib]
        argv += ["-monitor", "unix:%s,server=on,wait=off" % sock_name]
        if incoming:
            argv += ["-incoming", incoming]
        argv += list(extra)
        self.ram_mib = ram_mib
        self._start(argv, workdir, name, sock, connect, timeout)

    def pmemsave(self, filename, size, addr=0):
        assert "/" not in filename, "QEMU pmemsave: give a file name relative to its cwd"
        out = self.hmp("pmemsave %d %d %s" % (addr, size, filename))
        assert out == "", "%s: pmemsave said %r" % (self.name, out)
        path = os.path.join(self.workdir, filename)
        assert os.path.getsize(path) == size
        return path
