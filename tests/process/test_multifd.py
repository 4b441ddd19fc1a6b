"""multifd (QEMU 7.2's parallel channels): qmig with itself and with a real
QEMU 7.2 both ways, for compression none, zlib and zstd and 1, 2 and 4
channels; RAM compared through pmemsave.  The migration goes through a
counting TCP proxy, which shows how many connections carried pages."""

import re
import socket
import threading
import time

import pytest

from harness import MonitorClosed, QMPClient, free_port, migcheck, poll
from test_interop_qemu import compare_ram, qemu_source

MiB = 1 << 20
PACKET_PAYLOAD = 512 << 10  # a full multifd packet's pages


class CountingProxy:
    """Forwards every connection to 127.0.0.1:target in accept order (a
    QEMU 7.2 destination takes its first connection for the main stream)
    and counts the bytes each one carried towards the destination."""

    def __init__(self, target, drop=(), hold=()):
        """Connections whose index is in `drop` reach the destination and
        are closed at once, both ways, before a byte passes (a source that
        gave up right after connecting); those in `hold` are never passed
        on (a relay that lost them), their source side left open."""
        self.target = target
        self.drop, self.hold, self.held = set(drop), set(hold), []
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.counts = []
        self.socks = []
        self.lock = threading.Lock()
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    @property
    def uri(self):
        return "tcp:127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                idx = len(self.counts)
            if idx in self.hold:
                with self.lock:
                    self.counts.append(0)
                    self.socks.append((c, c))
                self.held.append(c)
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:   # the destination is gone: so is this one
                with self.lock:
                    self.counts.append(0)
                    self.socks.append((c, c))
                c.close()
                continue
            if idx in self.drop:
                with self.lock:
                    self.counts.append(0)
                    self.socks.append((c, u))
                u.close()
                c.close()
                continue
            with self.lock:
                self.counts.append(0)
                self.socks.append((c, u))
            for a, b, n in ((c, u, idx), (u, c, None)):
                t = threading.Thread(target=self._pump, args=(a, b, n), daemon=True)
                t.start()

    def _pump(self, a, b, idx):
        try:
            while True:
                data = a.recv(1 << 16)
                if not data:
                    break
                if idx is not None:
                    with self.lock:
                        self.counts[idx] += len(data)
                b.sendall(data)
        except OSError:
            pass
        for s, how in ((b, socket.SHUT_WR), (a, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def carried(self):
        with self.lock:
            return list(self.counts)

    def cut(self, idx):
        """Breaks connection idx (0: the main stream) both ways, once the
        source has opened it (a loaded machine may not have yet)."""
        poll(lambda: len(self.carried()) > idx, 30, 0.01,
             "connection %d through the proxy" % idx)
        with self.lock:
            pair = self.socks[idx]
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.lsock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def proxy():
    made = []

    def make(target, **kw):
        p = CountingProxy(target, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


METHODS = ["none", "zlib", "zstd"]
CHANNELS = [1, 2, 4]
MATRIX = [(m, n) for m in METHODS for n in CHANNELS]
IDS = ["%s-%d" % mn for mn in MATRIX]


def set_multifd(side, method, channels):
    for cmd in ("migrate_set_capability multifd on",
                "migrate_set_parameter multifd-channels %d" % channels,
                "migrate_set_parameter multifd-compression %s" % method):
        assert side.hmp(cmd) == "", cmd


def check_channels(p, channels):
    """main + channels connections; more than one carried a packet's pages
    when there are channels to spare."""
    got = poll(lambda: len(p.carried()) == channels + 1 and p.carried(), 30, 0.05,
               "%d connections" % (channels + 1))
    busy = [n for n in got[1:] if n >= PACKET_PAYLOAD // 8]
    assert len(busy) >= min(channels, 2), got
    return got


def source_multifd_bytes(src):
    v = migcheck.parse_info(src.info_migrate())
    return migcheck.num(v["multifd bytes"])


@pytest.mark.parametrize("method,channels", MATRIX, ids=IDS)
def test_qmig_to_qmig(spawn, proxy, tmp_path, method, channels):
    src = spawn(["-m", "32M", "-workload", "idle", "-workload",
                 "random,rate=20M,area=16M"], name="src")
    port = free_port()
    dst = spawn(["-m", "32M", "-incoming", "defer"], name="dst")
    set_multifd(dst, method, channels)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    p = proxy(port)
    set_multifd(src, method, channels)
    src.wait_ram_written(4 * MiB)
    assert src.hmp("migrate_set_parameter downtime-limit %d" % migcheck.SURE_DOWNTIME_MS) == ""
    assert src.hmp("migrate " + p.uri, timeout=60) == ""
    info = src.info_migrate()
    assert "Migration status: completed" in info, info + src.stderr()
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 32 * MiB)
    got = check_channels(p, channels)
    # what the channels wrote is what `multifd bytes` says
    assert source_multifd_bytes(src) == sum(got[1:]) >> 10, (info, got)
    assert src.stderr() == "" and dst.stderr() == ""


@pytest.mark.parametrize("method,channels", MATRIX, ids=IDS)
def test_qmig_to_qemu(spawn, spawn_qemu, proxy, tmp_path, method, channels):
    src = spawn(["-m", "16M", "-workload", "idle", "-workload",
                 "random,rate=20M,area=16M"], name="src")
    port = free_port()
    dst = spawn_qemu(name="qdst", ram_mib=16, incoming="defer")
    set_multifd(dst, method, channels)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    p = proxy(port)
    set_multifd(src, method, channels)
    src.wait_ram_written(4 * MiB)
    assert src.hmp("migrate_set_parameter downtime-limit %d" % migcheck.SURE_DOWNTIME_MS) == ""
    assert src.hmp("migrate " + p.uri, timeout=60) == ""
    info = src.info_migrate()
    assert "Migration status: completed" in info, info + src.stderr()
    dst.wait_status("completed", 30)
    assert dst.vm_status() == "running"
    compare_ram(src, dst, tmp_path, 16 * MiB)
    check_channels(p, channels)
    assert src.stderr() == ""


@pytest.mark.parametrize("method,channels", MATRIX, ids=IDS)
def test_qemu_to_qmig(spawn, spawn_qemu, proxy, tmp_path, fixture_image, method, channels):
    src, _ = qemu_source(spawn_qemu, tmp_path, fixture_image("plain"))
    port = free_port()
    dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst")
    set_multifd(dst, method, channels)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    p = proxy(port)
    set_multifd(src, method, channels)
    assert src.hmp("migrate -d " + p.uri) == ""
    src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    assert dst.vm_status() == "running"
    compare_ram(src, dst, tmp_path, 16 * MiB)
    check_channels(p, channels)
    assert dst.stderr() == ""


def test_qemu_multifd_into_qmig_without_it(spawn, spawn_qemu, tmp_path, fixture_image):
    """A QEMU 7.2 multifd source, a qmig destination without multifd: the
    destination fails saying multifd, not with a ram section error."""
    src, _ = qemu_source(spawn_qemu, tmp_path, fixture_image("plain"))
    port = free_port()
    dst = spawn(["-m", "16M", "-incoming", "tcp:127.0.0.1:%d" % port], name="dst")
    assert src.hmp("migrate_set_capability multifd on") == ""
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""

    # QEMU 7.2 may close its channels before it wrote their handshake
    # (seen under a slow TSan destination: both channels ended empty and
    # the stream completed): then nothing names multifd, and the one thing
    # to hold is that the guest arrived whole.
    def outcome():
        try:
            done = dst.migration_status() == "completed"
        except (MonitorClosed, OSError):  # it is exiting
            done = False
        if not dst.alive():
            return "exited"
        return done and "completed"
    if poll(outcome, 60, 0.05, "the destination to fail or complete") == \
            "completed":
        assert src.wait_status("completed", 60)
        compare_ram(src, dst, tmp_path, 16 << 20)
        return
    assert dst.wait_exit(60) == 1
    err = dst.stderr()
    assert "qmig: Extra incoming migration connection; ignoring\n" in err, err
    assert "multifd capability is off on this destination" in err, err
    assert "error while loading state" not in err, err
    assert err.endswith("qmig: load of migration failed: Invalid argument\n"), err
    # (QEMU's own end varies: usually `failed (Unable to write to socket:
    # ...)`, but it can also stay in `setup` when its channel is closed
    # before it wrote the handshake; qmig's side is what is tested here.)


# ---- limits, failure and cancel (qmig <-> qmig) ----

SLOW_SRC = ["-m", "32M", "-workload", "idle", "-workload", "random,rate=1M,area=4M"]


def start_slow(spawn, proxy, method="none", channels=4, bandwidth="1"):
    """A multifd migration at max-bandwidth 1 MiB/s through the proxy,
    with pages flowing."""
    src = spawn(SLOW_SRC, name="src")
    port = free_port()
    dst = spawn(["-m", "32M", "-incoming", "defer"], name="dst")
    set_multifd(dst, method, channels)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    p = proxy(port)
    set_multifd(src, method, channels)
    assert src.hmp("migrate_set_parameter max-bandwidth %s" % bandwidth) == ""
    assert src.hmp("migrate -d " + p.uri) == ""
    src.wait_status("active", 10)
    migcheck.poll_transferred(src, 256)
    return src, dst, p


def migrate_again(spawn, proxy, src, tmp_path, multifd, name="dst2"):
    """A fresh destination; the source completes a migration to it, with or
    without multifd, and the RAM is equal."""
    port = free_port()
    dst = spawn(["-m", "32M", "-incoming", "defer"], name=name)
    if multifd:
        set_multifd(dst, "zstd", 2)
        set_multifd(src, "zstd", 2)
    else:
        assert src.hmp("migrate_set_capability multifd off") == ""
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    migcheck.converge(src)
    assert src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60) == ""
    assert "Migration status: completed" in src.info_migrate(), src.info_migrate()
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 32 * MiB)
    v = migcheck.parse_info(src.info_migrate())
    assert (migcheck.num(v["multifd bytes"]) > 0) == multifd


def test_max_bandwidth_counts_every_channel(spawn, proxy, tmp_path):
    """max-bandwidth 1 MiB/s with 4 channels: what all connections carry
    together stays at the limit (a limiter that counted only the main
    stream would let the channels run at wire speed); a higher limit set
    mid-migration is taken at once."""
    src, dst, p = start_slow(spawn, proxy)
    t0, b0 = time.monotonic(), sum(p.carried())
    time.sleep(2)   # a measuring window, not a wait for a state
    t1, b1 = time.monotonic(), sum(p.carried())
    rate = (b1 - b0) / (t1 - t0)
    # one window's debt and the packets in flight are the slack
    assert rate <= 1.3 * MiB + 4 * (PACKET_PAYLOAD + 2048) / (t1 - t0), rate
    assert src.hmp("migrate_set_parameter max-bandwidth 1g") == ""
    assert src.hmp("migrate_set_parameter downtime-limit %d" % migcheck.SURE_DOWNTIME_MS) == ""
    src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 32 * MiB)
    # transferred ram counts the wire bytes of every connection
    v = migcheck.parse_info(src.info_migrate())
    assert migcheck.num(v["transferred ram"]) <= sum(p.carried()) >> 10


