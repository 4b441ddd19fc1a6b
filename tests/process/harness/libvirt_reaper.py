"""Runs one libvirtd as the child subreaper of its emulators.

    libvirt_reaper.py -- COMMAND...

libvirt daemonizes every emulator it starts, so an emulator is not the
test's child and would be reparented to init, out of the test's reach.
This process makes itself the child subreaper (PR_SET_CHILD_SUBREAPER)
and runs COMMAND (libvirtd): the emulators become its children, it reaps
each one the moment it exits (libvirt waits for a killed emulator's pid to
disappear; an unreaped zombie made every `virsh destroy` take 40 s), and
on SIGTERM it stops libvirtd, then SIGKILLs every child left and reaps
them, so a test stops all it started, even when it failed.

Kept apart from pytest because the subreaper flag is per process and
reaping any child would steal the exit status of pytest's own children.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def children(me):
    """Pids whose parent is me (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me:
            out.append(int(name))
    return out


def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Stop(Exception):
    pass


def on_term(*_):
    raise Stop()


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("libvirt_reaper: prctl: %s" %
                 os.strerror(ctypes.get_errno()))
    # A test killed outright (a CI timeout) still stops its daemon: the
    # reaper gets SIGTERM when its parent dies.
    parent = os.getppid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    signal.signal(signal.SIGTERM, on_term)
    if os.getppid() != parent:
        sys.exit(0)
    try:
        daemon = os.fork()
    except Stop:
        sys.exit(0)
    if daemon == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    me = os.getpid()
    daemon_status = None
    # SIGTERM interrupts the wait (a handler that returns would not).
    try:
        while True:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid == daemon:
                daemon_status = status
                break
    except Stop:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Stop the daemon (it may still be running), then whatever is left.
    if daemon_status is None:
        try:
            os.kill(daemon, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            reap_all()
            if daemon not in children(me):
                break
            time.sleep(0.05)
    for _ in range(200):
        left = children(me)
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        reap_all()
    sys.exit(0)


if __name__ == "__main__":
    main()
