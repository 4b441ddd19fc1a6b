"""Dirty-rate measurement (issue 15 part 3): HMP calc_dirty_rate / info
dirty_rate and QMP calc-dirty-rate / query-dirty-rate with QEMU 7.2's
syntax, texts and states; the figure agrees with the workload's rate.

A freshly started workload first touches its area (first touches are slow
on this VM's balloon), so the rate is taken once the workload has reached
it: measurements are repeated until one comes within reach of the rate,
then the asserted ones follow."""
import re

from harness import Qmig, poll, qmig_bin

RATE_MB = 40
WORKLOAD = ["-workload", "random,rate=%dM,area=1G" % RATE_MB]


def info(q):
    return dict(line.split(": ", 1) for line in q.hmp("info dirty_rate").splitlines())


def measure(q, args):
    """One calc_dirty_rate ARGS; waits for it; returns `info dirty_rate`."""
    out = q.hmp("calc_dirty_rate " + args)
    period = int([a for a in args.split() if not a.startswith("-")][0])
    assert out == ("Starting dirty rate measurement with period %d seconds\n"
                   "[Please use 'info dirty_rate' to check results]\n" % period), out
    poll(lambda: info(q)["Status"] == "measured", period + 30, 0.1,
         "the measurement")
    return info(q)


def rate(v):
    m = re.fullmatch(r"(-?\d+) \(MB/s\)", v["Dirty rate"])
    assert m, v
    return int(m.group(1))


def warm_up(q):
    """Until the workload writes at most of its rate (its area mapped)."""
    poll(lambda: rate(measure(q, "-b 1")) >= RATE_MB / 2, 60, 0,
         "the workload to reach its rate")


def test_hmp_rate_matches_the_workload(spawn):
    q = spawn(["-m", "1G"] + WORKLOAD, name="dr")
    fresh = info(q)
    assert fresh == {"Status": "unstarted", "Start Time": "0 (ms)",
                     "Sample Pages": "0 (per GB)", "Period": "0 (sec)",
                     "Mode": "page-sampling", "Dirty rate": "(not ready)"}
    warm_up(q)
    low, high = RATE_MB * 0.65, RATE_MB * 1.35
    v = measure(q, "2 16384")
    assert v["Mode"] == "page-sampling" and v["Sample Pages"] == "16384 (per GB)", v
    assert v["Period"] == "2 (sec)", v
    assert low <= rate(v) <= high, v
    v = measure(q, "-b 2")
    assert v["Mode"] == "dirty-bitmap" and v["Sample Pages"] == "0 (per GB)", v
    assert low <= rate(v) <= high, v


def test_hmp_errors_as_qemu(spawn):
    q = spawn(["-m", "64M"], name="dr")
    assert q.hmp("calc_dirty_rate 0") == "Incorrect period length specified!\n"
    assert q.hmp("calc_dirty_rate -r -b 1") == \
        "Either dirty ring or dirty bitmap can be specified!\n"
    assert q.hmp("calc_dirty_rate 61") == "Error: calc-time is out of range[1, 60].\n"
    assert q.hmp("calc_dirty_rate 1 127") == \
        "Error: sample-pages is out of range[128, 16384].\n"
    assert q.hmp("calc_dirty_rate -r 1") == \
        "Error: mode dirty-ring is not enabled, use other method instead.\n"
    assert q.hmp("calc_dirty_rate -r 1 512") == \
        "Error: either sample-pages or dirty-ring can be specified.\n"
    assert q.hmp("calc_dirty_rate 5").startswith("Starting dirty rate measurement")
    assert info(q)["Status"] == "measuring"
    assert q.hmp("calc_dirty_rate 1") == "Error: the dirty rate is already being measured.\n"
    # an idle guest dirties nothing
    poll(lambda: info(q)["Status"] == "measured", 40, 0.1, "the measurement")
    assert info(q)["Dirty rate"] == "0 (MB/s)"


def test_qmp(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "1G"] + list(WORKLOAD), name="dr", qmp=True)
    try:
        c = q.qmp()
        assert c.ok("query-dirty-rate") == {
            "status": "unstarted", "start-time": 0, "calc-time": 0,
            "sample-pages": 0, "mode": "page-sampling"}
        assert c.err("calc-dirty-rate", {"calc-time": 1, "mode": "dirty-ring"}) == \
            "mode dirty-ring is not enabled, use other method instead."
        assert c.err("calc-dirty-rate", {"calc-time": 1, "mode": "x"}) == \
            "Parameter 'mode' does not accept value 'x'"
        assert c.err("calc-dirty-rate", {"calc-time": 0}) == \
            "calc-time is out of range[1, 60]."
        assert c.ok("calc-dirty-rate", {"calc-time": 1, "mode": "dirty-bitmap"}) == {}
        r = c.ok("query-dirty-rate")
        assert r["status"] == "measuring" and "dirty-rate" not in r, r
        assert r["mode"] == "dirty-bitmap" and r["sample-pages"] == 512, r

        def measured():
            r = c.ok("query-dirty-rate")
            return r if r["status"] == "measured" else None
        r = poll(measured, 30, 0.1, "the measurement")
        assert r["sample-pages"] == 0 and r["calc-time"] == 1, r
        assert isinstance(r["dirty-rate"], int) and r["dirty-rate"] >= 0, r
    finally:
        q.kill()