def test_cancel_then_migrate_again(spawn, proxy, tmp_path):
    src, dst, p = start_slow(spawn, proxy, "zlib", 4)
    assert src.hmp("migrate_cancel") == ""
    src.wait_status("cancelled", 15)
    assert src.vm_status() == "running"
    assert dst.wait_exit(30) == 1, dst.stderr()
    migrate_again(spawn, proxy, src, tmp_path, multifd=True)
    assert src.hmp("cont") == ""
    migrate_again(spawn, proxy, src, tmp_path, multifd=False, name="dst3")


@pytest.mark.parametrize("when_kb", [0, 512, 2048])
def test_destination_killed_then_migrate_again(spawn, proxy, tmp_path, when_kb):
    src, dst, p = start_slow(spawn, proxy, "none", 2)
    migcheck.poll_transferred(src, when_kb)
    dst.kill()
    info = src.wait_status("failed", 30)
    assert re.search(r"^Migration status: failed \(Unable to write to socket: "
                     r"(Broken pipe|Connection reset by peer)\)$", info, re.M), info
    assert src.vm_status() == "running"
    migrate_again(spawn, proxy, src, tmp_path, multifd=when_kb != 512)


@pytest.mark.parametrize("idx", [1, 2, 0], ids=["channel0", "channel1", "main"])
def test_broken_connection_fails_all(spawn, proxy, tmp_path, idx):
    """One connection cut: the migration fails on every channel, at both
    ends; the source runs on and migrates again."""
    src, dst, p = start_slow(spawn, proxy, "zstd", 2)
    p.cut(idx)
    info = src.wait_status("failed", 30)
    assert "Migration status: failed (" in info
    assert src.vm_status() == "running"
    assert dst.wait_exit(30) == 1
    assert dst.stderr().endswith("\n") and "load of migration failed" in dst.stderr()
    migrate_again(spawn, proxy, src, tmp_path, multifd=True)


