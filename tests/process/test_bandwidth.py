"""max-bandwidth and the figures derived from the measured bandwidth, seen
through `info migrate` as a user sees them (issue 14, parts 2 and 5b).

The guest is an image of random bytes, so no page is zero and none
compresses: whatever the mode, the bulk pass alone needs the cap's time for
every byte of RAM, and the migration cannot complete while it is sampled.

A loaded machine can only make a migration slower, never faster than its
cap, so upper bounds on the rate hold however busy the machine is; every
wait is a poll with a deadline."""
import random
import re
import time

import pytest

from harness import free_port, poll, ram_equal, diff_pages
from harness import migcheck

MiB = 1 << 20
RAM_MIB = 128
CAP_BYTES = 8 * MiB        # `max-bandwidth 8M`: 67.1 mbps
SAMPLE_SECONDS = 6.0
SLACK = 1.10               # issue 14: fail above 1.10 x the cap

MODES = {
    "plain": ([], []),
    "xbzrle": (["migrate_set_capability xbzrle on"], []),
    "compress-1": (["migrate_set_capability compress on",
                    "migrate_set_parameter compress-threads 1"],
                   ["migrate_set_capability compress on"]),
    "compress-2": (["migrate_set_capability compress on",
                    "migrate_set_parameter compress-threads 2"],
                   ["migrate_set_capability compress on"]),
    # 8 is the default thread count, the deepest pool of the three
    "compress-8": (["migrate_set_capability compress on"],
                   ["migrate_set_capability compress on"]),
}


@pytest.fixture(scope="module")
def random_image(tmp_path_factory):
    """RAM_MIB MiB of random bytes (seeded: the same every run)."""
    path = tmp_path_factory.mktemp("bw") / "random.img"
    rng = random.Random(14)
    with open(path, "wb") as f:
        for _ in range(RAM_MIB):
            f.write(rng.randbytes(MiB))
    return str(path)


def info(side):
    return migcheck.parse_info(side.info_migrate())


def kbytes(v, name):
    return int(v[name].split()[0])


def start_pair(spawn, image, src_cmds, dst_cmds, workload=()):
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = spawn(["-m", "%dM" % RAM_MIB, "-S", "-incoming", "defer"], name="dst")
    for c in dst_cmds:
        assert dst.hmp(c) == "", c
    assert dst.hmp("migrate_incoming " + uri) == ""
    src = spawn(["-m", "%dM" % RAM_MIB, "-workload", "image=" + image]
                + list(workload), name="src")
    for c in src_cmds:
        assert src.hmp(c) == "", c
    assert src.hmp("migrate -d " + uri) == ""
    return src, dst


def sample_transferred(src, seconds):
    """[(time before the query, time after it, transferred bytes)] over
    `seconds`, taken every quarter second (sampling a rate takes time; no
    state is waited for here)."""
    out = []
    end = time.monotonic() + seconds
    while True:
        t0 = time.monotonic()
        v = info(src)
        t1 = time.monotonic()
        assert v["Migration status"] == "active", \
            "migration left active while sampled:\n%s" % src.info_migrate()
        out.append((t0, t1, kbytes(v, "transferred ram") * 1024))
        if t1 >= end:
            return out
        time.sleep(0.25)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_max_bandwidth_holds(spawn, random_image, mode):
    src_cmds, dst_cmds = MODES[mode]
    # downtime-limit 1 ms and a workload that keeps dirtying: the
    # migration cannot converge, whatever the sampling finds
    src, dst = start_pair(
        spawn, random_image,
        src_cmds + ["migrate_set_parameter max-bandwidth 8M",
                    "migrate_set_parameter downtime-limit 1"],
        dst_cmds,
        workload=["-workload", "random,rate=4M,area=%dM" % RAM_MIB])
    src.wait_status("active", 60)
    # past setup and the first window
    migcheck.poll_transferred(src, 1024, 60)
    s = sample_transferred(src, SAMPLE_SECONDS)
    first, last = s[0], s[-1]
    sent = last[2] - first[2]
    # The longest the span between the two readings can have been: the
    # rate below is at most the real one, so a busy machine cannot make
    # this fail.
    span = last[1] - first[0]
    rate = sent / span
    print("%s: %.2f mbps over %.1f s (cap %.2f mbps)" % (
        mode, rate * 8 / 1e6, span, CAP_BYTES * 8 / 1e6))
    assert sent > 0, "nothing sent in %.1f s: %r" % (span, s)
    assert rate <= SLACK * CAP_BYTES, \
        "%s: %.1f mbps over %.1f s with max-bandwidth 8M (%.1f mbps): %.0f %% over the cap\n%r" % (
            mode, rate * 8 / 1e6, span, CAP_BYTES * 8 / 1e6,
            (rate / CAP_BYTES - 1) * 100, s)
    assert src.migration_status() == "active"
    assert src.hmp("migrate_cancel") == ""
    src.wait_status("cancelled", 60)


def downtime_figures(v):
    """(expected downtime ms, remaining bytes, last window's bytes/ms)."""
    return (int(v["expected downtime"].split()[0]),
            kbytes(v, "remaining ram") * 1024,
            float(v["throughput"].split()[0]) * 1e6 / 8 / 1000)


