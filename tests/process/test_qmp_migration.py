"""QMP driving real migrations between two qmig processes: descriptors
passed with SCM_RIGHTS for fd:NAME, events and their order, query-migrate
members per state against QEMU 7.2's captures, human-monitor-command
against HMP, and a replay of libvirt 9.0's captured source and
destination sequences."""
import filecmp
import pathlib
import socket

import pytest

from harness import (FIXTURES, Qmig, free_port, json_shape, poll, qmig_bin,
                     same_types, transcript)

QMP_FIX = pathlib.Path(FIXTURES, "qemu-7.2", "qmp")
LIBVIRT_FIX = pathlib.Path(FIXTURES, "libvirt-9.0")
needs_fixtures = pytest.mark.skipif(not LIBVIRT_FIX.is_dir(),
                                    reason="shared/fixtures not found")

SRC_WORKLOAD = ["-workload", "idle", "-workload", "random,rate=2M,area=8M"]


def qmp_qmig(tmp_path, name, args):
    return Qmig(qmig_bin(), tmp_path, ["-m", "64M"] + list(args), name=name,
                qmp=True)


def fixture_replies(path, side=""):
    """QEMU's parsed replies of one side of a transcript, by request."""
    out = []
    last = None
    for s, d, msg, text in transcript(path):
        if s != side or msg is None:
            continue
        if d == "->":
            last = msg
        elif "return" in msg or "error" in msg:
            out.append((last, msg))
    return out


def qemu_query_migrate(status, side="src"):
    """A query-migrate reply of QEMU 7.2 in the given state, from the
    xbzrle+compress run (capabilities xbzrle, compress, events on)."""
    for req, rep in fixture_replies(
            QMP_FIX / "mig-xbzrle-compress-completed.log", side):
        if req.get("execute") == "query-migrate" and \
                rep["return"].get("status") == status:
            return rep["return"]
    raise KeyError(status)


def ram_dump(qmp, path):
    """pmemsave of all RAM through human-monitor-command."""
    out = qmp.ok("human-monitor-command",
                 {"command-line": "pmemsave 0 0x4000000 %s" % path})
    assert out == ""


@pytest.fixture
def pair(tmp_path):
    dst = qmp_qmig(tmp_path, "dst", ["-incoming", "defer"])
    src = qmp_qmig(tmp_path, "src", SRC_WORKLOAD)
    yield src, dst
    src.kill()
    dst.kill()


def test_fd_migration_events_and_ram(pair, tmp_path):
    src, dst = pair
    s, d = src.qmp(), dst.qmp()
    for c in (s, d):
        c.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
    a, b = socket.socketpair()
    # unknown names first
    assert s.err("migrate", {"uri": "fd:migrate"}) == \
        "File descriptor named 'migrate' has not been found"
    assert d.err("migrate-incoming", {"uri": "fd:in"}) == \
        "File descriptor named 'in' has not been found"
    assert s.err("getfd", {"fdname": "x"}) == \
        "No file descriptor supplied via SCM_RIGHTS"
    assert s.err("closefd", {"fdname": "x"}) == \
        "File descriptor named 'x' not found"
    # getfd, replace, closefd, digits
    extra = socket.socket()
    assert s.ok("getfd", {"fdname": "spare"}, fds=[extra.fileno()]) == {}
    assert s.ok("closefd", {"fdname": "spare"}) == {}
    assert s.cmd("getfd", {"fdname": "1x"}, fds=[extra.fileno()])[
        "error"]["desc"] == \
        "Parameter 'fdname' expects a name not starting with a digit"
    extra.close()

    assert d.ok("getfd", {"fdname": "in"}, fds=[b.fileno()]) == {}
    assert s.ok("getfd", {"fdname": "migrate"}, fds=[a.fileno()]) == {}
    a.close()
    b.close()
    assert d.ok("migrate-incoming", {"uri": "fd:in"}) == {}
    assert d.wait_event("MIGRATION", {"status": "setup"})
    assert s.ok("migrate", {"uri": "fd:migrate", "detach": True}) == {}
    # the setup event comes before the reply
    assert s.events[0]["data"] == {"status": "setup"}
    assert s.wait_event("MIGRATION", {"status": "active"})
    assert s.wait_event("STOP")
    assert s.wait_event("MIGRATION", {"status": "completed"})
    d.wait_event("MIGRATION", {"status": "active"})
    # QEMU 7.2's order: the destination runs, then says completed
    assert d.wait_event("RESUME")
    assert d.wait_event("MIGRATION", {"status": "completed"})
    # the name was used up
    assert s.err("closefd", {"fdname": "migrate"}) == \
        "File descriptor named 'migrate' not found"
    assert s.ok("query-status") == {"status": "postmigrate",
                                    "singlestep": False, "running": False}
    assert d.ok("query-status")["status"] == "running"
    d.ok("stop")
    ram_dump(s, "src.ram")
    ram_dump(d, "dst.ram")
    assert filecmp.cmp(tmp_path / "src.ram", tmp_path / "dst.ram",
                       shallow=False)
    # completed source: refused until cont
    assert s.err("migrate", {"uri": "fd:migrate"}) == \
        "Can't migrate the vm that was paused due to previous migration"
    s.ok("cont")
    assert s.wait_event("RESUME")