def two_channels_through(spawn, proxy, **proxy_kw):
    """A destination and a source, both with two multifd channels, and a
    proxy between them given proxy_kw (drop, hold); not migrating yet."""
    port = free_port()
    dst = spawn(["-m", "32M", "-incoming", "defer"], name="dst")
    set_multifd(dst, "none", 2)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    p = proxy(port, **proxy_kw)
    src = spawn(SLOW_SRC, name="src")
    set_multifd(src, "none", 2)
    return src, dst, p


def test_channel_closed_before_handshake_fails_destination(spawn, proxy, tmp_path):
    """A channel's connection that closes before its handshake (a source
    that gave up right after connecting it): the destination fails at
    once, as QEMU 7.2 does, instead of waiting for that channel at the
    next sync point; the source fails and migrates again."""
    src, dst, p = two_channels_through(spawn, proxy, drop={2})
    assert src.hmp("migrate -d " + p.uri) == ""
    assert dst.wait_exit(30) == 1, dst.stderr()
    assert "multifd: a channel closed before its handshake" in dst.stderr(), dst.stderr()
    assert "Migration status: failed (" in src.wait_status("failed", 30)
    assert src.vm_status() == "running"
    migrate_again(spawn, proxy, src, tmp_path, multifd=True)


def test_channel_never_passed_on_fails_destination(spawn, proxy, tmp_path):
    """A channel a relay never passes on, then the source cancels: the
    destination, waiting for that channel at a sync point, fails after
    its quiet spell (15 s) and names how many came."""
    src, dst, p = two_channels_through(spawn, proxy, hold={2})
    assert src.hmp("migrate_set_parameter max-bandwidth 1") == ""
    assert src.hmp("migrate -d " + p.uri) == ""
    src.wait_status("active", 10)
    poll(lambda: len(p.carried()) == 3, 30, what="all three connections")
    assert src.hmp("migrate_cancel") == ""
    src.wait_status("cancelled", 15)
    assert dst.wait_exit(60) == 1, dst.stderr()
    assert "multifd: only 1 of the 2 channels connected" in dst.stderr(), dst.stderr()
    assert src.vm_status() == "running"