def test_expected_downtime_is_the_switch_over_figure(spawn, random_image, tmp_path):
    """`expected downtime` is the remaining RAM at the last window's
    bandwidth: what the switch-over compares with downtime-limit.  With
    nothing dirtied (the bulk pass of a throttled migration) it used to
    stay at the downtime-limit it starts at."""
    cap = 2 * MiB
    src, dst = start_pair(spawn, random_image,
                          ["migrate_set_parameter max-bandwidth 2M"], [])
    src.wait_status("active", 60)

    def consistent():
        v = info(src)
        assert v["Migration status"] == "active", v
        expected, remaining, bw = downtime_figures(v)
        if bw <= 0:
            return None
        figure = remaining / bw
        return (expected, v) if abs(expected - figure) <= 0.1 * figure else None
    # the three lines are not read in one instant: poll for a sample
    # whose lines come from the same window (all of them, once the
    # throughput is steady)
    expected, v = poll(consistent, 60, 0.1,
                       "expected downtime = remaining / throughput")
    assert expected > 10 * 300, "%d ms for %s kbytes at 2M/s" % (expected, v["remaining ram"])
    # From now on every sample: the bandwidth of a window cannot be far
    # above the cap, so the figure cannot be far below remaining / cap.
    for _ in range(10):
        e, remaining, _ = downtime_figures(info(src))
        assert e >= remaining / (SLACK * cap / 1000), \
            "expected downtime %d ms with %d bytes remaining at most at %d B/s" % (
                e, remaining, cap)
    # The switch-over takes that figure: a downtime-limit above it (the
    # rest is sent unthrottled) completes the migration.
    assert src.hmp("migrate_set_parameter downtime-limit %d"
                   % min(2000000, 2 * expected + 1000)) == ""
    src.wait_status("completed", 120)
    dst.wait_status("completed", 60)
    a = src.pmemsave(str(tmp_path / "src.img"), RAM_MIB * MiB)
    b = dst.pmemsave(str(tmp_path / "dst.img"), RAM_MIB * MiB)
    assert ram_equal(a, b), "RAM differs at pages %s" % diff_pages(a, b)


def test_expected_downtime_not_zero_while_pages_remain(spawn, tmp_path):
    """With compress, a pass over the seed workload's 4 MiB went into the
    pool at once: the bitmap was empty until the next sync, and `expected
    downtime` read 0 ms with 4096 kbytes remaining.  It is now taken after
    the sync the decision makes, so 0 ms means the rest fits in 1 ms.

    The premise is a workload that re-dirties its area between syncs.  A
    workload thread starved by the four compress threads on a loaded
    2-core machine can leave a pass with nothing dirty, and then the
    migration rightly converges before the figures could be sampled: that
    attempt proves nothing either way and a fresh pair tries again."""
    for attempt in range(3):
        bad = expected_downtime_samples(spawn, tmp_path, attempt)
        if bad is not None:
            break
    else:
        pytest.fail("in 3 attempts the seed workload never kept its area "
                    "dirty for 4 passes")
    assert not bad, "expected downtime 0 ms with RAM remaining: %r" % bad


def expected_downtime_samples(spawn, tmp_path, attempt):
    """The (expected, remaining) samples of one migration where expected
    downtime read 0 ms with at least 1 MiB remaining; None if it left
    precopy before 4 dirty syncs."""
    uri = "tcp:127.0.0.1:%d" % free_port()
    dst = spawn(["-m", "32M", "-S", "-incoming", "defer"], name="dst%d" % attempt)
    assert dst.hmp("migrate_set_capability compress on") == ""
    assert dst.hmp("migrate_incoming " + uri) == ""
    src = spawn(["-m", "32M", "-workload", "seed,area=4M"], name="src%d" % attempt)
    # The workload has written its area before the migration starts, or
    # the migration of an all-zero guest could be over at once.
    page = str(tmp_path / ("page0-%d" % attempt))

    def seeded():
        src.pmemsave(page, 4096)
        with open(page, "rb") as f:
            return f.read(1) != b"\0"
    poll(seeded, 60, 0.05, "the seed workload's first pass")
    for c in ["migrate_set_capability compress on",
              "migrate_set_parameter compress-level 9",
              "migrate_set_parameter compress-threads 4",
              "migrate_set_parameter max-bandwidth 256k",
              # the seed workload re-dirties its area faster than that
              "migrate_set_parameter downtime-limit 1",
              # were it to converge anyway: the status leaves active
              # before the VM stops, so no sample below is of the
              # switch-over itself
              "migrate_set_capability pause-before-switchover on"]:
        assert src.hmp(c) == "", c
    assert src.hmp("migrate -d " + uri) == ""

    # several passes over the area, or an early convergence
    def passes_or_left():
        v = info(src)
        if v["Migration status"] not in ("setup", "active"):
            return "left"
        return int(v.get("dirty sync count", "0")) >= 4 and "passes"
    if poll(passes_or_left, 60, 0.05, "4 dirty syncs") == "left":
        src.close()
        dst.close()
        return None
    bad = []
    taken = 0
    for _ in range(60):
        v = info(src)
        if v["Migration status"] != "active":
            break
        taken += 1
        expected, remaining, _ = downtime_figures(v)
        # 1 ms at 2M/s is less than a page: 0 ms with more than that
        # remaining is a figure no decision used
        if expected == 0 and remaining >= 1 << 20:
            bad.append((expected, v["remaining ram"]))
        time.sleep(0.05)
    print("%d samples in precopy" % taken)
    return bad
