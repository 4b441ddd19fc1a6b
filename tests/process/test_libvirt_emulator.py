"""qmig as libvirt 9.0 runs an <emulator>: the probe's argv with
-daemonize and -pidfile, the probe's QMP answers from qmig's own tables,
a domain's argv, -uuid behind query-uuid and `info uuid`, and the power
button (shared/docs/libvirt-emulator.md §1 and §2)."""
import json
import os
import subprocess
import time

import pytest

from harness import QMPClient, Qmig, poll, qmig_bin, ram_equal, scaled

QMIG = qmig_bin()


def qmp_qmig(tmp_path, name, extra=(), ram="64M"):
    """qmig with a QMP socket and an HMP one, as the tests below use it."""
    return Qmig(QMIG, tmp_path, ["-m", ram] + list(extra), name=name,
                qmp=True)


def run(args, timeout=20):
    return subprocess.run([QMIG] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True,
                          timeout=scaled(timeout))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[1][0] != "Z"


def stop_pid(pid):
    if pid_alive(pid):
        os.kill(pid, 9)
    poll(lambda: not pid_alive(pid), 20, what="pid %d to end" % pid)


@pytest.fixture
def probe(tmp_path):
    """qmig started exactly as libvirt's capability probe starts it."""
    sock = tmp_path / "qmp.monitor"
    pidfile = tmp_path / "qmp.pid"
    r = run(["-S", "-no-user-config", "-nodefaults", "-nographic",
             "-machine", "none,accel=kvm:tcg",
             "-qmp", "unix:%s,server=on,wait=off" % sock,
             "-pidfile", str(pidfile), "-daemonize"])
    # The parent is gone, and only after the socket listens and the
    # pidfile is written.
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    pid = int(pidfile.read_text())
    assert pidfile.read_text() == "%d\n" % pid
    assert sock.exists()
    c = QMPClient(str(sock))
    yield pid, c
    c.close()
    stop_pid(pid)


def test_daemonize_detaches_with_stdio_on_dev_null(probe):
    pid, c = probe
    for fd in (0, 1, 2):
        assert os.readlink("/proc/%d/fd/%d" % (pid, fd)) == "/dev/null"
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().split(") ")[1].split()
    assert int(fields[3]) == pid  # its own session (setsid)
    assert os.readlink("/proc/%d/cwd" % pid) == "/"


def test_daemonize_failure_exits_1_with_the_reason(tmp_path):
    sock = tmp_path / "no-such-dir" / "qmp.monitor"
    r = run(["-nodefaults", "-qmp", "unix:%s,server=on,wait=off" % sock,
             "-pidfile", str(tmp_path / "p.pid"), "-daemonize"])
    assert r.returncode == 1
    assert r.stderr.startswith("qmig: ") and str(sock) in r.stderr


def test_daemonize_needs_a_monitor_other_than_stdio():
    r = run(["-daemonize"])
    assert r.returncode == 2
    assert "-daemonize needs a monitor other than stdio" in r.stderr


def test_pidfile_is_locked(tmp_path, probe):
    pid, c = probe
    sock = tmp_path / "second.monitor"
    r = run(["-nodefaults", "-qmp", "unix:%s,server=on,wait=off" % sock,
             "-pidfile", str(tmp_path / "qmp.pid")])
    assert r.returncode == 1
    assert "cannot create PID file: Cannot lock pid file" in r.stderr


def test_probe_answers(probe):
    pid, c = probe
    assert c.ok("qmp_capabilities") == {}
    names = [x["name"] for x in c.ok("query-commands")]
    for cmd in ["query-target", "query-kvm", "query-qmp-schema",
                "qom-list-types", "query-machines",
                "device-list-properties", "qom-list-properties",
                "query-command-line-options", "query-uuid",
                "system_powerdown"]:
        assert cmd in names
    # every listed command exists: none answers CommandNotFound
    assert len(names) == len(set(names))
    for cmd in names:
        r = c.cmd(cmd, {"typename": "x"} if "properties" in cmd else None)
        if "error" in r:
            assert "has not been found" not in r["error"]["desc"], cmd
        if cmd in ("quit", "system_powerdown", "migrate-incoming"):
            break  # would end the session or needs arguments
    assert c.ok("query-target") == {"arch": "x86_64"}
    assert c.ok("query-kvm") == {"enabled": False, "present": False}
    machines = c.ok("query-machines")
    assert machines == [{"hotpluggable-cpus": False, "name": "qmig",
                         "numa-mem-supported": False, "cpu-max": 1,
                         "deprecated": False, "is-default": True}]
    types = c.ok("qom-list-types")
    assert {"name": "tcg-accel", "parent": "accel"} in types
    assert not any(t.get("abstract") for t in types)
    assert {"name": "accel", "parent": "object", "abstract": True} in \
        c.ok("qom-list-types", {"abstract": True})
    assert c.ok("qom-list-types", {"implements": "accel"}) == [
        {"name": "tcg-accel", "parent": "accel"}]
    e = c.cmd("device-list-properties", {"typename": "virtio-net-pci"})
    assert e["error"] == {"class": "DeviceNotFound",
                          "desc": "Device 'virtio-net-pci' not found"}
    # libvirt 9.0 crashes on an error here
    assert c.ok("qom-list-properties", {"typename": "none-machine"}) == []
    assert c.ok("query-command-line-options") == []
    assert c.ok("query-uuid") == {
        "UUID": "00000000-0000-0000-0000-000000000000"}


