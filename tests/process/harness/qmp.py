"""QMP over a real socket, with SCM_RIGHTS for getfd."""

import json
import socket
import time

from .timing import scaled
from .waiting import connect


class QMPClient:
    """QMP over a unix socket: commands, replies, events kept in order.

    Every message qmig sends must end in "\\r\\n" (libvirt splits on
    it): read_line() checks that for each line."""

    def __init__(self, path, timeout=20.0):
        self.timeout = scaled(timeout)
        self.sock = connect(path, timeout, name="QMP")
        self.sock.settimeout(self.timeout)
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
