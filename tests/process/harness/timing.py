"""How long a process test may wait: one factor, from one place.

Every deadline in the process tests (a monitor reply, a migration state, a
process exit, a terminal screen, a socket read) is written as the seconds
it needs on a busy machine with the plain build, and goes through scaled()
here, so that a sanitizer build, which runs qmig several times slower,
gets the same margin.  A deadline only bounds a wait that polls for a
state; it never makes a test pass sooner, so a generous factor costs
nothing when things work.

The build under test: QMIG_SANITIZER (`address` or `thread`), which
`make check` derives from SANITIZE_FLAGS (so check-asan and check-tsan set
it) and passes through tests/run-all.sh.  Unset or empty, the qmig binary
under test says it (the ASan or TSan runtime it was linked with), so that
`QMIG=build-tsan/qmig pytest ...` scales too.  QMIG_TIME_FACTOR overrides the factor (a slower machine).
"""

import os

from .paths import ROOT

# How much longer a wait may take per build: ASan costs about 2x and TSan
# 5-15x on instrumented code (XBZRLE, zero-page scans, the pools'
# hand-over); with margin, since a deadline only matters when it is hit.
FACTORS = {"": 1.0, "address": 3.0, "thread": 10.0}


def _binary_sanitizer(path):
    """'thread', 'address' or '' from the runtime symbols in the binary."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    if b"__tsan_init" in data:
        return "thread"
    if b"__asan_init" in data:
        return "address"
    return ""


def sanitizer():
    """The sanitizer of the build under test ('' for none)."""
    s = os.environ.get("QMIG_SANITIZER")
    if s:
        # check-asan builds with address,undefined: the first one counts
        return s.split(",")[0].strip()
    return _binary_sanitizer(os.environ.get("QMIG") or os.path.join(ROOT, "build", "qmig"))


def _factor():
    forced = os.environ.get("QMIG_TIME_FACTOR")
    if forced:
        return float(forced)
    s = sanitizer()
    if s not in FACTORS:
        raise ValueError("QMIG_SANITIZER=%r: expected one of %s" % (s, sorted(FACTORS)))
    return FACTORS[s]


FACTOR = _factor()


def scaled(seconds):
    """A test's deadline in seconds for this build."""
    return seconds * FACTOR