@needs_fixtures
def test_query_migrate_per_state(pair):
    src, dst = pair
    s, d = src.qmp(), dst.qmp()
    assert s.ok("query-migrate") == {}
    assert d.ok("query-migrate") == {}
    caps = [{"capability": c, "state": True}
            for c in ("events", "xbzrle", "compress")]
    s.ok("migrate-set-capabilities", {"capabilities": caps})
    d.ok("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": True},
        {"capability": "compress", "state": True}]})
    # slow enough to be seen active
    s.ok("migrate-set-parameters", {"max-bandwidth": 4 << 20,
                                    "compress-threads": 2})
    port = free_port()
    d.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:%d" % port})
    listening = d.ok("query-migrate")
    assert listening == {"socket-address": [{
        "port": str(port), "ipv4": True, "host": "127.0.0.1",
        "type": "inet"}]}
    assert d.err("migrate-incoming", {"uri": "tcp:127.0.0.1:1"}) == \
        "The incoming migration has already been started"
    assert d.err("migrate", {"uri": "tcp:127.0.0.1:1"}) == \
        "Guest is waiting for an incoming migration"
    assert d.ok("query-status")["status"] == "inmigrate"
    s.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
    s.wait_event("MIGRATION", {"status": "active"})
    active = s.ok("query-migrate")
    if active["status"] == "active":
        same_types(active, qemu_query_migrate("active"))
        assert list(active) == list(qemu_query_migrate("active"))
        assert list(active["ram"]) == list(qemu_query_migrate("active")["ram"])
        assert s.err("migrate", {"uri": "tcp:127.0.0.1:1"}) == \
            "There's a migration process in progress"
        assert s.err("migrate-set-capabilities", {"capabilities": [
            {"capability": "xbzrle", "state": False}]}) == \
            "There's a migration process in progress"
        assert s.err("migrate-continue", {"state": "pre-switchover"}) == \
            "Migration not in expected state: active"
        dst_active = d.ok("query-migrate")
        if dst_active.get("status") == "active":
            assert list(dst_active) == ["status", "socket-address"]
        # destinations may change capabilities while loading
        d.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "xbzrle", "state": True}]})
    # unlimited, and a downtime limit that no bandwidth misses: the
    # workload rewrites pages faster than a slow build compresses them
    s.ok("migrate-set-parameters", {"max-bandwidth": 0,
                                    "downtime-limit": 2000000})
    s.wait_event("MIGRATION", {"status": "completed"})
    done = s.ok("query-migrate")
    same_types(done, qemu_query_migrate("completed"))
    assert list(done) == list(qemu_query_migrate("completed"))
    assert done["ram"]["remaining"] == 0
    assert done["ram"]["total"] == 64 << 20
    d.wait_event("MIGRATION", {"status": "completed"})
    assert d.ok("query-migrate") == {"status": "completed"}