def test_schema_describes_the_dispatch_table(probe):
    pid, c = probe
    c.ok("qmp_capabilities")
    schema = c.ok("query-qmp-schema")
    by_name = {e["name"]: e for e in schema}
    assert len(by_name) == len(schema)
    commands = [e["name"] for e in schema if e["meta-type"] == "command"]
    assert sorted(commands) == sorted(
        x["name"] for x in c.ok("query-commands"))
    # every type a command or member names is in the schema
    for e in schema:
        for key in ("arg-type", "ret-type", "element-type"):
            if key in e:
                assert e[key] in by_name, (e, key)
        for m in e.get("members", []):
            assert m["type"] in by_name, m
    args = by_name[by_name["migrate"]["arg-type"]]["members"]
    assert {"name": "uri", "type": "str"} in args
    assert {"name": "detach", "type": "bool", "default": None} in args
    params = by_name[by_name["migrate-set-parameters"]["arg-type"]]
    names = {m["name"] for m in params["members"]}
    assert {"downtime-limit", "xbzrle-cache-size", "compress-level",
            "tls-creds"} <= names
    # a member the schema gives is accepted, one it lacks is refused
    assert c.ok("migrate-set-parameters", {"downtime-limit": 300}) == {}
    assert "unexpected" in c.err("migrate-set-parameters",
                                 {"no-such-param": 1})
    events = {e["name"] for e in schema if e["meta-type"] == "event"}
    assert {"STOP", "RESUME", "SHUTDOWN", "POWERDOWN", "MIGRATION",
            "MIGRATION_PASS"} <= events


DOMAIN_ARGV = [
    "-name", "guest=qm,debug-threads=on", "-S",
    "-object", "secret,id=masterKey0,format=raw,file=SECRET",
    "-machine", "qmig,usb=off,dump-guest-core=off",
    "-accel", "tcg", "-m", "64", "-overcommit", "mem-lock=off",
    "-smp", "1,sockets=1,cores=1,threads=1",
    "-uuid", "0f8fad5b-d9cb-469f-a165-70867728950e",
    "-display", "none", "-no-user-config", "-nodefaults",
    "-rtc", "base=utc", "-no-shutdown", "-no-acpi", "-boot", "strict=on",
    "-audiodev", '{"id":"audio1","driver":"none"}', "-msg", "timestamp=on",
]


def domain_argv(tmp_path, drop=()):
    secret = tmp_path / "master-key.aes"
    secret.write_bytes(os.urandom(32))
    argv = [a.replace("SECRET", str(secret)) for a in DOMAIN_ARGV]
    for opt in drop:
        i = argv.index(opt)
        del argv[i]
    return argv