def test_uri_without_channels_refused(spawn, tmp_path):
    src = spawn(["-m", "16M"], name="src")
    assert src.hmp("migrate_set_capability multifd on") == ""
    assert src.hmp("migrate exec:cat") == \
        "Error: Migration requires multi-channel URIs (e.g. tcp)\n"
    assert src.migration_status() == ""


def test_source_without_multifd_into_multifd_destination(spawn, tmp_path):
    """The other mismatch: QEMU 7.2's destination would wait for channels
    for ever; qmig's fails once the source has closed its stream without
    opening any."""
    src = spawn(["-m", "16M", "-workload", "idle"], name="src")
    port = free_port()
    dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst")
    assert dst.hmp("migrate_set_capability multifd on") == ""
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60)
    assert dst.wait_exit(60) == 1
    err = dst.stderr()
    assert "multifd: the source opened no multifd channel" in err, err
    assert src.vm_status() in ("running", "paused (postmigrate)")


WORKLOADS = [
    ["-workload", "idle"],
    ["-workload", "idle", "-workload", "seed"],
    ["-workload", "idle", "-workload", "random,rate=50M,area=8M"],
]


@pytest.mark.parametrize("workload", WORKLOADS, ids=["idle", "seed", "random-hot"])
@pytest.mark.parametrize("method", METHODS)
def test_qmig_to_qmig_workloads(spawn, proxy, tmp_path, workload, method):
    """Each workload with several passes (slow at first, so that the guest
    rewrites pages between passes), then converged."""
    src = spawn(["-m", "32M"] + workload, name="src")
    port = free_port()
    dst = spawn(["-m", "32M", "-incoming", "defer"], name="dst")
    set_multifd(dst, method, 4)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    set_multifd(src, method, 4)
    assert src.hmp("migrate_set_parameter max-bandwidth 8") == ""
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""
    migcheck.wait_passes(src, 3)
    migcheck.converge(src)
    info = src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 32 * MiB)
    assert migcheck.num(migcheck.parse_info(info)["multifd bytes"]) > 0
    assert src.stderr() == "" and dst.stderr() == ""