def test_failed_and_cancelled(tmp_path):
    src = qmp_qmig(tmp_path, "src", SRC_WORKLOAD)
    try:
        s = src.qmp()
        s.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
        port = free_port()  # nobody listens
        s.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
        s.wait_event("MIGRATION", {"status": "failed"})
        r = s.ok("query-migrate")
        assert r["status"] == "failed" and list(r) == ["status",
                                                       "error-desc"]
        assert "127.0.0.1" in r["error-desc"]
        assert s.ok("query-status")["running"] is True
        # a listener that never reads: cancel while active
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        s.ok("migrate-set-parameters", {"max-bandwidth": 1 << 20})
        s.ok("migrate", {"uri": "tcp:127.0.0.1:%d" %
                         lsock.getsockname()[1]})
        s.wait_event("MIGRATION", {"status": "active"})
        assert s.ok("migrate_cancel") == {}
        s.wait_event("MIGRATION", {"status": "cancelling"})
        s.wait_event("MIGRATION", {"status": "cancelled"})
        assert s.ok("query-migrate") == {"status": "cancelled"}
        assert s.ok("migrate_cancel") == {}
        lsock.close()
        assert s.err("migrate", {"uri": "tcp:127.0.0.1:1",
                                 "resume": True}) == \
            "Cannot resume if there is no paused migration"
        assert "block migration" in s.err("migrate", {
            "uri": "tcp:127.0.0.1:1", "blk": True})
        assert s.err("migrate", {"uri": "foo:bar"}) == \
            "Parameter 'uri' expects a valid migration protocol"
    finally:
        src.kill()


def test_events_capability_off_means_no_migration_events(pair):
    src, dst = pair
    s, d = src.qmp(), dst.qmp()
    port = free_port()
    d.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:%d" % port})
    s.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
    s.wait_event("STOP")
    poll(lambda: s.ok("query-migrate")["status"] == "completed",
         what="the migration to complete")
    assert all(e["event"] != "MIGRATION" for e in s.events)


HMP_LINES = ["info status", "info migrate_capabilities",
             "info migrate_parameters", "info migrate", "info name",
             "help", "help migrate", "help info migrate", "nosuch",
             "migrate_set_parameter compress-level 10",
             "migrate_set_capability nosuch on", "migrate -d foo:bar",
             "info", ""]


def test_human_monitor_command_equals_hmp(tmp_path):
    vm = qmp_qmig(tmp_path, "vm", ["-name", "guest1"])
    try:
        q = vm.qmp()
        for line in HMP_LINES:
            via_qmp = q.ok("human-monitor-command", {"command-line": line})
            # the same text, "\r\n" line ends included (hmp() turns them
            # into "\n" after checking that there is no bare "\n")
            assert via_qmp.replace("\r\n", "\n") == vm.hmp(line), line
            assert "\n" not in via_qmp.replace("\r\n", ""), line
        assert q.ok("query-name") == {"name": "guest1"}
        assert q.err("human-monitor-command", {}) == \
            "Parameter 'command-line' is missing"
        assert q.err("human-monitor-command", {
            "command-line": "info status", "cpu-index": 0}) == \
            "Parameter 'cpu-index' expects a CPU number"
        # HMP changes are seen by QMP
        q.ok("human-monitor-command",
             {"command-line": "migrate_set_parameter downtime-limit 123"})
        assert q.ok("query-migrate-parameters")["downtime-limit"] == 123
        # pmemsave, stop/cont through QMP
        assert q.ok("pmemsave", {"val": 0, "size": 4096,
                                 "filename": "p.bin"}) == {}
        assert (tmp_path / "p.bin").stat().st_size == 4096
        assert q.err("pmemsave", {"val": 0, "size": 4096,
                                  "filename": "no/such/x"}) == \
            "Could not open 'no/such/x': No such file or directory"
        assert q.err("pmemsave", {"val": "0", "size": 1,
                                  "filename": "x"}) == \
            "Invalid parameter type for 'val', expected: integer"
    finally:
        vm.kill()