def test_domain_argv_with_a_chardev_fd(tmp_path):
    """The whole argv of libvirt's domain, QMP on a listening socket it
    passes as fd=N."""
    import socket
    path = str(tmp_path / "mon.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(4)
    fd = lsock.fileno()
    argv = domain_argv(tmp_path) + [
        "-chardev", "socket,id=charmonitor,fd=%d,server=on,wait=off" % fd,
        "-mon", "chardev=charmonitor,id=monitor,mode=control"]
    p = subprocess.Popen([QMIG] + argv, pass_fds=[fd],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    lsock.close()
    try:
        c = QMPClient(path)
        c.ok("qmp_capabilities")
        assert c.ok("query-name") == {"name": "qm"}
        assert c.ok("query-uuid") == {
            "UUID": "0f8fad5b-d9cb-469f-a165-70867728950e"}
        assert c.ok("query-status")["status"] == "prelaunch"
        assert c.ok("human-monitor-command",
                    {"command-line": "info uuid"}) == \
            "0f8fad5b-d9cb-469f-a165-70867728950e\r\n"
        assert c.ok("human-monitor-command",
                    {"command-line": "info version"}).startswith("7.2.22qmig ")
        c.ok("cont")
        c.wait_event("RESUME")
        # -no-acpi: the button reaches no guest
        c.ok("system_powerdown")
        c.wait_event("POWERDOWN")
        assert c.ok("query-status")["status"] == "running"
        assert not [e for e in c.events if e["event"] == "SHUTDOWN"]
    finally:
        p.kill()
        p.communicate(timeout=scaled(10))


def start_domain(tmp_path, drop=()):
    return qmp_qmig(tmp_path, "vm", extra=domain_argv(tmp_path, drop))


def test_powerdown_with_no_shutdown_stops_in_shutdown(tmp_path):
    q = start_domain(tmp_path, drop=["-no-acpi"])
    try:
        c = q.qmp()
        c.ok("cont")
        c.ok("system_powerdown")
        c.wait_event("POWERDOWN")
        ev = c.wait_event("SHUTDOWN")
        assert ev["data"] == {"guest": True, "reason": "guest-shutdown"}
        c.wait_event("STOP")
        assert c.ok("query-status") == {"status": "shutdown",
                                        "singlestep": False,
                                        "running": False}
        assert c.err("cont") == "Resetting the Virtual Machine is required"
        assert q.proc.poll() is None
    finally:
        q.kill()


def test_powerdown_without_no_shutdown_exits(tmp_path):
    q = start_domain(tmp_path, drop=["-no-acpi", "-no-shutdown"])
    try:
        c = q.qmp()
        c.ok("cont")
        assert c.ok("system_powerdown") == {}
        ev = c.wait_event("SHUTDOWN")
        assert ev["data"] == {"guest": True, "reason": "guest-shutdown"}
        assert q.proc.wait(timeout=scaled(20)) == 0
    finally:
        q.kill()


def test_quit_sends_shutdown(tmp_path):
    q = start_domain(tmp_path)
    try:
        c = q.qmp()
        assert c.ok("quit") == {}
        ev = c.wait_event("SHUTDOWN")
        assert ev["data"] == {"guest": False, "reason": "host-qmp-quit"}
        assert q.proc.wait(timeout=scaled(20)) == 0
    finally:
        q.kill()


def test_memory_backend_ram(tmp_path):
    q = qmp_qmig(tmp_path, "vm", ram="32M", extra=[
        "-object", "memory-backend-ram,id=pc.ram,size=32M",
        "-machine", "qmig,memory-backend=pc.ram"])
    try:
        q.hmp("pmemsave 0 33554432 all.bin")
        assert (tmp_path / "all.bin").stat().st_size == 32 << 20
    finally:
        q.kill()
    r = run(["-object", "memory-backend-ram,id=pc.ram,size=64M",
             "-machine", "none,memory-backend=pc.ram", "-m", "32"])
    assert r.returncode == 1
    assert r.stderr == ("qmig: Machine memory size does not match the size "
                        "of the memory backend\n")
    r = run(["-machine", "none,memory-backend=nope"])
    assert r.stderr == "qmig: Memory backend 'nope' not found\n"


@pytest.mark.parametrize("args,message", [
    (["-smp", "2"], "Invalid SMP CPUs 2. The max CPUs supported by "
     "machine 'qmig' is 1"),
    (["-machine", "none", "-smp", "1,sockets=2"],
     "Invalid SMP CPUs 2. The max CPUs supported by machine 'none' is 1"),
    (["-smp", "1,maxcpus=4"], "Invalid SMP CPUs 4. The max CPUs supported "
     "by machine 'qmig' is 1"),
    (["-uuid", "xyz"], "-uuid xyz: failed to parse UUID string: wrong "
     "format"),
    (["-machine", "none,foo=bar"], "Property 'none-machine.foo' not found"),
    (["-machine", "pc"], "unsupported machine type 'pc': qmig has only "
     "'qmig' (also called 'none')"),
    (["-device", "virtio-net-pci,id=n0"], "-device virtio-net-pci,id=n0: "
     "'virtio-net-pci' is not a valid device model name"),
    (["-name", "guest=x,foo=1"], "-name guest=x,foo=1: Invalid parameter "
     "'foo'"),
    (["-accel", "kvm"], "-accel kvm: invalid accelerator kvm: qmig runs no "
     "vCPU and offers only 'tcg'"),
    (["-rtc", "base=soon"], "invalid datetime format\nvalid formats: "
     "'2006-06-17T16:01:21' or '2006-06-17'"),
    (["-audiodev", "pa,id=a"], "-audiodev pa,id=a: Parameter 'driver' does "
     "not accept value 'pa': qmig has only 'none'"),
    (["-object", "secret,id=s,file=/nonexistent/key"],
     "-object secret,id=s,file=/nonexistent/key: Unable to read "
     "/nonexistent/key: No such file or directory"),
    (["-object", "iothread,id=t"], "-object iothread,id=t: invalid object "
     "type: iothread"),
])
def test_refused_like_qemu(args, message):
    r = run(["-monitor", "none"] + args)
    assert r.returncode == 1
    assert r.stderr == "qmig: %s\n" % message


def test_msg_timestamp_prefixes_errors():
    r = run(["-msg", "timestamp=on", "-uuid", "1"])
    assert r.returncode == 1
    stamp, rest = r.stderr.split(" ", 1)
    time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    assert stamp.endswith("Z") and len(stamp) == 27
    assert rest == "qmig: -uuid 1: failed to parse UUID string: wrong format\n"


def test_name_process_sets_the_process_name(tmp_path):
    q = qmp_qmig(tmp_path, "vm", extra=["-name", "guest=g1,process=qmig-g1"])
    try:
        with open("/proc/%d/comm" % q.proc.pid) as f:
            assert f.read() == "qmig-g1\n"
        assert q.qmp().ok("query-name") == {"name": "g1"}
    finally:
        q.kill()


def test_info_uuid_and_version_over_hmp(tmp_path):
    q = qmp_qmig(tmp_path, "vm", extra=[
        "-uuid", "0F8FAD5B-D9CB-469F-A165-70867728950E"])
    try:
        assert q.hmp("info uuid") == "0f8fad5b-d9cb-469f-a165-70867728950e\n"
        assert q.last_raw.endswith(b"\r\n(qmig) ")
        v = q.hmp("info version")
        assert v.startswith("7.2.22qmig ") and v.endswith("\n")
    finally:
        q.kill()


def test_stop_with_several_workloads(tmp_path):
    """libvirt's domains carry several -workload options; each thread
    must keep its workload where it was (adding the second used to move
    the first, and `stop` then waited forever for its thread)."""
    q = qmp_qmig(tmp_path, "vm", extra=[
        "-workload", "seed,area=4M", "-workload", "random,rate=4M,area=48M",
        "-workload", "random,rate=1M,area=8M,seed=3"])
    try:
        c = q.qmp()
        for _ in range(3):
            assert c.ok("stop") == {}
            c.wait_event("STOP")
            assert c.ok("query-status")["status"] == "paused"
            assert c.ok("cont") == {}
            c.wait_event("RESUME")
    finally:
        q.kill()


def test_incoming_from_an_inherited_fd(tmp_path):
    """virsh restore: qmig starts with -incoming defer and the saved
    stream's descriptor N open, then gets migrate-incoming fd:N (a digit
    first: an inherited descriptor, as QEMU's monitor_fd_param)."""
    src = qmp_qmig(tmp_path, "src", ram="32M",
               extra=["-workload", "random,rate=8M,area=16M,seed=5"])
    dst_proc = None
    try:
        s = src.qmp()
        s.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
        s.ok("stop")
        src.hmp("pmemsave 0 33554432 src.ram")
        stream = tmp_path / "stream.bin"
        s.ok("migrate", {"uri": "exec:cat > %s" % stream})
        s.wait_event("MIGRATION", {"status": "completed"}, timeout=60)
        qmp_path = str(tmp_path / "dst.qmp")
        with open(stream, "rb") as f:
            fd = f.fileno()
            dst_proc = subprocess.Popen(
                [QMIG, "-m", "32M", "-S", "-incoming", "defer",
                 "-qmp", "unix:%s,server=on,wait=off" % qmp_path],
                pass_fds=[fd], cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        poll(lambda: os.path.exists(qmp_path), 20, what="dst QMP socket")
        d = QMPClient(qmp_path)
        d.ok("qmp_capabilities")
        d.ok("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
        assert d.err("migrate-incoming", {"uri": "fd:999"}) == \
            "Invalid file descriptor number '999'"
        d.ok("migrate-incoming", {"uri": "fd:%d" % fd})
        d.wait_event("MIGRATION", {"status": "completed"}, timeout=60)
        d.ok("pmemsave", {"val": 0, "size": 32 << 20,
                          "filename": str(tmp_path / "dst.ram")})
        assert ram_equal(str(tmp_path / "src.ram"), str(tmp_path / "dst.ram"))
    finally:
        src.kill()
        if dst_proc:
            dst_proc.kill()
            dst_proc.communicate(timeout=scaled(10))