def test_with_return_path_and_pause_before_switchover(spawn, proxy, tmp_path):
    """multifd with the return path and pause-before-switchover, as libvirt
    sets them up."""
    src = spawn(["-m", "32M", "-workload", "idle", "-workload",
                 "random,rate=20M,area=8M"], name="src")
    port = free_port()
    dst = spawn(["-m", "32M", "-incoming", "defer"], name="dst")
    set_multifd(dst, "zstd", 2)
    assert dst.hmp("migrate_set_capability return-path on") == ""
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    set_multifd(src, "zstd", 2)
    for c in ("return-path", "pause-before-switchover"):
        assert src.hmp("migrate_set_capability %s on" % c) == ""
    assert src.hmp("migrate_set_parameter downtime-limit %d" % migcheck.SURE_DOWNTIME_MS) == ""
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""
    src.wait_status("pre-switchover", 60)
    assert src.hmp("migrate_continue pre-switchover") == ""
    src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 32 * MiB)


def test_mismatched_method_and_channel_count_fail(spawn, tmp_path):
    """zstd into a zlib destination fails at the first packet with pages;
    more channels than the destination expects fail at the handshake.  The
    source runs on either way, never `completed`: the destination resets
    the stream when its load fails, and the source asks (an idle 16M guest
    is all in the kernel's buffers before the destination has read the
    extra channel).  When the source's write on the extra channel failed
    first, the destination's load ends with the channels stopped."""
    # The zstd case names its cause in most runs; in about one of six on
    # a quiet 2-core VM the destination's reason is the consequence, a
    # channel it saw closed (the source had failed on a write first):
    # open in docs/multifd.md, "Known gaps".
    for (sm, sn), (dm, dn), text in ((("zstd", 2), ("zlib", 2),
                                      r"multifd \d: (flags received 4 flags expected 2|"
                                      r"the channel closed before the sync point)"),
                                     (("none", 3), ("none", 2),
                                      r"multifd: (received channel id 2, but "
                                      r"multifd-channels is 2|the channels stopped)")):
        src = spawn(["-m", "16M", "-workload", "idle"], name="src-%s%d" % (sm, sn))
        port = free_port()
        dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst-%s%d" % (dm, dn))
        set_multifd(dst, dm, dn)
        assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
        set_multifd(src, sm, sn)
        # Seconds of stream (5 MB at 2M): the destination reads the extra
        # channel's handshake (written once it connects) while the source
        # still writes, and a write fails; the reset the source asks for
        # at the end is the second line of defence.
        if sn > dn:
            assert src.hmp("migrate_set_parameter max-bandwidth 2M") == ""
        src.hmp("migrate tcp:127.0.0.1:%d" % port, timeout=60)
        assert dst.wait_exit(60) == 1
        # (whichever channel's packet comes first)
        assert re.search("^qmig: %s$" % text, dst.stderr(), re.M), \
            dst.stderr() + src.info_migrate() + src.stderr()
        src.wait_status("failed", 30)
        assert src.vm_status() == "running"


def test_level_range_check_kept(spawn, spawn_qemu):
    """#13 item 7: QEMU 7.2 takes any multifd-zlib/zstd-level silently;
    qmig keeps its range check (docs/multifd.md)."""
    qemu = spawn_qemu(name="q")
    qmig = spawn(["-m", "16M"], name="m")
    for param, bad, top in (("multifd-zlib-level", 50, 9), ("multifd-zstd-level", 99, 20)):
        assert qemu.hmp("migrate_set_parameter %s %d" % (param, bad)) == ""
        assert qmig.hmp("migrate_set_parameter %s %d" % (param, bad)) == \
            "Error: Parameter '%s' expects a value between 0 and %d\n" \
            % (param.replace("-", "_"), top)
        assert qmig.hmp("migrate_set_parameter %s %d" % (param, top)) == ""