def test_misc_commands(tmp_path):
    vm = qmp_qmig(tmp_path, "vm", ["-incoming", "defer", "-S"])
    try:
        q = vm.qmp()
        names = {c["name"] for c in q.ok("query-commands")}
        for n in ("qmp_capabilities", "query-migrate", "migrate",
                  "migrate-incoming", "getfd", "closefd", "cont", "stop",
                  "human-monitor-command", "quit", "query-block",
                  "query-chardev", "qom-list", "migrate-continue"):
            assert n in names
        assert q.ok("query-version")["qemu"] == {"micro": 22, "minor": 2,
                                                "major": 7}
        assert q.ok("query-block") == []
        chardevs = q.ok("query-chardev")
        # every monitor's device, as QEMU lists them (HMP's too)
        # numbered in command-line order (the harness puts -qmp last),
        # listed in start-up order (QMP first)
        assert chardevs == [{"frontend-open": True, "filename":
                             "unix:%s,server=on" % vm.qmp_path,
                             "label": "compat_monitor1"},
                            {"frontend-open": True, "filename":
                             "unix:%s,server=on" % vm.monitor_addrs[0],
                             "label": "compat_monitor0"}]
        assert q.ok("qom-list", {"path": "/machine/peripheral"}) == [
            {"name": "type", "type": "string"}]
        r = q.cmd("qom-list", {"path": "/nowhere"})
        assert r["error"] == {"class": "DeviceNotFound",
                              "desc": "Device '/nowhere' not found"}
        assert q.ok("query-status") == {"status": "inmigrate",
                                        "singlestep": False,
                                        "running": False}
        assert q.err("migrate-continue", {"state": "nonsense"}) == \
            "Parameter 'state' does not accept value 'nonsense'"
        assert q.err("migrate-continue", {"state": "pre-switchover"}) == \
            "Migration not in expected state: none"
        assert q.err("migrate-pause") == \
            "migrate-pause is currently only supported during " \
            "postcopy-active state"
        assert q.cmd("migrate_set_speed", {"value": 1})["error"] == {
            "class": "CommandNotFound",
            "desc": "The command migrate_set_speed has not been found"}
        params = q.ok("query-migrate-parameters")
        assert len(params) == 26
        assert json_shape(params)["max-bandwidth"] == "int"
        # what libvirt sends, in one call
        assert q.ok("migrate-set-parameters", {
            "compress-level": 5, "compress-threads": 2,
            "decompress-threads": 1, "tls-creds": "", "tls-hostname": "",
            "max-bandwidth": 9223372036853727232,
            "xbzrle-cache-size": 33554432}) == {}
        assert q.ok("query-migrate-parameters")["max-bandwidth"] == \
            9223372036853727232
        assert q.err("migrate-set-parameters", {"tls-creds": 5}) == \
            "Invalid parameter type for 'tls-creds', expected: StrOrNull"
        assert q.ok("migrate-set-parameters", {"tls-creds": None}) == {}
        assert q.err("migrate-set-parameters",
                     {"multifd-compression": "lz4"}) == \
            "Parameter 'multifd-compression' does not accept value 'lz4'"
    finally:
        vm.kill()


def libvirt_pairs(path):
    """(request, QEMU's reply) of a libvirt capture, matched by id."""
    requests, replies = [], {}
    for side, d, msg, text in transcript(path):
        if not isinstance(msg, dict):
            continue
        if d == "->" and "id" in msg:
            requests.append(msg)
        elif d == "<-" and "id" in msg:
            replies[msg["id"]] = msg
    return [(r, replies.get(r["id"])) for r in requests]


