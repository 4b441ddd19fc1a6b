"""Waiting without sleeping for luck: every wait polls for a state with a
deadline given in plain-build seconds and scaled by timing.scaled()."""

import socket
import time

from .timing import scaled


def poll(pred, timeout=30, interval=0.02, what="condition"):
    """Calls pred() until it returns something true; returns that value.
    Raises AssertionError naming `what` once the deadline has passed."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(addr, timeout=15, proc=None, name="qmig"):
    """A socket connected to addr (a unix path or a (host, port) pair).

    A listening socket's file appears at bind(), a moment before listen():
    refused or missing, the connect is retried until the deadline.  If proc
    (the process that should listen) ends first, that is the error."""
    family = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
    deadline = time.monotonic() + scaled(timeout)
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited (%s) before %s accepted"
                                 % (name, proc.returncode, addr))
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.connect(addr)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise AssertionError("%s: %s never accepted a connection"
                                     % (name, addr))
            time.sleep(0.02)