def test_unix_socket(spawn, tmp_path):
    """The channels connect to the same unix: URI as the main stream."""
    path = str(tmp_path / "mig.sock")
    src = spawn(["-m", "32M", "-workload", "idle", "-workload",
                 "random,rate=20M,area=8M"], name="src")
    dst = spawn(["-m", "32M", "-incoming", "defer"], name="dst")
    set_multifd(dst, "zstd", 3)
    assert dst.hmp("migrate_incoming unix:" + path) == ""
    set_multifd(src, "zstd", 3)
    assert src.hmp("migrate_set_parameter downtime-limit %d" % migcheck.SURE_DOWNTIME_MS) == ""
    assert src.hmp("migrate unix:" + path, timeout=60) == ""
    info = src.info_migrate()
    assert "Migration status: completed" in info, info
    assert migcheck.num(migcheck.parse_info(info)["multifd bytes"]) > 0
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 32 * MiB)


ZERO_COPY_LINE = re.compile(r"^Zero-copy-send fallbacks happened: (\d+) times$", re.M)


@pytest.mark.parametrize("src_kind,dst_kind", [("qmig", "qmig"), ("qmig", "qemu"),
                                               ("qemu", "qmig")])
def test_zero_copy_send(spawn, spawn_qemu, tmp_path, fixture_image, src_kind,
                        dst_kind):
    """zero-copy-send with two uncompressed channels: the pages go with
    MSG_ZEROCOPY and arrive whole.  On loopback the kernel copies them
    after all, and both programs say so in QEMU 7.2's line (a flush a
    channel and sync that saw a copy)."""
    port = free_port()
    if dst_kind == "qemu":
        dst = spawn_qemu(name="qdst", ram_mib=16, incoming="defer")
    else:
        dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst")
    set_multifd(dst, "none", 2)
    assert dst.hmp("migrate_incoming tcp:127.0.0.1:%d" % port) == ""
    if src_kind == "qemu":
        src, _ = qemu_source(spawn_qemu, tmp_path, fixture_image("plain"))
    else:
        qmp_path = str(tmp_path / "src.qmp")
        src = spawn(["-m", "16M", "-workload", "idle", "-workload",
                     "random,rate=20M,area=8M",
                     "-qmp", "unix:%s,server=on,wait=off" % qmp_path],
                    name="src")
        src.wait_ram_written(4 * MiB)
        assert src.hmp("migrate_set_parameter downtime-limit %d"
                       % migcheck.SURE_DOWNTIME_MS) == ""
    set_multifd(src, "none", 2)
    assert src.hmp("migrate_set_capability zero-copy-send on") == ""
    assert src.hmp("migrate -d tcp:127.0.0.1:%d" % port) == ""
    info = src.wait_status("completed", 60)
    dst.wait_status("completed", 30)
    compare_ram(src, dst, tmp_path, 16 * MiB)
    m = ZERO_COPY_LINE.search(info)
    assert m and int(m.group(1)) >= 1, info
    if src_kind == "qmig":   # QMP's name for the same count
        q = QMPClient(qmp_path)
        q.ok("qmp_capabilities")
        ram = q.ok("query-migrate")["ram"]
        assert ram["dirty-sync-missed-zero-copy"] == int(m.group(1)), ram


def test_zero_copy_send_needs_tcp(spawn, tmp_path):
    """A unix socket has no MSG_ZEROCOPY: the migration fails with QEMU
    7.2's words, the guest runs on, and goes without zero-copy-send."""
    path = str(tmp_path / "mig.sock")
    src = spawn(["-m", "16M", "-workload", "random,rate=20M,area=8M"],
                name="src")
    dst = spawn(["-m", "16M", "-incoming", "defer"], name="dst")
    set_multifd(dst, "none", 2)
    assert dst.hmp("migrate_incoming unix:" + path) == ""
    set_multifd(src, "none", 2)
    assert src.hmp("migrate_set_capability zero-copy-send on") == ""
    src.hmp("migrate unix:" + path, timeout=60)
    info = src.wait_status("failed", 30)
    assert ("Migration status: failed (Zero copy send feature not detected"
            " in host kernel)") in info, info
    assert src.vm_status() == "running"
    assert src.hmp("migrate_set_capability zero-copy-send off") == ""
    dst2 = spawn(["-m", "16M", "-incoming", "defer"], name="dst2")
    set_multifd(dst2, "none", 2)
    path2 = str(tmp_path / "mig2.sock")
    assert dst2.hmp("migrate_incoming unix:" + path2) == ""
    assert src.hmp("migrate_set_parameter downtime-limit %d"
                   % migcheck.SURE_DOWNTIME_MS) == ""
    src.hmp("migrate unix:" + path2, timeout=60)
    assert "Migration status: completed" in src.wait_status("completed", 60)