def check_like_qemu(name, mine, qemu, qemu_by_status=None):
    """The reply has QEMU's member names and JSON types."""
    if qemu is None:
        return  # cut in the capture
    assert ("error" in mine) == ("error" in qemu), (name, mine)
    if "return" not in qemu:
        return
    if name == "query-migrate" and mine["return"]:
        status = mine["return"]["status"]
        ref = (qemu_by_status or {}).get(status)
        if ref is not None:
            same_types(mine["return"], ref)
        return
    if name == "query-migrate-parameters":
        same_types(mine["return"], qemu["return"])
        return
    if isinstance(qemu["return"], list):
        assert isinstance(mine["return"], list), name
        if mine["return"] and qemu["return"]:
            same_types(mine["return"][0], qemu["return"][0])
        return
    same_types(mine["return"], qemu["return"])


@needs_fixtures
def test_libvirt_replay(tmp_path):
    """libvirt 9.0's QMP for `virsh migrate --live --compressed
    --comp-methods mt,xbzrle ...`, replayed on both ends, then the RAM of
    both compared."""
    dst = qmp_qmig(tmp_path, "dst", ["-incoming", "defer", "-S",
                                 "-name", "tiny"])
    src = qmp_qmig(tmp_path, "src", SRC_WORKLOAD + ["-name", "tiny"])
    try:
        d, s = dst.qmp(negotiate=False), src.qmp(negotiate=False)
        dst_pairs = libvirt_pairs(
            LIBVIRT_FIX / "migrate-compressed-destination.log")
        src_pairs = libvirt_pairs(
            LIBVIRT_FIX / "migrate-compressed-source.log")
        src_by_status = {}
        for req, rep in src_pairs:
            if req["execute"] == "query-migrate" and rep and \
                    rep["return"]:
                src_by_status[rep["return"]["status"]] = rep["return"]
        port = free_port()

        def run(c, req, qemu):
            args = req.get("arguments")
            if req["execute"] == "migrate-incoming":
                args = {"uri": "tcp:127.0.0.1:%d" % port}
            if args and "max-bandwidth" in args and \
                    args["max-bandwidth"] == 1048576:
                # libvirt's value without `migrate-setspeed`
                args = dict(args, **{"max-bandwidth": 9223372036853727232})
            fds = None
            if req["execute"] == "getfd":
                conn = socket.create_connection(("127.0.0.1", port))
                fds = [conn.fileno()]
            r = c.cmd(req["execute"], args, id=req["id"], fds=fds)
            if fds:
                conn.close()
            assert r.get("id") == req["id"]
            check_like_qemu(req["execute"], r, qemu, src_by_status)
            return r

        supported = None
        # destination: domain start and prepare, up to migrate-incoming
        rest_dst = []
        started = False
        for req, qemu in dst_pairs:
            if started:
                rest_dst.append((req, qemu))
                continue
            if supported is None and req["execute"] != "qmp_capabilities":
                supported = {c["name"] for c in d.ok("query-commands")}
            if supported and req["execute"] not in supported:
                # CPU and QOM introspection of a real machine
                r = d.cmd(req["execute"], req.get("arguments"))
                assert r["error"]["class"] == "CommandNotFound"
                continue
            run(d, req, qemu)
            started = req["execute"] == "migrate-incoming"
        assert started
        d.wait_event("MIGRATION", {"status": "setup"})

        # source: domain start as libvirt does it, then the perform phase
        s.ok("qmp_capabilities")
        s.ok("query-migrate-capabilities")
        s.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
        completed = False
        for req, qemu in src_pairs:
            if req["execute"] == "migrate-continue":
                # only if qmig paused before the switch-over
                ev = s.wait_event("MIGRATION", timeout=60)
                while ev["data"]["status"] not in ("pre-switchover",
                                                   "completed"):
                    ev = s.wait_event("MIGRATION", timeout=60)
                if ev["data"]["status"] == "pre-switchover":
                    run(s, req, qemu)
                    s.wait_event("MIGRATION", {"status": "completed"},
                                 timeout=60)
                completed = True
                continue
            if req["execute"] == "query-migrate" and not completed and \
                    qemu and qemu["return"].get("status") == "completed":
                s.wait_event("MIGRATION", {"status": "completed"},
                             timeout=60)
                completed = True
            run(s, req, qemu)
            if req["execute"] == "migrate":
                assert s.events[0]["data"] == {"status": "setup"}
        names = [(e["event"], e.get("data", {}).get("status"))
                 for e in s.seen]
        assert names.index(("STOP", None)) < \
            names.index(("MIGRATION", "completed"))
        # as captured from QEMU 7.2: pass 1 is announced before active
        assert names[:3] == [("MIGRATION", "setup"),
                             ("MIGRATION_PASS", None),
                             ("MIGRATION", "active")]
        done = s.ok("query-migrate")
        assert done["status"] == "completed"
        assert "xbzrle-cache" in done and "compression" in done

        # destination: after completed, libvirt's checks, cont, reset
        d.wait_event("MIGRATION", {"status": "completed"}, timeout=60)
        for req, qemu in rest_dst:
            run(d, req, qemu)
            if req["execute"] == "cont":
                d.wait_event("RESUME")
        caps = {c["capability"]: c["state"]
                for c in d.ok("query-migrate-capabilities")}
        assert caps["events"] and not caps["xbzrle"]
        assert d.ok("query-migrate-parameters")["compress-level"] == 1

        d.ok("stop")
        ram_dump(s, "src.ram")
        ram_dump(d, "dst.ram")
        assert filecmp.cmp(tmp_path / "src.ram", tmp_path / "dst.ram",
                           shallow=False)
    finally:
        src.kill()
        dst.kill()


