"""True downtime (issue 15 part 4): from the source's STOP event to the
destination's RESUME event (QMP timestamps, one host clock) against the
`downtime` the source reports.

The reported downtime ends when the destination has everything: with the
return path when it says it loaded it all, on a plain socket when the
kernel holds no unsent or unacknowledged byte of the stream and the
destination has closed it (which it does once loaded).  The median of
three runs' errors decides: one run whose destination lost the CPU at the
wrong moment must not.

An idle guest now switches over with nothing left (precopy goes on while
it shrinks what is left), so the runs that compare reported and true use
the seed workload: its 16 MiB are dirty again at every sync, and they are
what the stopped guest waits for."""
import statistics

import pytest

from harness import Qmig, free_port, poll, qmig_bin, scaled

MiB = 1 << 20


def ts(ev):
    return ev["timestamp"]["seconds"] + ev["timestamp"]["microseconds"] / 1e6


def one_run(tmp_path, n, return_path, workload="seed"):
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "256M", "-incoming", uri], name="dst%d" % n, qmp=True)
    src = Qmig(qmig_bin(), tmp_path, ["-m", "256M", "-workload", workload],
               name="src%d" % n, qmp=True)
    try:
        qs, qd = src.qmp(), dst.qmp()
        caps = [{"capability": "return-path", "state": return_path}]
        qs.ok("migrate-set-capabilities", {"capabilities": caps})
        qd.ok("migrate-set-capabilities", {"capabilities": caps})
        qs.ok("migrate-set-parameters", {"max-bandwidth": 125 * MiB})
        qs.ok("migrate", {"uri": uri})
        stop = qs.wait_event("STOP", timeout=120)
        resume = qd.wait_event("RESUME", timeout=120)

        def done():
            r = qs.ok("query-migrate")
            assert r["status"] not in ("failed", "cancelled"), r
            return r if r["status"] == "completed" else None
        r = poll(done, 60)
        return r["downtime"], (ts(resume) - ts(stop)) * 1000, r["ram"]["downtime-bytes"]
    finally:
        src.kill()
        dst.kill()


@pytest.mark.parametrize("return_path", [True, False], ids=["return-path", "socket"])
def test_reported_downtime_is_the_true_one(tmp_path, return_path):
    # Until three runs had the seed area still to copy: a sync that found
    # the workload thread descheduled for a whole pass leaves nothing for
    # the stop (then the switch-over comes at once, and the run is still
    # a fair comparison, only one with no copy to measure).
    runs = []
    while len(runs) < 8 and sum(b >= 4 * MiB for _, _, b in runs) < 3:
        runs.append(one_run(tmp_path, len(runs), return_path))
    print("reported ms, true ms, downtime bytes:", runs)
    assert sum(b >= 4 * MiB for _, _, b in runs) >= 3, runs
    # reported - true of the median run: the one decides, not an outlier
    error = statistics.median(r - t for r, t, _ in runs)
    true = statistics.median(t for _, t, _ in runs)
    # The reported one starts just before STOP and ends when the
    # destination has the stream, before it has printed RESUME.
    assert error <= scaled(5), runs
    assert error >= -max(scaled(5), 0.1 * true), runs


def test_idle_guest_switches_over_with_nothing_left(tmp_path):
    """An idle guest at 125M fits the downtime limit with several MB of
    its bulk pass still unsent (QEMU 7.2 stops it there); qmig sends them
    live, as nothing the guest does makes them grow, and stops it when
    nothing is left: the final pass carries no page."""
    _, _, downtime_bytes = one_run(tmp_path, 0, False, workload="idle")
    # the END section's EOS and its header, no page (4 KiB)
    assert downtime_bytes < 4096, downtime_bytes


def test_expected_downtime_bounds_the_copy(tmp_path):
    """The seed workload at 8M with xbzrle (issue 15): the estimate the
    switch-over took (read in pre-switchover, where the migration waits
    with it) against the time the rest then took: from the `device`
    MIGRATION event (after migrate-continue) to the destination's RESUME.
    Stop-and-copy is not rate limited, so the copy may be much faster than
    the estimate at 8M (an upper bound, docs/convergence.md); it must not
    be much slower."""
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-S", "-incoming", uri], name="dst", qmp=True)
    src = Qmig(qmig_bin(), tmp_path, ["-m", "64M", "-workload", "seed"], name="src", qmp=True)
    try:
        qs, qd = src.qmp(), dst.qmp()
        caps = [{"capability": c, "state": True}
                for c in ("xbzrle", "events", "pause-before-switchover")]
        qs.ok("migrate-set-capabilities", {"capabilities": caps})
        qs.ok("migrate-set-parameters", {"max-bandwidth": 8 * MiB,
                                         "downtime-limit": 300})
        qs.ok("migrate", {"uri": uri})
        qs.wait_event("MIGRATION", {"status": "pre-switchover"}, timeout=120)
        r = qs.ok("query-migrate")
        assert r["status"] == "pre-switchover", r
        expected = r["expected-downtime"]
        # after the bulk pass, the whole dirty seed area counted as deltas
        assert r["ram"]["dirty-sync-count"] >= 2, r
        assert expected <= 300, r
        qs.ok("migrate-continue", {"state": "pre-switchover"})
        device = qs.wait_event("MIGRATION", {"status": "device"}, timeout=30)
        qs.wait_event("MIGRATION", {"status": "completed"}, timeout=60)

        def loaded():
            return qd.ok("query-migrate").get("status") == "completed"
        poll(loaded, 30)
        # The source completes once the destination has it all (drained
        # and closed): `device` to `completed` is the copy.
        took = (time_of(qs, "completed") - ts(device)) * 1000
        print("expected downtime %d ms, the copy took %.1f ms" % (expected, took))
        assert took <= 2 * expected + scaled(20), (expected, took)
    finally:
        src.kill()
        dst.kill()


def time_of(client, status):
    for ev in client.seen:
        if ev["event"] == "MIGRATION" and ev["data"]["status"] == status:
            return ts(ev)
    raise KeyError(status)
