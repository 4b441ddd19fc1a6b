"""QMP protocol: greeting, negotiation, framing, errors and limits,
checked byte for byte against QEMU 7.2's captured replies where qmig
is meant to answer the same."""
import json
import os
import pathlib
import random
import socket
import time

import pytest

from harness import FIXTURES, Qmig, QMPClient, qmig_bin, scaled, transcript

QMP_FIX = pathlib.Path(FIXTURES, "qemu-7.2", "qmp")
needs_fixtures = pytest.mark.skipif(not QMP_FIX.is_dir(),
                                    reason="shared/fixtures not found")
QEMU_PACKAGE = "Debian 1:7.2+dfsg-7+deb12u18+b3"


@pytest.fixture
def vm(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], name="vm", qmp=True)
    yield q
    q.kill()


def replay(client, path, overrides=None, package=None):
    """Sends each '->' line of a transcript as is and compares each reply
    line with QEMU's text (events: without the timestamp)."""
    overrides = overrides or {}
    last_request = None
    for side, direction, msg, text in transcript(path):
        if direction == "->":
            last_request = text
            client.send_raw(text + "\r\n")
            continue
        if isinstance(msg, dict) and "QMP" in msg:
            continue  # the greeting, checked separately
        line = client.read_line().decode()
        if isinstance(msg, dict) and "event" in msg:
            got = json.loads(line)
            assert got["event"] == msg["event"]
            assert got.get("data") == msg.get("data")
            continue
        expected = overrides.get(last_request, text)
        if package:
            expected = expected.replace(QEMU_PACKAGE, package)
        assert line == expected, "after %s" % last_request


def test_greeting(vm):
    c = QMPClient(vm.qmp_path)
    assert c.greeting == {"QMP": {"version": {"qemu": {
        "micro": 22, "minor": 2, "major": 7},
        "package": c.greeting["QMP"]["version"]["package"]},
        "capabilities": ["oob"]}}
    assert "qmig" in c.greeting["QMP"]["version"]["package"]
    assert list(c.greeting["QMP"]["version"]["qemu"]) == [
        "micro", "minor", "major"]


@needs_fixtures
def test_fresh_replay(vm):
    c = QMPClient(vm.qmp_path)
    package = c.greeting["QMP"]["version"]["package"]
    replay(c, QMP_FIX / "fresh.log", package=package)


@needs_fixtures
def test_set_parameters_and_capabilities_replay(vm):
    c = QMPClient(vm.qmp_path)
    # qmig refuses capabilities it does not implement (QEMU accepts block
    # and x-colo on a machine without disks or COLO), so those
    # requests and the listing after them differ.
    def refused(name):
        return json.dumps({"error": {"class": "GenericError", "desc":
                           "Capability '%s' is not supported by qmig" %
                           name}})
    req = '{"execute": "migrate-set-capabilities", "arguments": ' \
          '{"capabilities": [{"capability": "%s", "state": true}]}}'
    caps_after = None
    for side, d, msg, _ in transcript(
            QMP_FIX / "set-parameters-and-capabilities.log"):
        if d == "<-" and isinstance(msg, dict) and \
                isinstance(msg.get("return"), list):
            caps_after = msg
    for cap in caps_after["return"]:
        if cap["capability"] in ("block", "x-colo"):
            cap["state"] = False
    overrides = {req % "block": refused("block"),
                 req % "x-colo": refused("x-colo"),
                 '{"execute": "query-migrate-capabilities"}':
                 json.dumps(caps_after)}
    c = QMPClient(vm.qmp_path)
    lines = [(d, msg, text) for side, d, msg, text in transcript(
        QMP_FIX / "set-parameters-and-capabilities.log")]
    # Replay everything; query-migrate-capabilities replies are checked
    # by the override only at the end.
    n_caps = 0
    last = None
    for d, msg, text in lines:
        if d == "->":
            last = text
            c.send_raw(text + "\r\n")
            continue
        if isinstance(msg, dict) and "QMP" in msg:
            continue
        line = c.read_line().decode()
        if last == '{"execute": "query-migrate-capabilities"}':
            n_caps += 1
            if n_caps < 3:
                assert line == text
                continue
        assert line == overrides.get(last, text), "after %s" % last
    assert n_caps == 3


def test_negotiation_and_id(vm):
    c = QMPClient(vm.qmp_path)
    r = c.cmd("query-status", id="x")
    assert r == {"error": {"class": "CommandNotFound", "desc":
                 "Expecting capabilities negotiation with "
                 "'qmp_capabilities'"}, "id": "x"}
    # unknown commands too, before negotiation
    assert c.cmd("nosuch")["error"]["class"] == "CommandNotFound"
    assert c.cmd("qmp_capabilities", {"enable": ["nope"]})["error"][
        "desc"] == "Parameter 'null' does not accept value 'nope'"
    assert c.cmd("qmp_capabilities", id=[1, {"a": None}]) == {
        "return": {}, "id": [1, {"a": None}]}
    for ident in (0, -5, 1.5, True, "s", {"x": [1, 2]},
                  18446744073709551615):
        r = c.cmd("query-name", id=ident)
        assert r == {"return": {}, "id": ident}
    c.send_raw('{"execute": "query-name", "id": null}')
    assert c.read_line() == b'{"return": {}, "id": null}'
    r = c.cmd("qmp_capabilities")
    assert r["error"] == {"class": "CommandNotFound", "desc":
                          "Capabilities negotiation is already complete, "
                          "command ignored"}