def test_pause_before_switchover_and_passes(pair, tmp_path):
    """pause-before-switchover: the source stops in pre-switchover (guest
    paused in finish-migrate, `cont` refused) until migrate-continue, then
    passes device -> completed; MIGRATION_PASS counts every dirty sync."""
    src, dst = pair
    s, d = src.qmp(), dst.qmp()
    s.ok("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": True},
        {"capability": "pause-before-switchover", "state": True}]})
    d.ok("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": True}]})
    port = free_port()
    d.ok("migrate-incoming", {"uri": "tcp:127.0.0.1:%d" % port})
    s.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
    s.wait_event("MIGRATION", {"status": "pre-switchover"}, timeout=60)
    assert s.ok("query-status") == {"status": "finish-migrate",
                                    "singlestep": False, "running": False}
    assert s.err("cont") == "Migration is not finalized yet"
    assert s.err("migrate-continue", {"state": "active"}) == \
        "Migration not in expected state: pre-switchover"
    s.ok("migrate-continue", {"state": "pre-switchover"})
    s.wait_event("MIGRATION", {"status": "completed"}, timeout=60)
    statuses = [e["data"]["status"] for e in s.seen
                if e["event"] == "MIGRATION"]
    assert statuses == ["setup", "active", "pre-switchover", "device",
                        "completed"]
    passes = [e["data"]["pass"] for e in s.seen
              if e["event"] == "MIGRATION_PASS"]
    done = s.ok("query-migrate")
    assert passes == list(range(1, done["ram"]["dirty-sync-count"] + 1))
    d.wait_event("MIGRATION", {"status": "completed"}, timeout=60)
    ram_dump(s, "src.ram")
    ram_dump(d, "dst.ram")
    assert filecmp.cmp(tmp_path / "src.ram", tmp_path / "dst.ram",
                       shallow=False)
