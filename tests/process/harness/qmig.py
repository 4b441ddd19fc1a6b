"""The peers a test starts: qmig, and a real QEMU 7.2 `-M none`, each with
its monitors on sockets in the test's directory.

The first HMP monitor is connected at start (connect=True) and its
commands are the process's own: q.hmp("info status"), q.wait_status(...).
q.session(i) opens one more connection to HMP monitor i, q.qmp() one to
the QMP socket (qmp=True), negotiated unless told otherwise."""

import os

from .hmp import QEMU_PROMPT, QMIG_PROMPT, HmpMonitor, HmpSession
from .process import Process
from .qmp import QMPClient
from .waiting import connect, free_port, poll


class _Peer(Process, HmpMonitor):
    sock = None
    banner = None

    def _start(self, argv, workdir, name, monitors, connect_first, timeout):
        self.monitor_addrs = monitors
        self._spawn(argv, workdir, name)
        if connect_first:
            self.connect(timeout)

    def connect(self, timeout=15):
        """Connects the first HMP monitor; its banner."""
        self.sock = connect(self.monitor_addrs[0], timeout, self.proc,
                            self.name)
        self.banner = self.read_banner(timeout)
        return self.banner

    def session(self, i=0, timeout=15):
        """A new connection to HMP monitor i."""
        sock = connect(self.monitor_addrs[i], timeout, self.proc, self.name)
        return HmpSession(sock, self.name, self.prompt, self.echo, timeout)

    def _close_sockets(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _stderr_for_errors(self):
        return self.stderr()

    def quit(self, timeout=15):
        """`quit` on the monitor; the exit status."""
        self.hmp("quit")
        return self.wait_exit(timeout)


def _socket_path(workdir, file_name):
    path = os.path.join(str(workdir), file_name)
    if os.path.exists(path):
        os.unlink(path)
    return path


class Qmig(_Peer):
    """One qmig process.  monitors: the kinds of its HMP monitors, "unix"
    (a socket in workdir) or "tcp" (a free port on 127.0.0.1); qmp: also a
    QMP socket, NAME.qmp in workdir."""

    prompt = QMIG_PROMPT
    echo = False

    def __init__(self, binary, workdir, args, name="qmig", connect=True,
                 timeout=15, monitors=("unix",), qmp=False):
        argv = [binary] + list(args)
        addrs = []
        for i, kind in enumerate(monitors):
            if kind == "unix":
                file_name = name + (".hmp" if i == 0 else "-%d.hmp" % i)
                addrs.append(_socket_path(workdir, file_name))
                argv += ["-monitor", "unix:%s,server=on,wait=off" % addrs[-1]]
            else:
                port = free_port()
                addrs.append(("127.0.0.1", port))
                argv += ["-monitor",
                         "tcp:127.0.0.1:%d,server=on,wait=off" % port]
        self.qmp_path = None
        if qmp:
            self.qmp_path = _socket_path(workdir, name + ".qmp")
            argv += ["-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        self._start(argv, workdir, name, addrs, connect, timeout)

    def qmp(self, negotiate=True, timeout=20):
        assert self.qmp_path, "%s was started without qmp=True" % self.name
        connect(self.qmp_path, timeout, self.proc, self.name).close()
        c = QMPClient(self.qmp_path, timeout)
        if negotiate:
            assert c.cmd("qmp_capabilities") == {"return": {}}
        return c

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


class Qemu(_Peer):
    """A real qemu-system-x86_64 -M none with HMP on a unix socket.

    QEMU runs in workdir; pass relative file names to pmemsave (its
    argument parser cannot take some absolute paths after a number)."""

    prompt = QEMU_PROMPT
    echo = True

    def __init__(self, binary, workdir, ram_mib=16, ram_file=None, incoming=None,
                 extra=(), name="qemu", connect=True, timeout=15):
        sock_name = name + ".hmp"
        sock = _socket_path(workdir, sock_name)
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
        self._start(argv, workdir, name, [sock], connect, timeout)

    def pmemsave(self, filename, size, addr=0):
        assert "/" not in filename, "QEMU pmemsave: give a file name relative to its cwd"
        out = self.hmp("pmemsave %d %d %s" % (addr, size, filename))
        assert out == "", "%s: pmemsave said %r" % (self.name, out)
        path = os.path.join(self.workdir, filename)
        assert os.path.getsize(path) == size
        return path