def test_request_member_errors(vm):
    c = vm.qmp()
    cases = [
        ('{"execute": "query-status", "id": 1, "foo": 2}',
         "QMP input member 'foo' is unexpected"),
        ('{"id": 7}', "QMP input lacks member 'execute'"),
        ('{"execute": ["x"]}', "QMP input member 'execute' must be a string"),
        ('{"execute": "stop", "arguments": 1}',
         "QMP input member 'arguments' must be an object"),
        ('{"exec-oob": "query-status"}',
         "QMP input member 'exec-oob' is unexpected"),
        ('3', "QMP input must be a JSON object"),
        ('null', "QMP input must be a JSON object"),
        ('true', "QMP input must be a JSON object"),
        (']', "JSON parse error, expecting value"),
        ('{"a" 1}', None),
        ('{"execute": "quit", "execute": "stop"}', None),
        ('{"execute": "query-name\\u0000"}',
         "JSON parse error, \\u0000 is not supported"),
        ('@', "JSON parse error, stray '@'"),
    ]
    for text, desc in cases:
        c.send_raw(text + "\r\n")
        r = c.reply()
        assert r["error"]["class"] == "GenericError", text
        if desc:
            assert r["error"]["desc"] == desc, text
        else:
            assert r["error"]["desc"].startswith("JSON parse error, "), text
    # the connection is still fine, and so is the process
    assert c.ok("query-name") == {}


def test_framing(vm):
    c = vm.qmp()
    # two requests in one write, one request in many writes
    c.send_raw('{"execute": "query-name", "id": 1}{"execute": '
               '"query-name", "id": 2}\r\n')
    assert c.reply()["id"] == 1 and c.reply()["id"] == 2
    req = b'{"execute":\n "query-name",\r\n "id": "split"}\n'
    for b in req:
        c.send_raw(bytes([b]))
    assert c.reply() == {"return": {}, "id": "split"}
    # braces inside strings do not count
    c.send_raw('{"execute": "query-name", "id": "}{]["}')
    assert c.reply() == {"return": {}, "id": "}{]["}
    # non-ASCII is escaped as QEMU does (\\uXXXX)
    c.send_raw('{"execute": "query-name", "id": "\u00e9\U0001f600"}')
    assert c.read_line() == b'{"return": {}, "id": "\\u00E9\\uD83D\\uDE00"}'


def test_limits(vm):
    c = vm.qmp()
    # oversized message: one error, the rest of it is skipped
    big = '{"execute": "query-name", "id": "' + "x" * (2 << 20) + '"}'
    c.send_raw(big)
    assert c.reply()["error"]["desc"] == "JSON token size limit exceeded"
    assert c.ok("query-name") == {}
    # deep nesting
    c.send_raw("[" * 2000 + "]" * 2000)
    assert c.reply()["error"]["desc"] == "JSON nesting depth limit exceeded"
    assert c.ok("query-name") == {}
    # nesting under the limit is parsed (and rejected as not an object)
    c.send_raw("[" * 1000 + "]" * 1000)
    assert c.reply()["error"]["desc"] == "QMP input must be a JSON object"
    # a deep id is echoed
    deep = json.loads("[" * 500 + "]" * 500)
    assert c.cmd("query-name", id=deep)["id"] == deep
    # integers beyond 64 bits become floats, as in QEMU
    c.send_raw('{"execute": "migrate-set-parameters", "arguments": '
               '{"downtime-limit": 99999999999999999999999}}')
    assert c.reply()["error"]["desc"] == \
        "Parameter 'downtime-limit' expects uint64"


def test_garbage_never_crashes(vm):
    rng = random.Random(1234)
    pieces = [b"{", b"}", b"[", b"]", b'"', b"\\", b":", b",", b"\x00",
              b"\xff", b"\xc3", b"1", b"-", b"e", b"true", b"nul", b" ",
              b"\n", b'"execute"', b'"query-status"', b"\\u0000"]
    for round_ in range(5):
        c = QMPClient(vm.qmp_path)
        data = b"".join(rng.choice(pieces) for _ in range(3000))
        c.send_raw(data)
        c.close()
    c = vm.qmp()
    assert c.ok("query-status")["status"] == "running"
    assert vm.proc.poll() is None


def test_many_clients_get_events(vm):
    clients = [vm.qmp() for _ in range(8)]
    silent = QMPClient(vm.qmp_path)  # not negotiated: no events
    clients[0].ok("stop")
    clients[0].ok("cont")
    for c in clients:
        assert c.wait_event("STOP")
        ev = c.wait_event("RESUME")
        assert set(ev["timestamp"]) == {"seconds", "microseconds"}
        assert list(ev) == ["timestamp", "event"]
    # the un-negotiated client got nothing but its own reply
    assert silent.cmd("query-name")["error"]["class"] == "CommandNotFound"
    # one client going away does not disturb the others
    clients[3].close()
    clients[0].ok("stop")
    assert clients[5].wait_event("STOP")


def test_slow_reader_does_not_block(vm):
    """A client that never reads must not stop the VM's events or the
    other clients (its outbox is bounded, then it is dropped)."""
    lazy = vm.qmp()
    lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c = vm.qmp()
    t0 = time.monotonic()
    for _ in range(200):
        c.ok("stop")
        c.ok("cont")
    assert time.monotonic() - t0 < scaled(60)
    assert c.ok("query-status")["running"] is True


def test_quit(vm):
    c = vm.qmp()
    other = vm.qmp()
    c.send_raw('{"execute": "quit", "id": "q"}')
    ev = c.read_message()
    assert ev["event"] == "SHUTDOWN"
    assert ev["data"] == {"guest": False, "reason": "host-qmp-quit"}
    assert c.read_message() == {"return": {}, "id": "q"}
    assert vm.proc.wait(timeout=scaled(10)) == 0
    with pytest.raises((EOFError, ConnectionError)):
        c.read_line()
